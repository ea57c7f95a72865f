"""The web console per role, in process (TestClient): what each page shows and refuses.

The rights are the API's (tests/test_api_rights.py); these tests check that every page keeps
them (a rival sees nothing of the holder's offer by any URL), that forms answer through the
same commands (idempotent, refused after the deadline), and the session cookie's properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_kit import Api, running_api, spec
from pg_kit import fresh_schema, needs_postgres
from rofr.values import parse_time
from rofr.web import WebConfig
from rofr.web.charts import Marker, Series, line_chart
from rofr.web.session import COOKIE


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("web")
    sims = root / "sims"
    (sims / "run-a").mkdir(parents=True)
    (sims / "run-a" / "report.html").write_text("<html><body>report A</body></html>")
    (sims / "run-a" / "metrics.json").write_text("{}")
    (sims / "not-a-run").mkdir()
    (root / "secret.txt").write_text("outside the reports folder")
    for api in running_api(root / "rofr.db"):
        api.client.app.state.web_config = WebConfig("test-secret", sims)  # type: ignore[attr-defined]
        yield api


def key(api: Api, role: str) -> str:
    return api.headers[role]["Authorization"].removeprefix("Bearer ")


def as_role(api: Api, role: str) -> TestClient:
    """The shared client, signed in as ``role`` (cookies replaced)."""
    c = api.client
    c.cookies.clear()
    if role != "anonymous":
        r = c.post("/login", data={"key": key(api, role)}, follow_redirects=False)
        assert r.status_code == 303, r.text
    return c


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert form is not None, f"no form for {action}"
    return dict(re.findall(r'name="(csrf|idempotency_key)" value="([^"]*)"', form.group(0)))


def offered(api: Api, rid: str, gpus: int = 64) -> str:
    assert api.post("buyer", "/v1/requirements", spec(rid, gpus)).status_code == 201
    return f"{rid}/offer-1"


@pytest.fixture(scope="module")
def ids(api: Api) -> dict[str, str]:
    return {"rid": "r-pages", "oid": offered(api, "r-pages")}


# (id, role, path, expected status, text that must be on the page or None)
PAGES = [
    ("overview-buyer", "buyer", "/", 200, "Offers waiting on the holder"),
    ("overview-auditor", "auditor", "/", 200, "r-pages"),
    ("overview-admin", "admin", "/", 200, "Commitments"),
    ("overview-holder", "holder", "/", 303, None),
    ("overview-other-buyer", "other_buyer", "/", 200, "No offer is waiting"),
    ("overview-anonymous", "anonymous", "/", 303, None),
    ("requirement-buyer", "buyer", "/requirements/{rid}", 200, "2025-01-rofr"),
    ("requirement-auditor", "auditor", "/requirements/{rid}", 200, "rofr-new"),
    ("requirement-holder", "holder", "/requirements/{rid}", 404, None),
    ("requirement-rival", "rival", "/requirements/{rid}", 404, None),
    ("requirement-other-buyer", "other_buyer", "/requirements/{rid}", 404, None),
    ("requirements-holder", "holder", "/requirements", 403, None),
    ("offer-holder", "holder", "/offers/{oid}", 200, 'action="/offers/{oid}/accept"'),
    ("offer-buyer", "buyer", "/offers/{oid}", 200, "Requirement {rid}"),
    ("offer-rival", "rival", "/offers/{oid}", 404, None),
    ("offer-other-buyer", "other_buyer", "/offers/{oid}", 404, None),
    ("inbox-holder", "holder", "/inbox", 200, "{oid}"),
    ("inbox-rival", "rival", "/inbox", 200, "No offer is waiting"),
    ("fragment-holder", "holder", "/fragments/offers", 200, "data-deadline"),
    ("fragment-rival", "rival", "/fragments/offers", 200, "No offer is waiting"),
    ("audit-auditor", "auditor", "/audit", 200, "Chain head"),
    ("audit-buyer", "buyer", "/audit", 403, None),
    ("audit-holder", "holder", "/audit", 403, None),
    ("report-auditor", "auditor", "/audit/report", 200, "Invariants"),
    ("report-rival", "rival", "/audit/report", 403, None),
    ("sims-buyer", "buyer", "/sims", 200, "run-a"),
    ("sims-holder", "holder", "/sims", 403, None),
    ("sim-run-buyer", "buyer", "/sims/run-a", 200, "metrics.json"),
    ("sim-file-buyer", "buyer", "/sims/run-a/report.html", 200, "report A"),
    ("sim-not-a-run", "buyer", "/sims/not-a-run", 404, None),
    ("sim-escape", "buyer", "/sims/run-a/..%2F..%2Fsecret.txt", 404, None),
    ("sim-unknown-file", "buyer", "/sims/run-a/requirements.csv", 404, None),
]


@pytest.mark.parametrize(("role", "path", "status", "text"), [c[1:] for c in PAGES],
                         ids=[c[0] for c in PAGES])  # fmt: skip
def test_page_rights(
    api: Api, ids: dict[str, str], role: str, path: str, status: int, text: str | None
) -> None:
    c = as_role(api, role)
    r = c.get(path.format(**ids), follow_redirects=False)
    assert r.status_code == status, r.text[:500]
    if text is not None:
        assert text.format(**ids) in r.text
    if status in (403, 404) and r.headers["content-type"].startswith("text/html"):
        main = r.text.split("<main>")[1]
        assert "Not available" in main and "azure" not in main and "GPUs" not in main


def test_a_hidden_offer_looks_like_a_missing_one(api: Api, ids: dict[str, str]) -> None:
    c = as_role(api, "rival")
    real = c.get(f"/offers/{ids['oid']}").text.replace(ids["oid"], "X")
    missing = c.get("/offers/none/offer-9").text.replace("none/offer-9", "X")
    assert real == missing
    posted = c.post(f"/offers/{ids['oid']}/accept", data={"csrf": "x"})
    assert posted.status_code == 403  # a forged form stops at the CSRF check first


def test_sign_in_sets_a_signed_http_only_lax_cookie(api: Api) -> None:
    c = api.client
    c.cookies.clear()
    r = c.post("/login", data={"key": key(api, "buyer"), "next": "//evil.example/"},
               follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and key(api, "buyer") not in cookie
    c.cookies.set(COOKIE, c.cookies[COOKIE][:-2] + "xx")  # tampered signature
    assert c.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_a_wrong_key_is_refused_on_the_form(api: Api) -> None:
    c = api.client
    c.cookies.clear()
    r = c.post("/login", data={"key": "rofr_nope_nope"})
    assert r.status_code == 401 and "unknown or revoked API key" in r.text


def test_sign_out_ends_the_session(api: Api) -> None:
    c = as_role(api, "buyer")
    csrf = form_fields(c.get("/").text, "/logout")["csrf"]
    assert c.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 303


def test_holder_accepts_part_and_buyer_sees_the_split(api: Api) -> None:
    oid = offered(api, "r-split")
    c = as_role(api, "holder")
    fields = form_fields(c.get(f"/offers/{oid}").text, f"/offers/{oid}/accept")
    form = {**fields, "gpus": "16", "unit_price": "12.00", "sku": "H100", "region": "",
            "start": "2025-02-10T00:00Z"}  # fmt: skip
    r = c.post(f"/offers/{oid}/accept", data=form)
    assert r.status_code == 200 and "Your acceptance is recorded." in r.text
    again = c.post(f"/offers/{oid}/accept", data=form)  # a double submit: replayed, not re-run
    assert again.status_code == 200
    events = api.get("buyer", "/v1/requirements/r-split").json()["events"]
    assert [e["type"] for e in events].count("OfferAccepted") == 1
    page = as_role(api, "buyer").get("/requirements/r-split").text
    assert "accepted 16 GPUs (part)" in page
    placements = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td>", page.split("Where the GPUs")[1])
    assert ("azure", "16") in placements
    assert sum(int(g) for p, g in placements if p != "azure") == 48


def test_an_answer_after_the_deadline_shows_the_engine_refusal(api: Api) -> None:
    oid = offered(api, "r-late")
    c = as_role(api, "holder")
    fields = form_fields(c.get(f"/offers/{oid}").text, f"/offers/{oid}/decline")
    api.clock.set(api.clock() + timedelta(days=8))  # past the 5 business days, not fired
    r = c.post(f"/offers/{oid}/decline", data={**fields, "reason": "too late?"})
    assert r.status_code == 409
    assert re.search(r'class="error"[^>]*>[^<]*closed at [^<]*silence was a decline', r.text)


def test_a_bad_form_value_is_named(api: Api) -> None:
    oid = offered(api, "r-bad")
    c = as_role(api, "holder")
    fields = form_fields(c.get(f"/offers/{oid}").text, f"/offers/{oid}/accept")
    r = c.post(f"/offers/{oid}/accept", data={**fields, "gpus": "many"})
    assert r.status_code == 422 and "gpus:" in r.text


def test_audit_verifies_the_chain_on_demand(api: Api) -> None:
    c = as_role(api, "auditor")
    page = c.get("/audit").text
    assert "Not verified since this server started" in page
    head = re.search(r'id="head-position">(\d+)<', page)
    assert head is not None and int(head.group(1)) > 0
    r = c.post("/audit/verify", data=form_fields(page, "/audit/verify"))
    assert "Intact: intact" in r.text and f"{head.group(1)} events checked" in r.text


def test_static_files_are_served(api: Api) -> None:
    assert "data-deadline" in api.client.get("/static/countdown.js").text
    assert "@media" in api.client.get("/static/rofr.css").text


def test_line_chart_draws_series_markers_and_a_projection() -> None:
    start = parse_time("2025-01-01T00:00Z")
    series = Series("left", [(start + timedelta(days=d), 100.0 - d) for d in range(10)],
                    dashed_after=start + timedelta(days=5))  # fmt: skip
    svg = str(line_chart([series], title="t", y_label="USD",
                         markers=[Marker(start + timedelta(days=9), 50.0, "m <1>")]))  # fmt: skip
    assert svg.count("<polyline") == 2 and "projected" in svg and "m &lt;1&gt;" in svg
    assert "nothing to show" in str(line_chart([], title="empty", y_label="x"))


@needs_postgres
@pytest.mark.postgres
def test_the_pages_work_on_postgresql() -> None:
    with fresh_schema() as url:
        for api in running_api(url):  # type: ignore[arg-type]  (a store URL, not a file)
            api.client.app.state.web_config = WebConfig("pg-secret", Path("no-sims"))  # type: ignore[attr-defined]
            oid = offered(api, "r-pg")
            c = as_role(api, "holder")
            fields = form_fields(c.get(f"/offers/{oid}").text, f"/offers/{oid}/accept")
            r = c.post(f"/offers/{oid}/accept", data={**fields, "gpus": "16", "unit_price": "12"})
            assert "Your acceptance is recorded." in r.text
            buyer = as_role(api, "buyer")
            assert "accepted 16 GPUs (part)" in buyer.get("/requirements/r-pg").text
            assert "svg" in buyer.get("/").text
            auditor = as_role(api, "auditor")
            page = auditor.get("/audit").text
            verified = auditor.post("/audit/verify", data=form_fields(page, "/audit/verify"))
            assert "Intact: intact" in verified.text
