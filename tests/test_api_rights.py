"""Every endpoint with every role: allowed, 403 (may not act) or 404 (may not even see)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_kit import Api, running_api, spec

ROLES = ["admin", "buyer", "holder", "rival", "auditor", "other_buyer", "anonymous"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db: Path = tmp_path_factory.mktemp("rights") / "rofr.db"
    yield from running_api(db)


def _fresh(api: Api, tag: str) -> dict[str, str]:
    """A requirement with an open offer and a waiver, fresh per case (writes may consume them)."""
    rid = f"r-{tag}"
    assert api.post("buyer", "/v1/requirements", spec(rid)).status_code == 201
    waiver = {"id": f"w-{tag}", "clause": "rofr-new", "granted_by": "azure",
              "requirement_id": f"none-{tag}"}  # fmt: skip
    assert api.post("holder", "/v1/waivers", waiver).status_code == 201
    return {"rid": rid, "oid": f"{rid}/offer-1", "wid": f"w-{tag}", "tag": tag}


# (method, path, body, {role: expected status}); roles not named expect the "rest" entry.
CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("health", "GET", "/health", None, {"anonymous": 200, "rest": 200}),
    ("list-reqs", "GET", "/v1/requirements", None,
     {"admin": 200, "buyer": 200, "auditor": 200, "other_buyer": 200, "rest": 403}),
    ("get-req", "GET", "/v1/requirements/{rid}", None,
     {"admin": 200, "buyer": 200, "auditor": 200, "rest": 404}),
    ("submit", "POST", "/v1/requirements", "spec",
     {"admin": 201, "buyer": 201, "rest": 403}),
    ("cancel", "POST", "/v1/requirements/{rid}/cancel", {},
     {"admin": 200, "buyer": 200, "auditor": 403, "rest": 404}),
    ("offers", "GET", "/v1/offers", None, {"rest": 200}),
    ("get-offer", "GET", "/v1/offers/{oid}", None,
     {"admin": 200, "buyer": 200, "holder": 200, "auditor": 200, "rest": 404}),
    ("accept", "POST", "/v1/offers/{oid}/accept", {"gpus": 8, "unit_price": "12.29"},
     {"admin": 200, "holder": 200, "buyer": 403, "auditor": 403, "rest": 404}),
    ("decline", "POST", "/v1/offers/{oid}/decline", {"reason": "no"},
     {"admin": 200, "holder": 200, "buyer": 403, "auditor": 403, "rest": 404}),
    ("placements", "GET", "/v1/placements", None, {"rest": 200}),
    ("quotes", "GET", "/v1/quotes", None, {"rest": 200}),
    ("waivers", "GET", "/v1/waivers", None, {"rest": 200}),
    ("grant", "POST", "/v1/waivers", "waiver",
     {"admin": 201, "holder": 201, "rival": 403, "rest": 403}),
    ("revoke", "POST", "/v1/waivers/{wid}/revoke", None,
     {"admin": 200, "holder": 200, "buyer": 403, "other_buyer": 403, "auditor": 403,
      "rest": 404}),
    ("triggers", "GET", "/v1/triggers", None, {"rest": 200}),
    ("declare", "POST", "/v1/triggers/agi_declared/declare", {},
     {"buyer": 200, "admin": 403, "auditor": 403, "rest": 403}),
    ("contract", "GET", "/v1/contract", None, {"rest": 200}),
    ("amend", "POST", "/v1/contract/versions", "version", {"admin": 201, "rest": 403}),
    ("events", "GET", "/v1/events", None, {"admin": 200, "auditor": 200, "rest": 403}),
    ("tick", "POST", "/v1/tick", None, {"admin": 200, "rest": 403}),
    ("keys", "POST", "/v1/keys", {"party": "x", "role": "buyer"}, {"admin": 201, "rest": 403}),
    ("webhook", "POST", "/v1/webhooks/azure", {"url": "http://127.0.0.1:9/hook"},
     {"admin": 201, "rest": 403}),
    ("deliveries", "GET", "/v1/deliveries", None, {"admin": 200, "auditor": 200, "rest": 403}),
]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "expect"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_every_endpoint_with_every_role(
    api: Api, role: str, method: str, path: str, body: Any, expect: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    tag = f"{request.node.callspec.id}".replace("[", "-").replace("]", "").replace("/", "-")
    tag = "".join(ch if ch.isalnum() else "-" for ch in tag)[:40]
    ids = _fresh(api, tag) if "{" in path or body in ("spec",) else {"tag": tag}
    if body == "spec":
        body = spec(f"s-{tag}")
    elif body == "waiver":
        body = {"id": f"g-{tag}", "clause": "rofr-new", "granted_by": "azure",
                "requirement_id": "none"}  # fmt: skip
    elif body == "version":
        body = {"id": f"v-{tag}", "effective_from": "2030-01-01T00:00:00Z", "clauses": []}
    headers = {} if role == "anonymous" else api.headers[role]
    url = path.format(**ids)
    answer = api.client.request(method, url, json=body, headers=headers)
    wanted = 401 if role == "anonymous" and path != "/health" else expect.get(role, expect["rest"])
    assert answer.status_code == wanted, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()) == {"code", "message", "field"}


def test_rival_never_sees_the_holders_offer_or_the_buyers_requirement(api: Api) -> None:
    ids = _fresh(api, "leak")
    assert api.get("rival", "/v1/offers").json() == []
    assert api.get("holder", "/v1/offers").json() != []
    for path, ghost in (
        (f"/v1/offers/{ids['oid']}", "/v1/offers/no-such"),
        (f"/v1/requirements/{ids['rid']}", "/v1/requirements/no-such"),
    ):
        hidden, absent = api.get("rival", path), api.get("rival", ghost)
        assert hidden.status_code == absent.status_code == 404
        # The same answer as for an object that does not exist, up to the echoed id.
        assert hidden.json()["code"] == absent.json()["code"]
        assert hidden.json()["message"].split("'")[0] == absent.json()["message"].split("'")[0]


def test_provider_sees_only_its_own_quotes(api: Api) -> None:
    ids = _fresh(api, "quotes")
    assert api.post("holder", f"/v1/offers/{ids['oid']}/decline", {}).status_code == 200
    api.clock.set(api.clock() + __import__("datetime").timedelta(days=30))
    api.post("admin", "/v1/tick")
    every = api.get("auditor", "/v1/quotes").json()
    assert {q["provider"] for q in every} - {"azure"}, "rivals quoted after the decline"
    for role, party in (("holder", "azure"), ("rival", "oracle")):
        assert {q["provider"] for q in api.get(role, "/v1/quotes").json()} <= {party}
    assert api.get("other_buyer", "/v1/quotes").json() == []
