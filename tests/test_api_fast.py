"""The fast path for submissions (api/fast.py) answers exactly as the FastAPI route does.

The same requests, in the same order, against two fresh services on the same virtual clock:
one with the fast path, one without. Every answer (status, body with its event hashes, the
replay header) must be identical, and so must the two logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rofr.api.fast as fast_module
from api_kit import running_api, spec
from rofr.store import open_store

JSON = {"Content-Type": "application/json"}

# (role or None for no key, body, extra headers)
REQUESTS: list[tuple[str | None, Any, dict[str, str]]] = [
    ("buyer", spec("r1"), {"Idempotency-Key": "k1"}),  # recorded
    ("buyer", spec("r1"), {"Idempotency-Key": "k1"}),  # replayed
    ("buyer", spec("r1", 16), {"Idempotency-Key": "k1"}),  # key reused: 409
    ("buyer", spec("r1"), {}),  # duplicate id: refused by the engine
    ("buyer", spec("bad", -1), {}),  # invalid: 422 naming gpus
    ("buyer", {**spec("x"), "extra": 1}, {}),  # unknown field: 422
    ("buyer", spec("r2", buyer="someone-else"), {}),  # for another buyer: 403
    ("buyer", spec("r3", buyer="openai"), {"Idempotency-Key": "k3"}),  # own name given
    ("admin", spec("r4"), {"Idempotency-Key": "k4"}),  # an admin submits for the buyer
    ("holder", spec("r5"), {}),  # a provider may not submit: 403
    (None, spec("r6"), {}),  # no key: 401
    ("buyer", "not an object", {}),  # 422
    ("buyer", spec("r7"), {"Idempotency-Key": "k7"}),
    ("buyer", spec("r7"), {"Idempotency-Key": "k7"}),
]


def _answers(db: Path, fast: bool) -> tuple[list[tuple[int, Any, str | None]], list[Any]]:
    answers = []
    for api in running_api(db, market=False, fast=fast):
        for role, body, headers in REQUESTS:
            auth = api.headers[role] if role else {}
            r = api.client.post("/v1/requirements", json=body, headers={**auth, **headers})
            answers.append((r.status_code, r.json(), r.headers.get("idempotent-replayed")))
    with open_store(str(db)) as store:
        rows = [r.to_record() for r in store.read_all()]
    return answers, rows


def test_the_fast_path_answers_as_the_route_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[int] = []
    answer = fast_module._answer

    async def counting(*args: Any) -> Any:
        result = await answer(*args)
        served.append(result is not None)
        return result

    monkeypatch.setattr(fast_module, "_answer", counting)
    fast, fast_log = _answers(tmp_path / "fast.db", fast=True)
    # Served past FastAPI: the buyer's own plain submissions, replays and refusals included;
    # the rest (other roles, no key, invalid bodies, another buyer) went to the route.
    # The first goes to the route too: the key is not in the cache yet (the route reads it).
    assert served == [False, True, True, True, False, False, False, True, False, False, False,
                      False, True, True]  # fmt: skip
    slow, slow_log = _answers(tmp_path / "slow.db", fast=False)
    assert [a[0] for a in slow] == [
        201,
        201,
        409,
        409,
        422,
        422,
        403,
        201,
        201,
        403,
        401,
        422,
        201,
        201,
    ]
    for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
        assert a == b, f"request {i}: {REQUESTS[i]}"
    assert fast_log == slow_log and len(fast_log) > 10
