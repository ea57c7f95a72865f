"""The endpoints. Every POST is idempotent by ``Idempotency-Key``; every error is JSON.

Reads catch up with the log first, so a process sees what other processes on the same
database recorded. Writes go through the one broker of the process (``Service.execute``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rofr.api.app import Caller, Post, idempotent, idempotent_command, require, service_of
from rofr.api.auth import Principal, Role
from rofr.api.commit import Decided, Respond
from rofr.api.errors import ERROR_RESPONSES, ApiError
from rofr.api.models import (
    AcceptBody,
    CancelBody,
    DeclineBody,
    OfferView,
    PlacementView,
    QuoteView,
    RequirementView,
)  # fmt: skip
from rofr.api.service import Service
from rofr.api.views import (
    offer_for,
    offer_view,
    requirement_for,
    requirement_view,
    visible_offers,
    visible_placements,
    visible_quotes,
)  # fmt: skip
from rofr.contract.requirement import RequirementSpec
from rofr.engine import State
from rofr.engine import commands as cmd

__all__ = ["router", "submit_command"]

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/health", tags=["service"])
def health(request: Request) -> dict[str, Any]:
    """Liveness and how far this process has read the log."""
    service = service_of(request)
    return {"status": "ok", "position": service.broker.position}


# --- requirements -------------------------------------------------------------------------


@router.post("/v1/requirements", status_code=201, tags=["buyer"], response_model=RequirementView)
async def submit(request: Request, who: Caller, spec: RequirementSpec) -> Response:
    """Submit a requirement (buyer). ``buyer`` defaults to the caller's party."""
    # async: the busiest POST is served on the event loop and decided in its group's turn in
    # the thread pool (GroupCommit.execute_async), with no thread hop of its own.
    require(who, Role.BUYER)
    service = service_of(request)
    if who.role == Role.BUYER:
        buyer = spec.buyer or who.party
        if buyer != who.party:
            raise ApiError(
                403, "forbidden", f"a key of {who.party} cannot submit for {buyer}", "buyer"
            )
    else:  # an admin's default buyer is the contract's (read under the service's lock)
        contract = await run_in_threadpool(service.read, lambda s: s.contract)
        buyer = spec.buyer or (who.party if contract is None else contract.parties.buyer.id)
    return await submit_command(
        Post(service, request.url.path, request.headers.get("idempotency-key"), who, spec), buyer
    )


async def submit_command(post: Post, buyer: str) -> Response:
    """Record a submission by ``buyer`` (already checked against the caller) and answer it."""
    assert isinstance(post.body, RequirementSpec)
    respond, read_back = _submitted(post.service, post.who, post.body.id)
    command = cmd.SubmitRequirement(post.body.to_requirement(buyer))
    return await idempotent_command(post, command, respond, read_back)


def _submitted(
    service: Service, who: Principal, requirement_id: str
) -> tuple[Respond, Callable[[Decided], tuple[int, Any]]]:
    """How a submission is answered: from the decision itself when it can be (the state after
    the commit and the rows just appended are what a read of the log would return, see
    ``Decided.stream_rows``), else by reading the stream back."""
    stream = f"req:{requirement_id}"

    def respond(decided: Decided) -> tuple[int, Any] | None:
        rows = decided.stream_rows(stream)
        if rows is None or decided.state is None:
            return None
        return 201, requirement_view(requirement_for(decided.state, who, requirement_id), rows)

    def read_back(decided: Decided) -> tuple[int, Any]:
        assert decided.state is not None
        rs = requirement_for(decided.state, who, requirement_id)
        return 201, requirement_view(rs, service.store.read_stream(stream))

    return respond, read_back


def _requirement(request: Request, who: Any, requirement_id: str) -> RequirementView:
    service = service_of(request)
    rs = service.read(lambda s: requirement_for(s, who, requirement_id))
    return requirement_view(rs, service.store.read_stream(f"req:{requirement_id}"))


@router.get("/v1/requirements", tags=["buyer"])
def list_requirements(request: Request, who: Caller) -> list[dict[str, Any]]:
    """The requirements the caller may see, with status and GPUs placed."""
    require(who, Role.BUYER, Role.AUDITOR)

    def pick(state: State) -> list[dict[str, Any]]:
        return [
            {"id": rs.requirement.id, "status": rs.status.value, "gpus": rs.requirement.gpus,
             "placed_gpus": rs.placed_gpus}
            for rs in state.requirements.values()
            if who.sees_all or rs.requirement.buyer == who.party
        ]  # fmt: skip

    return service_of(request).read(pick)


