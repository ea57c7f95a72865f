"""The FastAPI application: auth, idempotent POSTs, JSON errors, metrics, the lifespan.

``create_app(store_url, clock, market, settings)`` builds one app over one database. The
lifespan opens the :class:`~rofr.api.service.Service` (one broker per process) and starts its
timer and outbox loops; the routes live in :mod:`rofr.api.routes`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from rofr.api.auth import Principal, Role, cached_principal, principal_for
from rofr.api.commit import ANSWERING, Answering, Decided, Replay, Respond, render_body
from rofr.api.errors import ApiError
from rofr.api.service import Service, Settings
from rofr.broker import Clock, Market, SystemClock
from rofr.engine import Rejected
from rofr.engine import commands as cmd

__all__ = [
    "Caller",
    "Post",
    "create_app",
    "idempotent",
    "idempotent_command",
    "require",
    "service_of",
]


def service_of(request: Request) -> Service:
    """The process's service (opened by the lifespan)."""
    service: Service = request.app.state.service
    return service


async def _caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    # async, so that FastAPI runs it on the event loop: a sync dependency costs a hop to the
    # thread pool and back on every request (about a sixth of a submission's CPU). A key
    # read recently is answered from memory; only a miss goes to the database, in a thread.
    if not authorization or not authorization.startswith("Bearer "):
        raise ApiError(
            401, "unauthorized", "send `Authorization: Bearer <API key>`", "authorization"
        )
    db, key = service_of(request).db, authorization.removeprefix("Bearer ").strip()
    who = cached_principal(db, key) or await run_in_threadpool(principal_for, db, key)
    if who is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", "authorization")
    return who


Caller = Annotated[Principal, Depends(_caller)]


def require(who: Principal, *roles: Role) -> None:
    """403 unless ``who`` has one of ``roles`` (admins always may)."""
    if who.role != Role.ADMIN and who.role not in roles:
        allowed = ", ".join(r.value for r in roles) or "admin"
        raise ApiError(403, "forbidden", f"a {who.role.value} key may not do this ({allowed})")


def _request_hash(method: str, path: str, body: BaseModel | None) -> str:
    payload = "" if body is None else body.model_dump_json()
    return hashlib.sha256(f"{method} {path}\n{payload}".encode()).hexdigest()


def _replayed(first_hash: str, digest: str, status: int, text: str) -> Response:
    """The answer kept for a key, or a 409 if the key came with another request."""
    if first_hash != digest:
        raise ApiError(
            409, "idempotency_key_reused",
            "this Idempotency-Key was used with a different request", "idempotency-key",
        )  # fmt: skip
    return JSONResponse(json.loads(text), status, headers={"Idempotent-Replayed": "true"})


def _keep(service: Service, answering: Answering, status: int, text: str) -> None:
    """Keep the answer sent unless the events' transaction kept exactly it already."""
    party, key, digest = answering.party, answering.key, answering.request_hash
    if answering.kept is None:
        service.db.keep_answer(party, key, digest, status, text, service.clock())
    elif answering.kept != (status, text):
        service.db.replace_answer(party, key, answering.kept, status, text)


def _failure(exc: Exception) -> tuple[int, str]:
    error = ApiError.from_rejected(exc) if isinstance(exc, Rejected) else exc
    assert isinstance(error, ApiError)
    return error.status, json.dumps(error.content())


def idempotent(
    request: Request, who: Principal, body: BaseModel | None, action: Callable[[], tuple[int, Any]]
) -> Response:
    """Run a POST once per ``Idempotency-Key``: a replay returns the first answer, and the same
    key with a different request is a 409. Without the header the POST just runs.

    A command the action runs with ``Service.decide(command, respond)`` has its answer kept in
    the same transaction as its events, so a crash after the commit cannot lose it: the
    retry gets that first answer. If the market's follow-up then changed the answer sent, the
    kept one is replaced by it (a crash in between leaves the answer as of the commit). Other
    answers (refusals, actions without ``respond``) are kept after the action, as before."""
    service = service_of(request)
    key = request.headers.get("idempotency-key")
    digest = _request_hash(request.method, request.url.path, body)
    answering = Answering(who.party, key, digest) if key else None
    if key:
        found = service.find_answer(who.party, key)
        if found is not None:
            return _replayed(found[0], digest, found[1], found[2])
    token = ANSWERING.set(answering)
    try:
        status, content = action()
        text = render_body(content)
    except (Rejected, ApiError) as exc:
        status, text = _failure(exc)
    finally:
        ANSWERING.reset(token)
    if answering is not None:
        _keep(service, answering, status, text)
    return Response(text, status, media_type="application/json")


