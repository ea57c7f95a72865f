"""The provider protocol over real HTTP on loopback: reference server and HttpProvider."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn

from rofr.market import (
    HttpProvider,
    ProviderPort,
    ProviderUnavailable,
    Refusal,
    Reservation,
    SimulatedProvider,
    create_app,
    gather_quotes,
    load_inventory,
)
from rofr.market.protocol import PROTOCOL_HEADER, QuotesRequest, RequirementWire
from rofr.values import Kind, Requirement

INVENTORY = """\
providers:
  - id: acme
    name: Acme Cloud
    quote_validity_hours: 12
    capacity:
      - {sku: H100, region: east, gpus: 100, from: 2025-01-01}
    prices:
      - {sku: H100, region: "*", unit_price: 6.155}
"""

NOW = datetime(2025, 3, 1, tzinfo=UTC)
REQ = Requirement(
    id="req-1",
    buyer="lab",
    skus=("H100",),
    gpus=40,
    earliest_start=NOW,
    latest_start=NOW + timedelta(days=5),
    duration_hours=48,
)
END = NOW + timedelta(hours=48)


class Clock:
    """A server clock the test can move."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class LiveServer:
    """A uvicorn server in a background thread, bound to a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def acme() -> SimulatedProvider:
    return SimulatedProvider(load_inventory(INVENTORY).provider("acme"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(acme: SimulatedProvider, clock: Clock) -> Iterator[LiveServer]:
    with LiveServer(create_app(acme, clock)) as server:
        yield server


def client(url: str, provider_id: str = "acme", **kwargs: Any) -> HttpProvider:
    kwargs.setdefault("timeout_s", 1.0)
    kwargs.setdefault("backoff_s", 0.01)
    return HttpProvider(provider_id, url, **kwargs)


def test_quote_reserve_cancel_round_trip(live: LiveServer, acme: SimulatedProvider) -> None:
    with client(live.url) as http:
        assert http.health().provider == "acme"
        (quote,) = http.quote(REQ, NOW)
        assert (quote.provider, quote.gpus, str(quote.unit_price)) == ("acme", 100, "6.155")
        assert quote.earliest_start == NOW and quote.valid_until == NOW + timedelta(hours=12)
        result = http.reserve(quote.id, 40, "res-1", REQ.id, NOW, END, NOW)
        assert isinstance(result, Reservation)
        assert (result.gpus, result.start, result.end) == (40, NOW, END)
        assert acme.free("H100", "east", NOW, END) == 60
        assert http.cancel("res-1") is True
        assert http.cancel("res-1") is True  # repeated DELETE is still a success
        assert http.cancel("never-made") is False
        assert acme.free("H100", "east", NOW, END) == 100


def test_wire_format_uses_decimal_strings_and_utc_z(live: LiveServer) -> None:
    body = {"requirement": json.loads(json.dumps(_requirement_json()))}
    answer = httpx.post(f"{live.url}/v1/quotes", json=body)
    assert answer.headers[PROTOCOL_HEADER] == "1"
    quote = answer.json()["quotes"][0]
    assert quote["unit_price"] == "6.155"
    assert quote["valid_until"] == "2025-03-01T12:00:00Z"


def test_bad_request_is_422_not_a_crash(live: LiveServer) -> None:
    bad = _requirement_json() | {"gpus": -1, "colour": "blue"}
    answer = httpx.post(f"{live.url}/v1/quotes", json={"requirement": bad})
    assert answer.status_code == 422


def test_stale_quote_and_capacity_gone_are_refusals(live: LiveServer, clock: Clock) -> None:
    with client(live.url) as http:
        first, second = http.quote(REQ, NOW)[0], http.quote(REQ, NOW)[0]
        assert isinstance(http.reserve(first.id, 80, "res-1", REQ.id, NOW, END, NOW), Reservation)
        gone = http.reserve(second.id, 80, "res-2", REQ.id, NOW, END, NOW)
        assert isinstance(gone, Refusal) and "capacity gone" in gone.reason
        clock.now = NOW + timedelta(hours=13)
        stale = http.reserve(second.id, 10, "res-3", REQ.id, NOW, END, clock.now)
        assert isinstance(stale, Refusal) and "stale quote" in stale.reason


def test_repeated_reserve_places_once(live: LiveServer, acme: SimulatedProvider) -> None:
    with client(live.url) as http:
        (quote,) = http.quote(REQ, NOW)
        first = http.reserve(quote.id, 30, "res-1", REQ.id, NOW, END, NOW)
        again = http.reserve(quote.id, 30, "res-1", REQ.id, NOW, END, NOW)
        assert first == again
        assert acme.free("H100", "east", NOW, END) == 70


class DropFirstAnswer(httpx.BaseTransport):
    """Delivers the request, then loses the server's answer once (a dropped connection)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        response = self.inner.handle_request(request)
        if self.calls == 1 and request.method == "POST":
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the request", request=request)
        return response


def test_reserve_retried_after_a_lost_answer_places_once(
    live: LiveServer, acme: SimulatedProvider
) -> None:
    (quote,) = acme.quote(REQ, NOW)
    transport = DropFirstAnswer()
    with client(live.url, transport=transport) as http:
        result = http.reserve(quote.id, 25, "res-1", REQ.id, NOW, END, NOW)
    assert isinstance(result, Reservation) and result.gpus == 25
    assert transport.calls == 2  # the first answer was lost, the retry got the same reservation
    assert acme.free("H100", "east", NOW, END) == 75
    assert list(acme.reservations) == ["res-1"]


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_server_down_is_unavailable_after_retries() -> None:
    sleeps: list[float] = []
    http = client(closed_port(), retries=2, backoff_s=0.05, sleep=sleeps.append)
    with http, pytest.raises(ProviderUnavailable) as caught:
        http.quote(REQ, NOW)
    assert caught.value.provider_id == "acme"
    assert "ConnectError" in caught.value.reason and "3 attempts" in caught.value.reason
    assert sleeps == [0.05, 0.1]


