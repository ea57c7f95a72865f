"""The fast path of the busiest request: ``POST /v1/requirements`` by a buyer's key.

A submission through FastAPI spends about as much CPU in routing, dependency solving and its
middleware stack as in deciding and recording the requirement (the service bench: roughly
0.2 of 0.8 ms per submission). This ASGI wrapper, in front of that stack, serves the plain
case itself with the very same pieces: the key cache (``cached_principal``), the same
pydantic model (``RequirementSpec``), the same idempotent command path (``submit_command``),
so the answer is byte for byte the one the route gives. Anything else (no or unknown key,
another role, a body that does not validate, a buyer that is not the caller, another content
type, a large body) is handed to the FastAPI route untouched, with the body replayed, so
every error keeps its one definition there. ``Settings.fast_submit=False`` turns it off; a
test runs the same requests both ways and compares the answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from rofr.api.app import Post
from rofr.api.auth import Role, cached_principal
from rofr.api.errors import ApiError
from rofr.api.routes import router, submit_command
from rofr.contract.requirement import RequirementSpec

__all__ = ["fast_submit"]

_PATH = "/v1/requirements"
_MAX_BODY = 64 * 1024  # larger bodies take the ordinary route (and its limits)

ASGI = Any


def fast_submit(app: FastAPI, downstream: ASGI) -> ASGI:
    """``downstream`` (the FastAPI stack) with the fast path for plain submissions in front."""
    route = next(
        r for r in router.routes
        if getattr(r, "path", None) == _PATH and "POST" in getattr(r, "methods", ())
    )  # fmt: skip

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != _PATH:
            await downstream(scope, receive, send)
            return
        chunks, whole = await _read(receive)
        answer = await _answer(app, scope, b"".join(chunks)) if whole else None
        replay = _replaying(chunks, whole, receive)
        if answer is None:
            await downstream(scope, replay, send)
            return
        scope["route"] = route  # for the metrics' route label
        await answer(scope, replay, send)

    return serve


async def _read(receive: Any) -> tuple[list[bytes], bool]:
    """The body's chunks, and whether they are all of it (False: too large, or gone)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return chunks, True
        if size > _MAX_BODY:
            return chunks, False


def _replaying(chunks: list[bytes], whole: bool, receive: Any) -> Any:
    """A ``receive`` that gives the chunks already read again, then the rest as it comes
    (``whole``: they were the entire body, so the last one says no more follows)."""
    pending = list(chunks)

    async def replay() -> Any:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or not whole}
        return await receive()

    return replay


async def _answer(app: FastAPI, scope: Any, body: bytes) -> Response | None:
    """The answer to a plain submission, or ``None`` to leave the request to the route."""
    headers = dict(scope["headers"])  # lower-case names (ASGI); the last of a repeat wins
    auth = headers.get(b"authorization", b"")
    if not auth.startswith(b"Bearer ") or not headers.get(b"content-type", b"").startswith(
        b"application/json"
    ):
        return None
    service = app.state.service
    who = cached_principal(service.db, auth[7:].decode("latin-1").strip())
    if who is None or who.role != Role.BUYER:
        return None
    try:
        spec = RequirementSpec.model_validate_json(body)
    except ValidationError:
        return None
    if spec.buyer is not None and spec.buyer != who.party:
        return None
    key = headers.get(b"idempotency-key")
    post = Post(service, _PATH, None if key is None else key.decode("latin-1"), who, spec)
    try:
        return await submit_command(post, who.party)
    except ApiError as error:
        return JSONResponse(error.content(), error.status)
