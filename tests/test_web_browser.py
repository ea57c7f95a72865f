"""The web console in a real browser: Debian's Chromium driven by Playwright, against a real
``rofr serve`` process on loopback over a temporary SQLite database.

The server's clock is the hidden ``--clock START,EPOCH,1`` option of ``rofr serve``: wall-clock
time shifted to a chosen start, so the example contract's January 2025 first refusal applies
and, for the deemed decline, a deadline is seconds away when the page opens. Screenshots go to
each test's ``tmp_path``; with ``ROFR_UPDATE_SCREENSHOTS=1`` the buyer's overview is also copied
to ``docs/screenshots/overview.png`` (the README shows it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rofr.store import open_store
from rofr.values import parse_time

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
T0 = "2025-02-03T09:00:00Z"  # a Monday under the 2025-01 first_look clause (5 business days)
REPO = Path(__file__).resolve().parent.parent
PARTIES = {"buyer": ("openai", "buyer"), "holder": ("azure", "provider"),
           "rival": ("oracle", "provider")}  # fmt: skip


def rofr(db: Path, *args: str) -> str:
    """Run the real command; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "rofr", "--db", str(db), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Server:
    """A running ``rofr serve`` and the API keys of the parties."""

    url: str
    keys: dict[str, str]
    process: subprocess.Popen[bytes]

    def post(self, role: str, path: str, body: Any) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.post(self.url + path, json=body, headers=auth, timeout=30)


