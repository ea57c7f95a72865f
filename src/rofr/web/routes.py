"""Sign-in, the overview, requirements, and the holder's inbox with its answer forms.

Reads go through the API's visibility functions (:mod:`rofr.api.views`). The holder's answers
call the API's own handlers (:func:`rofr.api.routes.accept` / ``decline``), so a form answer
is the same command, the same checks and the same idempotency record as a ``POST
/v1/offers/.../accept``: the form carries a one-time ``Idempotency-Key``, so a double click
or a resubmitted page records one answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from rofr.api import routes as api_routes
from rofr.api.app import require, service_of
from rofr.api.auth import Principal, Role, principal_for
from rofr.api.models import AcceptBody, DeclineBody, OfferView
from rofr.api.service import Service
from rofr.api.views import (
    event_row,
    offer_for,
    offer_view,
    requirement_for,
    requirement_view,
    sees_requirement,
    visible_offers,
    visible_placements,
)
from rofr.engine import State, decode_event
from rofr.ledger import Book, book_of
from rofr.web.common import HEADERS, Viewer, WebError, as_page, check_csrf, config_of, page
from rofr.web.pages import burn_downs, offer_outcome, provider_charts, sees_commitments, timeline
from rofr.web.session import Session, clear_session, open_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//host" or "http://..." would make sign-in an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return page(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    """Check the API key and open a session."""
    who = principal_for(service_of(request).db, key.strip()) if key.strip() else None
    if who is None:
        return page(
            request, "login.html", None, 401, next=_safe_next(next),
            error="unknown or revoked API key",
        )  # fmt: skip
    target = _safe_next(next)
    if target == "/" and who.role == Role.PROVIDER:
        target = "/inbox"
    response = RedirectResponse(target, 303, headers=HEADERS)
    open_session(response, request, config_of(request), key.strip())
    return response


@router.post("/logout")
def logout(request: Request, s: Viewer, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session."""
    check_csrf(s, csrf)
    response = RedirectResponse("/login", 303, headers=HEADERS)
    clear_session(response)
    return response


# --- reads --------------------------------------------------------------------------------


def _book(request: Request) -> Book:
    """The ledger's book of the whole log, folded once per log position (cached)."""
    service = service_of(request)
    position = service.read(lambda _: service.broker.position)
    cached: tuple[int, Book] | None = getattr(request.app.state, "web_book", None)
    if cached is None or cached[0] != position:
        rows = service.store.read_all(after=0, limit=position)
        cached = (position, book_of(decode_event(r.type, dict(r.data)) for r in rows))
        request.app.state.web_book = cached
    return cached[1]


def _offers(service: Service, who: Principal) -> dict[str, Any]:
    """Open offers and the ten latest closed ones (with how they ended) that ``who`` sees."""
    views = service.read(lambda s: visible_offers(s, who, only_open=False))
    open_ = [v for v in views if v.open]
    closed = sorted((v for v in views if not v.open), key=lambda v: v.deadline, reverse=True)
    ended = [
        (v, offer_outcome(map(event_row, service.store.read_stream(f"req:{v.requirement_id}")),
                          v.offer_id))
        for v in closed[:10]
    ]  # fmt: skip
    return {"open_offers": open_, "ended_offers": ended, "answerable": _answers(who)}


def _answers(who: Principal) -> bool:
    return who.role in (Role.PROVIDER, Role.ADMIN)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, s: Viewer) -> Response:
    """Open requirements, offers waiting on the holder, spend per provider, commitments."""
    who = s.principal
    if who.role == Role.PROVIDER:
        return RedirectResponse("/inbox", 303, headers=HEADERS)
    with as_page():
        require(who, Role.BUYER, Role.AUDITOR)
    service = service_of(request)

    def pick(state: State) -> tuple[list[Any], list[Any], bool]:
        reqs = [rs for rs in state.requirements.values() if sees_requirement(who, rs)]
        return reqs, visible_placements(state, who), sees_commitments(who, state)

    reqs, placements, commitments = service.read(pick)
    gpus_chart, spend_chart = provider_charts(placements)
    burn = burn_downs(_book(request), service.clock()) if commitments else []
    return page(
        request, "overview.html", s, open_reqs=[r for r in reqs if not r.final],
        total=len(reqs), gpus_chart=gpus_chart, spend_chart=spend_chart, burn=burn,
        **_offers(service, who),
    )  # fmt: skip


@router.get("/fragments/offers", response_class=HTMLResponse)
def offers_fragment(request: Request, s: Viewer) -> Response:
    """The offers section alone (the countdown script re-fetches it when a deadline passes)."""
    return page(request, "_offers.html", s, **_offers(service_of(request), s.principal))


@router.get("/requirements", response_class=HTMLResponse)
def requirements(request: Request, s: Viewer) -> Response:
    """Every requirement the viewer may see (the same list as ``GET /v1/requirements``)."""
    who = s.principal
    with as_page():
        require(who, Role.BUYER, Role.AUDITOR)
    reqs = service_of(request).read(
        lambda st: [rs for rs in st.requirements.values() if sees_requirement(who, rs)]
    )
    return page(request, "requirements.html", s, reqs=reqs)