def _requirement_json() -> dict[str, Any]:
    return {
        "id": "req-1",
        "buyer": "lab",
        "skus": ["H100"],
        "gpus": 40,
        "earliest_start": "2025-03-01T00:00:00Z",
        "latest_start": "2025-03-06T00:00:00Z",
        "duration_hours": 48,
    }


def _quote_json(**changes: Any) -> dict[str, Any]:
    quote = {
        "id": "q1",
        "provider": "acme",
        "sku": "H100",
        "region": "east",
        "gpus": 10,
        "unit_price": "6.155",
        "earliest_start": "2025-03-01T00:00:00Z",
        "valid_until": "2025-03-01T12:00:00Z",
    }
    return quote | changes


class Garbage:
    """A tiny stdlib HTTP server answering every request with a fixed status and body."""

    def __init__(self, status: int, body: bytes, delay_s: float = 0.0) -> None:
        outer = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.hits += 1
                time.sleep(delay_s)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> Garbage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def body(data: Any) -> bytes:
    return json.dumps(data).encode()


GARBAGE: list[tuple[str, int, bytes, str]] = [
    ("not json", 200, b"{quotes: oops", "not valid JSON"),
    ("schema mismatch", 200, body({"provider": "acme", "offers": []}), "quotes: Field required"),
    (
        "negative gpus",
        200,
        body({"provider": "acme", "quotes": [_quote_json(gpus=-5)]}),
        "quotes.0.gpus: Input should be greater than or equal to 0",
    ),
    (
        "negative price",
        200,
        body({"provider": "acme", "quotes": [_quote_json(unit_price="-1")]}),
        "quotes.0.unit_price",
    ),
    (
        "quote for another provider",
        200,
        body({"provider": "acme", "quotes": [_quote_json(provider="evil")]}),
        "quote for provider 'evil'",
    ),
    ("server error", 503, b"busy", "HTTP 503 (3 attempts)"),
    ("teapot", 418, b"I'm a teapot", "unexpected HTTP 418"),
]


@pytest.mark.parametrize(
    ("status", "payload", "reason"), [g[1:] for g in GARBAGE], ids=[g[0] for g in GARBAGE]
)
def test_garbage_answers_make_the_provider_unavailable(
    status: int, payload: bytes, reason: str
) -> None:
    with Garbage(status, payload) as server, client(server.url, sleep=lambda _: None) as http:
        with pytest.raises(ProviderUnavailable) as caught:
            http.quote(REQ, NOW)
        assert reason in caught.value.reason
        assert "\n" not in caught.value.reason
        # Only 5xx is retried: a 4xx or a bad body would come back the same.
        assert server.hits == (3 if status >= 500 else 1)


def test_slow_provider_times_out() -> None:
    with Garbage(200, body({"provider": "acme", "quotes": []}), delay_s=0.3) as server:
        http = client(server.url, timeout_s=0.05, retries=1, sleep=lambda _: None)
        with http, pytest.raises(ProviderUnavailable, match=r"timed out .*\(2 attempts\)"):
            http.quote(REQ, NOW)


def test_garbage_reservation_answer_is_unavailable() -> None:
    confirmed = {"status": "confirmed", "reservation": {"id": "other"}}
    with Garbage(201, body(confirmed)) as server:
        http = client(server.url)
        with http, pytest.raises(ProviderUnavailable, match="reservation"):
            http.reserve("q1", 5, "res-1", "req-1", NOW, END, NOW)


def test_gather_quotes_skips_broken_providers_and_keeps_healthy_ones(
    live: LiveServer, acme: SimulatedProvider
) -> None:
    other = SimulatedProvider(
        load_inventory(INVENTORY.replace("id: acme", "id: other")).provider("other")
    )
    with Garbage(200, b"<html>oops</html>") as garbage:
        ports: list[ProviderPort] = [
            client(live.url),
            client(closed_port(), provider_id="down", sleep=lambda _: None),
            client(garbage.url, provider_id="junk"),
            other,
        ]
        quotes, failures = gather_quotes(ports, REQ, NOW)
        for port in ports[:3]:
            assert isinstance(port, HttpProvider)
            port.close()
    assert sorted(q.provider for q in quotes) == ["acme", "other"]
    assert set(failures) == {"down", "junk"}
    assert "ConnectError" in failures["down"]
    assert "not valid JSON" in failures["junk"]


def test_requirement_round_trips_through_the_wire() -> None:
    full = Requirement(
        id="req-9",
        buyer="lab",
        skus=("H100", "GB200"),
        gpus=512,
        earliest_start=NOW,
        latest_start=NOW + timedelta(days=1),
        duration_hours=720,
        max_unit_price=Decimal("9.50"),
        regions=("east",),
        product_surface="api",
        kind=Kind.EXPANSION,
        splittable=False,
        customer_tags=("x",),
        min_chunk=64,
        max_providers=2,
    )
    text = QuotesRequest(requirement=RequirementWire.of(full)).model_dump_json()
    assert '"max_unit_price":"9.50"' in text and '"earliest_start":"2025-03-01T00:00:00Z"' in text
    assert QuotesRequest.model_validate_json(text).requirement.to_value() == full


def test_gather_quotes_with_no_ports() -> None:
    assert gather_quotes([], REQ, NOW) == ([], {})
