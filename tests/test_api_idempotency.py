"""Idempotent POSTs are exact: the answer is kept in the same transaction as the events.

The crash is simulated by making the service tables drop every answer written after the
command (``keep_answer`` / ``replace_answer``): what is left is what a SIGKILL right after the
append would leave. A retry must still get the first success, not a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_kit import Api, running_api, spec
from rofr.api import ServiceDb
from rofr.store import open_store


@pytest.fixture(params=[True, False], ids=["market", "no-market"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    yield from running_api(tmp_path / "rofr.db", market=request.param)


@pytest.fixture
def lost_after_commit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Drop every answer written after the command's transaction (as a kill would)."""
    dropped: list[str] = []
    monkeypatch.setattr(ServiceDb, "keep_answer", lambda self, *a, **k: dropped.append("keep"))
    monkeypatch.setattr(
        ServiceDb, "replace_answer", lambda self, *a, **k: dropped.append("replace")
    )
    return dropped


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def test_a_submit_whose_later_writes_were_lost_replays_its_first_success(
    api: Api, lost_after_commit: list[str], tmp_path: Path
) -> None:
    first = api.post("buyer", "/v1/requirements", spec("r1"), **key("k1"))
    again = api.post("buyer", "/v1/requirements", spec("r1"), **key("k1"))
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == "r1"
    assert again.json()["events"][0]["type"] == "RequirementSubmitted"
    assert again.json()["events"][0] == first.json()["events"][0]
    # The kept answer is in the log's database, written by the append itself.
    with open_store(str(tmp_path / "rofr.db")) as store:
        kept = store.idempotency("openai", "k1")
        assert kept is not None and kept.status == 201
        submitted = [r for r in store.read_all() if r.type == "RequirementSubmitted"]
    assert len(submitted) == 1


def test_an_answer_to_an_offer_replays_its_first_success(
    api: Api, lost_after_commit: list[str]
) -> None:
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    offers = api.get("holder", "/v1/offers").json()
    if not offers:
        pytest.skip("no offer without a market's quotes")
    path = f"/v1/offers/{offers[0]['offer_id']}/decline"
    first = api.post("holder", path, {"reason": "busy"}, **key("d1"))
    again = api.post("holder", path, {"reason": "busy"}, **key("d1"))
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json()["offer_id"] == first.json()["offer_id"]
    assert again.json()["open"] is False


def test_a_cancel_replays_its_first_success(api: Api, lost_after_commit: list[str]) -> None:
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    path = "/v1/requirements/r1/cancel"
    first = api.post("buyer", path, {"reason": "no longer needed"}, **key("c1"))
    again = api.post("buyer", path, {"reason": "no longer needed"}, **key("c1"))
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    assert again.json()["status"] == "cancelled"


def test_without_losses_the_replay_is_the_answer_sent_even_after_the_markets_follow_up(
    api: Api,
) -> None:
    first = api.post("buyer", "/v1/requirements", spec("r1"), **key("k1"))
    again = api.post("buyer", "/v1/requirements", spec("r1"), **key("k1"))
    assert again.json() == first.json()
    types: list[Any] = [e["type"] for e in first.json()["events"]]
    assert types[0] == "RequirementSubmitted"


def test_a_refusal_is_still_kept_and_a_changed_body_is_409(api: Api) -> None:
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    refused = api.post("buyer", "/v1/requirements", spec("r1"), **key("dup"))
    assert refused.status_code == 409 and refused.json()["code"] == "duplicate_requirement"
    again = api.post("buyer", "/v1/requirements", spec("r1"), **key("dup"))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == refused.json()
    other = api.post("buyer", "/v1/requirements", spec("r2"), **key("dup"))
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
