"""Endpoints for waivers, triggers, the contract, the log, keys, webhooks and ticks."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from rofr.api.app import Caller, idempotent, require, service_of
from rofr.api.auth import Role, create_key
from rofr.api.errors import ApiError, not_found
from rofr.api.models import (
    DeclareBody,
    EventRow,
    KeyBody,
    KeyCreated,
    TickResult,
    TriggerBody,
    WebhookBody,
    WebhookCreated,
)  # fmt: skip
from rofr.api.routes import router
from rofr.api.views import event_row
from rofr.contract import Contract, Version, Waiver
from rofr.engine import State
from rofr.engine import commands as cmd

__all__: list[str] = []


@router.get("/v1/waivers", tags=["governance"])
def list_waivers(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Waivers: all for buyers, auditors and admins; a provider sees those it granted."""

    def pick(state: State) -> list[dict[str, Any]]:
        return [
            {**ws.waiver.model_dump(mode="json"), "granted_at": ws.granted_at,
             "revoked_at": ws.revoked_at}
            for ws in state.waivers.values()
            if who.role != Role.PROVIDER or ws.waiver.granted_by == who.party
        ]  # fmt: skip

    return service_of(request).read(pick)


@router.post("/v1/waivers", status_code=201, tags=["governance"])
def grant_waiver(request: Request, who: Caller, waiver: Waiver) -> Response:
    """Grant a waiver of one of the caller's clauses (its holder or exclusive provider)."""
    require(who, Role.PROVIDER)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        if who.role == Role.PROVIDER and waiver.granted_by != who.party:
            raise ApiError(403, "forbidden", "granted_by must be your own party", "granted_by")
        service.execute(cmd.GrantWaiver(waiver.model_dump(mode="json"), waiver.granted_by))
        return 201, waiver.model_dump(mode="json")

    return idempotent(request, who, waiver, act)


@router.post("/v1/waivers/{waiver_id}/revoke", tags=["governance"])
def revoke_waiver(request: Request, who: Caller, waiver_id: str) -> Response:
    """Revoke a waiver (its grantor)."""
    service = service_of(request)

    def act() -> tuple[int, Any]:
        ws = service.read(lambda s: s.waivers.get(waiver_id))
        if ws is None or (who.role == Role.PROVIDER and ws.waiver.granted_by != who.party):
            raise not_found("waiver", waiver_id)
        require(who, Role.PROVIDER)
        service.execute(cmd.RevokeWaiver(waiver_id, ws.waiver.granted_by))
        return 200, {"id": waiver_id, "revoked": True}

    return idempotent(request, who, None, act)


@router.get("/v1/triggers", tags=["governance"])
def list_triggers(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Declared triggers, their confirmations and effective times."""
    return service_of(request).read(
        lambda s: [
            {
                "name": t.name,
                "declared_by": t.declared_by,
                "declared_at": t.declared_at,
                "confirmations": sorted(t.confirmations),
                "effective_at": t.effective_at,
            }
            for t in s.triggers.values()
        ]
    )


def _by(who: Any, given: str | None) -> str:
    if given is not None and who.role != Role.ADMIN and given != who.party:
        raise ApiError(403, "forbidden", "only an admin may act for another party", "by")
    return given or who.party


@router.post("/v1/triggers/{name}/declare", tags=["governance"])
def declare(request: Request, who: Caller, name: str, body: DeclareBody) -> Response:
    """Declare a trigger (a party the contract lets declare it)."""
    require(who, Role.BUYER, Role.PROVIDER)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        service.execute(cmd.DeclareTrigger(name, _by(who, body.by), body.effective_at))
        return 200, {"name": name, "declared": True}

    return idempotent(request, who, body, act)


@router.post("/v1/triggers/{name}/confirm", tags=["governance"])
def confirm(request: Request, who: Caller, name: str, body: TriggerBody) -> Response:
    """Confirm a declared trigger (a confirmer the contract names)."""
    require(who, Role.BUYER, Role.PROVIDER)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        service.execute(cmd.ConfirmTrigger(name, _by(who, body.by)))
        return 200, {"name": name, "confirmed": True}

    return idempotent(request, who, body, act)


@router.get("/v1/contract", tags=["governance"])
def get_contract(request: Request, who: Caller) -> dict[str, Any]:
    """The contract in force, every version (the parties all hold it)."""
    contract = service_of(request).read(lambda s: s.contract)
    if contract is None:
        raise not_found("contract", "current")
    data: dict[str, Any] = contract.model_dump(mode="json")
    return data


@router.post("/v1/contract", status_code=201, tags=["admin"])
def adopt(request: Request, who: Caller, contract: Contract) -> Response:
    """Start the log under a contract document (once; later changes are versions)."""
    require(who)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        data = contract.model_dump(mode="json")
        service.execute(cmd.AdoptContract(data, contract.parties.buyer.id))
        return 201, {"name": contract.name, "versions": [v.id for v in contract.versions]}

    return idempotent(request, who, contract, act)


@router.post("/v1/contract/versions", status_code=201, tags=["admin"])
def amend(request: Request, who: Caller, version: Version) -> Response:
    """Record a contract version (an amendment), effective from its ``effective_from``."""
    require(who)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        contract = service.read(lambda s: s.contract)
        if contract is None:
            raise not_found("contract", "current")
        service.execute(
            cmd.AmendContract(version.model_dump(mode="json"), contract.parties.buyer.id)
        )
        return 201, {"id": version.id, "effective_from": version.effective_from}

    return idempotent(request, who, version, act)


@router.get("/v1/events", tags=["audit"])
def events(
    request: Request, who: Caller,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[EventRow]:  # fmt: skip
    """Log rows after ``after``, with hashes (auditors and admins)."""
    require(who, Role.AUDITOR)
    return [event_row(r) for r in service_of(request).store.read_all(after=after, limit=limit)]


@router.post("/v1/tick", tags=["admin"])
def tick(request: Request, who: Caller) -> Response:
    """Fire every due deadline now (the timer loop does this on its own)."""
    require(who)
    service = service_of(request)
    return idempotent(request, who, None, lambda: (200, TickResult(fired=service.tick())))


@router.post("/v1/keys", status_code=201, tags=["admin"])
def new_key(request: Request, who: Caller, body: KeyBody) -> Response:
    """Create an API key for a party in a role; the key is in this answer only."""
    require(who)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        key_id, key = create_key(service.db, body.party, body.role, service.clock())
        return 201, KeyCreated(key_id=key_id, party=body.party, role=body.role, key=key)

    return idempotent(request, who, body, act)


@router.post("/v1/webhooks/{party}", status_code=201, tags=["admin"])
def set_webhook(request: Request, who: Caller, party: str, body: WebhookBody) -> Response:
    """Register where a party's notices go; the signing secret is returned."""
    require(who)
    service = service_of(request)

    def act() -> tuple[int, Any]:
        secret = body.secret or secrets.token_urlsafe(32)
        service.db.set_webhook(party, body.url, secret)
        return 201, WebhookCreated(party=party, url=body.url, secret=secret)

    return idempotent(request, who, body, act)


@router.get("/v1/deliveries", tags=["admin"])
def deliveries(request: Request, who: Caller) -> list[dict[str, Any]]:
    """The webhook delivery log, newest first (auditors and admins)."""
    require(who, Role.AUDITOR)
    return service_of(request).db.deliveries()
