"""The rows of an ``append_many``, planned once for every backend.

Each backend reads the chain head and the stream versions under its own lock or transaction,
then hands them to :func:`plan_rows`, which checks the expected versions and computes the
positions and hashes; the backend then writes the rows. Keeping this one pure function means
the backends cannot drift on the rules: which versions are checked when, the order rows are
chained in, and which error a bad batch raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rofr.store.chain import StoredEvent, chain_hash, record_bytes_of_text
from rofr.store.log import Batch, HeadMoved, VersionConflict
from rofr.values import canonical_json_text, to_jsonable

__all__ = ["plan_rows"]


def plan_rows(
    batches: Sequence[Batch],
    head: tuple[int, str],
    version_of: Callable[[str], int],
    at: datetime,
    at_text: str,
    expect_head: int | None = None,
    texts: list[str] | None = None,
) -> list[StoredEvent]:
    """The stored rows ``batches`` become after ``head`` (last position and hash).

    ``version_of(stream)`` is the stream's version in the store; it is asked at most once per
    stream, only when a batch for it is reached (a stream seen earlier in ``batches`` expects
    the version its previous batch left it at). ``at_text`` is ``to_jsonable(at)``, computed
    once by the caller. Raises :class:`VersionConflict` for a batch whose expected version is
    not the stream's, ``ValueError`` for an event of another stream in a batch, and whatever
    ``to_jsonable`` raises for unencodable data (a float); the store is untouched then.
    With ``expect_head``, raises :class:`HeadMoved` unless ``head`` is at that position.
    ``texts``, if given, receives each row's data as canonical JSON text (for an SQL column).
    """
    position, prev = head
    if expect_head is not None and position != expect_head:
        raise HeadMoved(expect_head, position)
    versions: dict[str, int] = {}
    rows: list[StoredEvent] = []
    for stream, expected, events in batches:
        actual = versions.get(stream)
        if actual is None:
            actual = version_of(stream)
        if actual != expected:
            raise VersionConflict(stream, expected, actual)
        for event in events:
            if event.stream != stream:
                raise ValueError(f"event for {event.stream!r} in a batch for {stream!r}")
            position += 1
            actual += 1
            data = event.data if event.plain else to_jsonable(event.data)
            text = canonical_json_text(data)
            if texts is not None:
                texts.append(text)
            body = record_bytes_of_text(position, stream, actual, event.type, text, at_text)
            digest = chain_hash(prev, body)
            rows.append(StoredEvent(position, stream, actual, event.type, data, at, prev, digest))
            prev = digest
        versions[stream] = actual
    return rows