@router.get("/v1/requirements/{requirement_id}", tags=["buyer"])
def get_requirement(request: Request, who: Caller, requirement_id: str) -> RequirementView:
    """Status, placements and reasons (the requirement's events)."""
    return _requirement(request, who, requirement_id)


@router.post("/v1/requirements/{requirement_id}/cancel", tags=["buyer"])
def cancel(request: Request, who: Caller, requirement_id: str, body: CancelBody) -> Response:
    """Withdraw an open requirement (its buyer)."""
    service = service_of(request)

    def act() -> tuple[int, Any]:
        rs = service.read(lambda s: requirement_for(s, who, requirement_id))
        require(who, Role.BUYER)
        stream = f"req:{requirement_id}"
        before = service.store.read_stream(stream)

        def respond(decided: Decided) -> tuple[int, Any] | None:
            # The stream as read above plus the cancellation's rows, if nothing came between.
            rows = decided.stream_rows(stream, before)
            if rows is None or decided.state is None:
                return None
            return 200, requirement_view(requirement_for(decided.state, who, requirement_id), rows)

        command = cmd.CancelRequirement(requirement_id, rs.requirement.buyer, body.reason)
        service.decide(command, respond)
        return 200, _requirement(request, who, requirement_id)

    return idempotent(request, who, body, act)


# --- offers (the holder's inbox) -------------------------------------------------------------


@router.get("/v1/offers", tags=["holder"])
def list_offers(
    request: Request, who: Caller, all: Annotated[bool, Query()] = False
) -> list[OfferView]:
    """Open offers the caller may see (``all=true``: the latest offer of each requirement)."""
    return service_of(request).read(lambda s: visible_offers(s, who, only_open=not all))


@router.get("/v1/offers/{offer_id:path}", tags=["holder"])
def get_offer(request: Request, who: Caller, offer_id: str) -> OfferView:
    """One offer."""
    return service_of(request).read(lambda s: offer_view(*offer_for(s, who, offer_id)))


def _answer(request: Request, who: Any, offer_id: str, body: Any, accept: bool) -> Response:
    service = service_of(request)

    def act() -> tuple[int, Any]:
        _, offer = service.read(lambda s: offer_for(s, who, offer_id))
        require(who, Role.PROVIDER)
        by = offer.holder if who.role == Role.ADMIN else who.party
        if accept:
            command = cmd.RespondToOffer(
                offer_id=offer_id, by=by, accept_gpus=body.gpus or offer.gpus,
                unit_price=body.unit_price, start=body.start, region=body.region, sku=body.sku,
            )  # fmt: skip
        else:
            command = cmd.RespondToOffer(
                offer_id=offer_id, by=by, accept_gpus=0, reason=body.reason
            )
        service.decide(
            command,
            lambda decided: (
                None
                if decided.state is None
                else (200, offer_view(*offer_for(decided.state, who, offer_id)))
            ),
        )
        return 200, service.read(lambda s: offer_view(*offer_for(s, who, offer_id)))

    return idempotent(request, who, body, act)


@router.post("/v1/offers/{offer_id:path}/accept", tags=["holder"], response_model=OfferView)
def accept(request: Request, who: Caller, offer_id: str, body: AcceptBody) -> Response:
    """Accept all or part of an offer, at stated terms (the holder)."""
    return _answer(request, who, offer_id, body, accept=True)


@router.post("/v1/offers/{offer_id:path}/decline", tags=["holder"], response_model=OfferView)
def decline(request: Request, who: Caller, offer_id: str, body: DeclineBody) -> Response:
    """Decline an offer (the holder)."""
    return _answer(request, who, offer_id, body, accept=False)


@router.get("/v1/placements", tags=["provider"])
def list_placements(request: Request, who: Caller) -> list[PlacementView]:
    """Placements on the caller's requirements, or with the caller as provider."""
    return service_of(request).read(lambda s: visible_placements(s, who))


@router.get("/v1/quotes", tags=["provider"])
def list_quotes(request: Request, who: Caller) -> list[QuoteView]:
    """Recorded quotes: a provider sees only its own."""
    return service_of(request).read(lambda s: visible_quotes(s, who))