@router.get("/requirements/{requirement_id}", response_class=HTMLResponse)
def requirement(request: Request, s: Viewer, requirement_id: str) -> Response:
    """A requirement's timeline with reasons, its placements, its clause and version."""
    service = service_of(request)
    who = s.principal
    with as_page():
        rs, version = service.read(
            lambda st: (r := requirement_for(st, who, requirement_id), st.version_of(r))
        )
    view = requirement_view(rs, service.store.read_stream(f"req:{requirement_id}"))
    clause = next((c for c in version.clauses if c.id == rs.clause_id), None)
    decided = {  # placement id -> (clause, version) recorded when it was made
        e.data["placement"]["id"]: (e.data.get("clause_id"), e.data.get("version_id"))
        for e in view.events
        if e.type == "PlacementMade"
    }
    return page(
        request, "requirement.html", s, rs=rs, view=view, version=version, clause=clause,
        steps=timeline(view.events), decided=decided, answerable=_answers(who),
    )  # fmt: skip


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, s: Viewer) -> Response:
    """Open offers the viewer may see; for a holder, with its answer forms."""
    return page(request, "inbox.html", s, **_offers(service_of(request), s.principal))


def _offer_page(
    request: Request, s: Session, offer_id: str, status: int = 200, **note: Any
) -> Response:
    service = service_of(request)
    who = s.principal
    with as_page():
        rs, offer = service.read(lambda st: offer_for(st, who, offer_id))
    view: OfferView = offer_view(rs, offer)
    rows = map(event_row, service.store.read_stream(f"req:{view.requirement_id}"))
    return page(
        request, "offer.html", s, status, offer=view, outcome=offer_outcome(rows, offer_id),
        answerable=_answers(who), sees_req=sees_requirement(who, rs), **note,
    )  # fmt: skip


@router.get("/offers/{offer_id:path}", response_class=HTMLResponse)
def offer(request: Request, s: Viewer, offer_id: str) -> Response:
    """One offer: its terms, its deadline and, for the holder while open, the answer forms."""
    return _offer_page(request, s, offer_id)


def _api_call(request: Request, idempotency_key: str) -> Request:
    """This request as the API handler expects it: the form's key as ``Idempotency-Key``."""
    scope = dict(request.scope)
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"idempotency-key"]
    if idempotency_key:
        headers.append((b"idempotency-key", idempotency_key.encode("latin-1")))
    scope["headers"] = headers
    return Request(scope, request.receive)


def _answered(
    request: Request, s: Session, offer_id: str, response: Response, done: str
) -> Response:
    body = json.loads(bytes(response.body))
    if response.status_code == 404:  # not visible to this key: the same page as a GET
        raise WebError(404, str(body.get("message")))
    if response.status_code >= 400:
        return _offer_page(request, s, offer_id, response.status_code, error=body["message"])
    return _offer_page(request, s, offer_id, done=done)


def _optional(value: str) -> str | None:
    return value.strip() or None


@router.post("/offers/{offer_id:path}/accept", response_class=HTMLResponse)
def accept(
    request: Request, s: Viewer, offer_id: str,
    csrf: Annotated[str, Form()] = "", idempotency_key: Annotated[str, Form()] = "",
    gpus: Annotated[str, Form()] = "", unit_price: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "", region: Annotated[str, Form()] = "",
    sku: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Accept all or part of an offer, through the API's accept handler."""
    check_csrf(s, csrf)
    try:
        body = AcceptBody(
            gpus=_optional(gpus), unit_price=_optional(unit_price),  # type: ignore[arg-type]
            start=_optional(start), region=_optional(region), sku=_optional(sku),  # type: ignore[arg-type]
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return _offer_page(request, s, offer_id, 422, error=f"{field}: {first['msg']}")
    answer = api_routes.accept(_api_call(request, idempotency_key), s.principal, offer_id, body)
    return _answered(request, s, offer_id, answer, "Your acceptance is recorded.")


@router.post("/offers/{offer_id:path}/decline", response_class=HTMLResponse)
def decline(
    request: Request, s: Viewer, offer_id: str,
    csrf: Annotated[str, Form()] = "", idempotency_key: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Decline an offer, through the API's decline handler."""
    check_csrf(s, csrf)
    body = DeclineBody(reason=reason.strip()[:500])
    answer = api_routes.decline(_api_call(request, idempotency_key), s.principal, offer_id, body)
    return _answered(request, s, offer_id, answer, "Your decline is recorded.")


def sign_in_redirect(request: Request) -> Response:
    """Where an unsigned request goes: the form, then back to the page it asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", 303, headers=HEADERS)


def now_of(request: Request) -> datetime:
    """The service's clock (the pages count down against it, not the browser's)."""
    return service_of(request).clock()