def start_server(directory: Path, start: datetime, roles: list[str]) -> Iterator[Server]:
    db = directory / "rofr.db"
    keys = {role: rofr(db, "keys", "create", "--party", PARTIES[role][0],
                       "--role", PARTIES[role][1]).strip()
            for role in roles}  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = f"{start.isoformat()},{time.time()},1"
    env = {**os.environ, "ROFR_REPORTS_DIR": str(directory / "sims")}
    env.pop("ROFR_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "rofr", "--db", str(db), "serve", "--port", str(port),
         "--clock", clock, "--tick-ms", "200"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.05)
        else:
            pytest.fail("rofr serve did not answer /health within 10 s")
        yield Server(url, keys, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def spec(rid: str, gpus: int = 64) -> dict[str, Any]:
    return {"id": rid, "skus": ["H100"], "gpus": gpus, "earliest_start": "2025-02-10T00:00Z",
            "latest_start": "2025-02-20T00:00Z", "duration_hours": 720}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("web-browser")
    rofr(directory / "rofr.db", "init", str(directory), "--at", "2025-02-01T00:00Z")
    yield from start_server(directory, parse_time(T0), ["buyer", "holder", "rival"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def signed_in(browser: Any, server: Server, role: str, **context: Any) -> Any:
    """A fresh browser context signed in as ``role``; returns its page."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/login")
    page.fill("input[name=key]", server.keys[role])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page: Any, path: Path, readme: bool = False) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if readme and os.environ.get("ROFR_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots" / "overview.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        clip = {"x": 0, "y": 0, "width": 1280, "height": 1000}  # requirements, offers, charts
        page.screenshot(path=str(target), full_page=True, clip=clip)


def test_buyer_submits_through_the_api_and_sees_it_on_the_overview(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    assert server.post("buyer", "/v1/requirements", spec("r-api")).status_code == 201
    page = signed_in(browser, server, "buyer")
    requirements = page.locator("table.requirements")
    assert "r-api" in requirements.inner_text() and "offered" in requirements.inner_text()
    countdown = page.locator("#offer-r-api\\/offer-1 .countdown")
    first = countdown.inner_text()
    page.wait_for_timeout(1100)
    assert first != countdown.inner_text() and "left" in first  # the countdown runs
    shot(page, tmp_path / "overview.png")
    phone = signed_in(browser, server, "buyer", viewport={"width": 390, "height": 844})
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page must not scroll sideways on a phone (tables scroll alone)"
    shot(phone, tmp_path / "overview-phone.png")


def test_holder_accepts_part_and_the_buyer_sees_the_split(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    assert server.post("buyer", "/v1/requirements", spec("r-split")).status_code == 201
    holder = signed_in(browser, server, "holder")
    assert holder.url.endswith("/inbox")
    card = holder.locator("#offer-r-split\\/offer-1")
    card.locator("input[name=gpus]").fill("16")
    card.locator("input[name=unit_price]").fill("12.00")
    card.locator("form.accept button").click()
    holder.wait_for_load_state()
    assert "Your acceptance is recorded." in holder.locator("p.done").inner_text()
    shot(holder, tmp_path / "holder-accepted.png")

    buyer = signed_in(browser, server, "buyer")
    buyer.goto(server.url + "/requirements/r-split")
    rows = buyer.locator("table.placements tbody tr").all_inner_texts()
    by_provider: dict[str, int] = {}
    for row in rows:
        provider, gpus = row.split("\t")[:2]
        by_provider[provider] = by_provider.get(provider, 0) + int(gpus)
    assert by_provider.pop("azure") == 16 and sum(by_provider.values()) == 48, rows
    assert "accepted 16 GPUs (part)" in buyer.locator("ol.timeline").inner_text()
    shot(buyer, tmp_path / "requirement-split.png")
    buyer.goto(server.url + "/")
    assert buyer.locator("svg.chart").count() >= 2  # GPUs and spend per provider are drawn
    shot(buyer, tmp_path / "overview-after-split.png", readme=True)


def test_a_rival_cannot_see_the_holders_offer_by_any_url(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    assert server.post("buyer", "/v1/requirements", spec("r-secret")).status_code == 201
    rival = signed_in(browser, server, "rival")
    assert "r-secret" not in rival.content()
    assert "No offer is waiting" in rival.locator("#offers").inner_text()
    pages = {}
    for path in ("/requirements/r-secret", "/offers/r-secret/offer-1", "/offers/r-none/offer-1",
                 "/fragments/offers", "/"):  # fmt: skip
        answer = rival.goto(server.url + path)
        main = rival.locator("main")
        pages[path] = (answer.status, main.inner_html() if main.count() else rival.content())
        assert "64 GPUs" not in rival.locator("body").inner_text()
    assert pages["/requirements/r-secret"][0] == 404
    assert pages["/offers/r-secret/offer-1"][0] == 404
    hidden = pages["/offers/r-secret/offer-1"][1].replace("r-secret", "X")
    assert hidden == pages["/offers/r-none/offer-1"][1].replace("r-none", "X")
    rival.goto(server.url + "/offers/r-secret/offer-1")
    shot(rival, tmp_path / "rival-404.png")


@pytest.fixture(scope="module")
def late_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A log with one offer submitted at T0 (by the real CLI), served from 10 s before its
    deadline: the countdown reaches zero while the page is open."""
    directory = tmp_path_factory.mktemp("web-deadline")
    db = directory / "rofr.db"
    rofr(db, "init", str(directory), "--at", "2025-02-01T00:00Z")
    rofr(db, "--now", T0, "submit", "--id", "r-late", "--gpus", "64", "--sku", "H100",
         "--earliest", "2025-02-10T00:00Z", "--latest", "2025-02-20T00:00Z")  # fmt: skip
    store = open_store(str(db))
    try:
        (due,) = [parse_time(r.data["due"]) for r in store.read_stream("req:r-late")
                  if r.type == "DeadlineSet" and r.data["purpose"] == "offer"]  # fmt: skip
    finally:
        store.close()
    yield from start_server(directory, due - timedelta(seconds=10), ["buyer"])


def test_the_countdown_reaches_zero_and_the_deemed_decline_appears(
    late_server: Server, browser: Any, tmp_path: Path
) -> None:
    page = signed_in(browser, late_server, "buyer")
    countdown = page.locator("#offer-r-late\\/offer-1 .countdown")
    assert "left" in countdown.inner_text()
    page.wait_for_selector("text=deadline passed", timeout=15_000)
    shot(page, tmp_path / "deadline-passed.png")
    # The service's timer loop fires the deadline; the script re-fetches the offers section.
    outcome = page.locator("table.closed-offers td.outcome")
    outcome.wait_for(timeout=15_000)
    assert outcome.inner_text() == "deemed declined (deadline passed)"
    assert page.locator("#offer-r-late\\/offer-1").count() == 0
    shot(page, tmp_path / "deemed-decline.png")