@dataclass(frozen=True, slots=True)
class Post:
    """What idempotency needs of a POST: where it went, its key, who sent it, its body."""

    service: Service
    path: str
    key: str | None
    who: Principal
    body: BaseModel


async def idempotent_command(
    post: Post,
    command: cmd.Command,
    respond: Respond,
    read_back: Callable[[Decided], tuple[int, Any]],
) -> Response:
    """:func:`idempotent` for a POST that is one command, served on the event loop.

    The key is looked up and the command decided in the thread pool, in its group's turn
    (``GroupCommit.execute_async``); the loop only waits. ``respond`` builds the answer from
    the decision; ``read_back`` (in a thread) when the decision alone cannot."""
    service, key, who = post.service, post.key, post.who
    digest = _request_hash("POST", post.path, post.body)
    answering = Answering(who.party, key, digest) if key else None
    try:
        outcome = await service.commits.execute_async(command, respond, answering)
        if isinstance(outcome, Replay):
            return _replayed(outcome.request_hash, digest, outcome.status, outcome.text)
        if outcome.answer is not None:  # kept with the events, and nothing happened since
            status, text = outcome.answer
        else:
            answer = respond(outcome)
            if answer is None:
                answer = await run_in_threadpool(read_back, outcome)
            status, text = answer[0], render_body(answer[1])
    except (Rejected, ApiError) as exc:
        status, text = _failure(exc)
    if answering is not None and answering.kept != (status, text):
        await run_in_threadpool(_keep, service, answering, status, text)
    return Response(text, status, media_type="application/json")


Wrap = Callable[[Any], Any]
"""An ASGI app wrapped around another (a fast path in front of the FastAPI stack)."""


def _install_metrics(app: FastAPI, wrap: Wrap | None = None) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "rofr_http_requests", "HTTP requests", ("method", "route", "status"), registry=registry
    )
    latency = Histogram(
        "rofr_http_request_seconds", "HTTP request latency", ("method", "route"),
        registry=registry, buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
    )  # fmt: skip
    head = Gauge("rofr_log_position", "last position of the event log", registry=registry)
    timers = Gauge("rofr_pending_requirements", "requirements not yet final", registry=registry)

    # A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    # BaseHTTPMiddleware runs each response through an extra task and memory stream, which
    # cost about a tenth of a submission's time in the service bench.
    inner = app.build_middleware_stack

    def build() -> Any:
        # Built on the first request, when every route is in place: ``wrap`` may look them up.
        downstream = inner() if wrap is None else wrap(inner())

        async def measure(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await downstream(scope, receive, send)
                return
            started = time.perf_counter()
            status = [500]

            async def sending(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await downstream(scope, receive, sending)
            finally:
                route = scope.get("route")
                name = getattr(route, "path", "unmatched")
                requests.labels(scope["method"], name, str(status[0])).inc()
                latency.labels(scope["method"], name).observe(time.perf_counter() - started)

        return measure

    app.build_middleware_stack = build  # type: ignore[method-assign]

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        service = service_of(request)
        head.set(service.broker.position)
        timers.set(sum(1 for rs in service.broker.state.requirements.values() if not rs.final))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.content(), exc.status)

    @app.exception_handler(Rejected)
    async def rejected(_: Request, exc: Rejected) -> JSONResponse:
        error = ApiError.from_rejected(exc)
        return JSONResponse(error.content(), error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(part) for part in first.get("loc", ()) if part != "body"]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return JSONResponse({"code": "invalid", "message": message, "field": field}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"code": code, "message": str(exc.detail), "field": None}, exc.status_code
        )


def create_app(
    store_url: str,
    clock: Clock = SystemClock(),  # noqa: B008 - a stateless clock is safe as a default
    market: Market | None = None,
    settings: Settings = Settings(),  # noqa: B008 - frozen
) -> FastAPI:
    """The rofr HTTP API over the store at ``store_url`` (opened when the app starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(store_url, clock, market, settings)
        app.state.service = service
        service.start()
        try:
            yield
        finally:
            service.stop()

    from rofr.api import routes_governance  # noqa: F401  (adds its routes)
    from rofr.api.routes import router

    app = FastAPI(
        title="rofr",
        version="1",
        summary="A contract-aware broker for AI compute capacity",
        lifespan=lifespan,
    )
    _install_errors(app)
    from rofr.api.fast import fast_submit

    _install_metrics(app, (lambda inner: fast_submit(app, inner)) if settings.fast_submit else None)
    app.include_router(router)
    from rofr.web import mount_web  # the web console: pages under /, /static (after the API)

    mount_web(app)
    return app
