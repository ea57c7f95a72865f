"""The service end to end in-process: idempotency, errors, deadlines, the outbox, metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from api_kit import Api, running_api, spec
from rofr.api import sign
from rofr.store import open_store, verify_chain
from rofr.store.chain import first_break


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from running_api(tmp_path / "rofr.db")


def mine_and_before(rows: list[dict[str, Any]], mine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The log up to the last of ``mine`` (a prefix the chain verifier can check)."""
    return rows[: rows.index(mine[-1]) + 1]


def test_replayed_post_returns_the_first_answer_and_a_changed_body_is_409(api: Api) -> None:
    first = api.post("buyer", "/v1/requirements", spec("r1"), **{"Idempotency-Key": "k1"})
    again = api.post("buyer", "/v1/requirements", spec("r1"), **{"Idempotency-Key": "k1"})
    other = api.post("buyer", "/v1/requirements", spec("r1", 8), **{"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.json()["code"] == "idempotency_key_reused"
    # The replay recorded nothing: one submission in the log.
    rows = api.get("auditor", "/v1/events").json()
    assert sum(r["type"] == "RequirementSubmitted" for r in rows) == 1
    # The answer's events are the log's rows exactly, hashes and times as the chain has them.
    mine = [r for r in rows if r["stream"] == "req:r1"]
    assert first.json()["events"] == mine[: len(first.json()["events"])]
    assert first_break(mine_and_before(rows, mine)) is None


@pytest.mark.parametrize(
    ("role", "path", "body", "status", "code", "field"),
    [
        ("buyer", "/v1/requirements", spec("bad", -1), 422, "invalid", "gpus"),
        ("buyer", "/v1/requirements", {**spec("x"), "extra": 1}, 422, "invalid", "extra"),
        ("buyer", "/v1/requirements", spec("r1"), 409, "duplicate_requirement", "id"),
        ("holder", "/v1/offers/r1/offer-1/accept", {"gpus": 7}, 422, "below_increment", "gpus"),
        ("holder", "/v1/offers/r1/offer-1/accept", {"gpus": 800}, 422, "too_many", "gpus"),
        ("holder", "/v1/offers/nope/accept", {}, 404, "unknown_offer", None),
        ("buyer", "/v1/requirements/nope/cancel", {}, 404, "unknown_requirement", None),
    ],
    ids=["negative", "extra-field", "duplicate", "increment", "too-many", "no-offer", "no-req"],
)
def test_errors_are_json_with_code_and_field(
    api: Api, role: str, path: str, body: Any, status: int, code: str, field: str | None
) -> None:
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    answer = api.post(role, path, body)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert answer.json()["field"] == field


def test_expired_window_fires_once_and_the_market_places_the_rest(api: Api) -> None:
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    assert api.post("admin", "/v1/tick").json() == {"fired": 0}
    api.clock.set(api.clock() + timedelta(days=10))
    assert api.post("admin", "/v1/tick").json()["fired"] >= 1
    assert api.post("admin", "/v1/tick").json() == {"fired": 0}
    view = api.get("buyer", "/v1/requirements/r1").json()
    types = [e["type"] for e in view["events"]]
    assert types.count("DeadlineReached") == len({e["data"]["timer_id"] for e in view["events"]
                                                  if e["type"] == "DeadlineReached"})  # fmt: skip
    assert "OfferDeclined" in types  # deemed decline
    assert view["status"] in ("fulfilled", "shortfall")


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.fail_first:
            _Hook.fail_first = False
            self.send_response(503)
        else:
            _Hook.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_outbox_signs_retries_and_logs_deliveries(api: Api) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        secret = api.post("admin", "/v1/webhooks/azure", {"url": url}).json()["secret"]
        assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
        outbox = api.client.app.state.service.outbox  # type: ignore[attr-defined]
        assert outbox.run_once() == (1, 0)  # the first attempt gets a 503
        assert outbox.run_once() == (0, 0)  # backing off: nothing is due yet
        api.clock.set(api.clock() + timedelta(seconds=5))
        assert outbox.run_once() == (0, 1)
        ((headers, body),) = _Hook.received
        stamp = headers["X-Rofr-Timestamp"]
        assert headers["X-Rofr-Signature"] == sign(secret, stamp, body)
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        assert headers["X-Rofr-Signature"] == f"sha256={expected.hexdigest()}"
        notice = json.loads(body)
        assert (notice["type"], notice["party"]) == ("OfferSent", "azure")
        log = api.get("admin", "/v1/deliveries").json()
        assert sorted((d["attempt"], d["http_status"]) for d in log) == [(1, 503), (2, 204)]
    finally:
        server.shutdown()


def test_metrics_and_health(api: Api) -> None:
    api.post("buyer", "/v1/requirements", spec("r1"))
    assert api.client.get("/health").json()["status"] == "ok"
    text = api.client.get("/metrics").text
    assert 'rofr_http_requests_total{method="POST",route="/v1/requirements",status="201"}' in text


def test_log_stays_a_valid_chain(api: Api, tmp_path: Path) -> None:
    for i in range(3):
        api.post("buyer", "/v1/requirements", spec(f"r{i}"))
    with open_store(str(tmp_path / "rofr.db")) as store:
        assert verify_chain(store) is None


def test_without_webhooks_the_outbox_reads_nothing_and_learns_buyers_later(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = api.client.app.state.service  # type: ignore[attr-defined]
    outbox = service.outbox
    reads: list[int] = []
    read_all = service.store.read_all

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return read_all(*args, **kwargs)

    monkeypatch.setattr(service.store, "read_all", counting)
    assert api.post("buyer", "/v1/requirements", spec("r1")).status_code == 201
    assert outbox.run_once() == (0, 0)
    assert reads == []  # nobody to tell: the log was not read back
    head = service.store.head()[0]
    assert service.db.projection_position("outbox") == head
    # A webhook for the buyer, then the holder takes r1 (submitted before it): the buyer of
    # r1 is learnt from the log, and the placement is noticed to it.
    api.post("admin", "/v1/webhooks/openai", {"url": "http://127.0.0.1:9/hook"})
    accepted = api.post(
        "holder", "/v1/offers/r1/offer-1/accept", {"gpus": 64, "unit_price": "12.29"}
    )
    assert accepted.status_code == 200, accepted.text
    outbox.deliver = lambda limit=100: 0  # type: ignore[method-assign]  # (no receiver here)
    queued, _ = outbox.run_once()
    assert reads and queued >= 1
    rows = service.db.query("SELECT party, event_type FROM notices")
    assert ("openai", "PlacementMade") in [(str(p), str(t)) for p, t in rows]
    assert service.db.projection_position("outbox") == service.store.head()[0] > head
