"""The audit page (chain head, verification on demand, compliance report) and the simulation
reports.

Rights. The audit pages read the whole log, so they follow ``GET /v1/events``: auditors and
admins. Simulation reports are the buyer's what-if analyses of its own demand (a provider must
not see them), so buyers, auditors and admins. Report folders are served read-only: only
files directly inside a run folder of the configured directory, by exact name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from rofr.api.app import require, service_of
from rofr.api.auth import Role
from rofr.audit import compliance_report, report_html
from rofr.engine import decode_event
from rofr.store import verify_chain
from rofr.web.common import HEADERS, Viewer, WebError, as_page, check_csrf, config_of, page

__all__ = ["Verification", "router"]

router = APIRouter(include_in_schema=False)

_REPORTS = ("report.html", "sweep.html")
_SERVED = {".html", ".csv", ".json", ".png", ".svg", ".txt"}
# A report is rofr's own output, but it is served from a folder anyone with disk access can
# write: no script runs in it, and it can load nothing from elsewhere.
_REPORT_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class Verification:
    """The last ``verify_chain`` run of this process: when, how far, and what it found."""

    at: datetime
    position: int
    ok: bool
    detail: str


def _verify(request: Request) -> Verification:
    service = service_of(request)
    position, _ = service.store.head()
    found = verify_chain(service.store)
    detail = "intact" if found is None else f"event {found.position}: {found.reason}"
    result = Verification(service.clock(), position, found is None, detail)
    request.app.state.web_verification = result
    return result


def _report(request: Request) -> tuple[object, Verification | None]:
    service = service_of(request)
    rows = list(service.store.read_all())
    last: Verification | None = getattr(request.app.state, "web_verification", None)
    chain = None if last is None else (last.ok, [] if last.ok else [last.detail])
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    return compliance_report(events, chain=chain), last


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, s: Viewer) -> Response:
    """Chain head, last verification, the invariants of the compliance report."""
    with as_page():
        require(s.principal, Role.AUDITOR)
    position, head = service_of(request).store.head()
    report, last = _report(request)
    return page(request, "audit.html", s, position=position, head=head, last=last, report=report)


@router.post("/audit/verify")
def verify(request: Request, s: Viewer, csrf: str = Form("")) -> Response:
    """Run ``verify_chain`` over the whole log now."""
    check_csrf(s, csrf)
    with as_page():
        require(s.principal, Role.AUDITOR)
    _verify(request)
    return RedirectResponse("/audit", 303, headers=HEADERS)


@router.get("/audit/report", response_class=HTMLResponse)
def full_report(request: Request, s: Viewer) -> Response:
    """The compliance report as its own document (the same HTML as ``rofr audit report``)."""
    with as_page():
        require(s.principal, Role.AUDITOR)
    report, _ = _report(request)
    return HTMLResponse(report_html(report), headers=_REPORT_HEADERS)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Run:
    """A simulation folder: its name, its report and when it was written."""

    name: str
    report: str
    modified: datetime
    files: tuple[str, ...]


def _runs(root: Path) -> list[Run]:
    if not root.is_dir():
        return []
    runs = []
    for folder in root.iterdir():
        report = next((n for n in _REPORTS if (folder / n).is_file()), None)
        if folder.is_dir() and report is not None:
            files = tuple(
                sorted(f.name for f in folder.iterdir() if f.is_file() and f.suffix in _SERVED)
            )
            mtime = (folder / report).stat().st_mtime
            runs.append(Run(folder.name, report, datetime.fromtimestamp(mtime).astimezone(), files))
    return sorted(runs, key=lambda r: r.modified, reverse=True)


def _run(request: Request, name: str) -> Run:
    found = next((r for r in _runs(config_of(request).reports_dir) if r.name == name), None)
    if found is None:
        raise WebError(404, f"no simulation run {name!r}")
    return found


@router.get("/sims", response_class=HTMLResponse)
def sims(request: Request, s: Viewer) -> Response:
    """The simulation runs under the reports directory, newest first."""
    with as_page():
        require(s.principal, Role.BUYER, Role.AUDITOR)
    root = config_of(request).reports_dir
    return page(request, "sims.html", s, runs=_runs(root), root=root)


@router.get("/sims/{name}", response_class=HTMLResponse)
def sim_run(request: Request, s: Viewer, name: str) -> Response:
    """One run: its report (with its plots) framed, and its data files."""
    with as_page():
        require(s.principal, Role.BUYER, Role.AUDITOR)
    return page(request, "sim_run.html", s, run=_run(request, name))


@router.get("/sims/{name}/{file}")
def sim_file(request: Request, s: Viewer, name: str, file: str) -> Response:
    """A file of a run, read-only, by exact name (no path can escape the folder)."""
    with as_page():
        require(s.principal, Role.BUYER, Role.AUDITOR)
    run = _run(request, name)
    if file not in run.files:
        raise WebError(404, f"no file {file!r} in run {name!r}")
    path = config_of(request).reports_dir / run.name / file
    return FileResponse(path, headers=_REPORT_HEADERS)
