"""What every page shares: templates, the signed-in viewer, CSRF, errors as pages, headers.

Errors. The API's own errors (:class:`~rofr.api.errors.ApiError`: 403, and the 404 that hides
objects a key may not see) are turned into :class:`WebError` inside the web routes, so the
pages answer with the same status and message as the API, as HTML. The app's JSON handlers
stay untouched for ``/v1``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from rofr.api.app import service_of
from rofr.api.auth import Role
from rofr.api.errors import ApiError
from rofr.api.service import Service
from rofr.values import as_utc, parse_time, time_text
from rofr.web.session import Session, WebConfig, read_session

__all__ = [
    "HEADERS",
    "Viewer",
    "WebError",
    "as_page",
    "check_csrf",
    "config_of",
    "fmt_when",
    "page",
    "templates",
]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# Pages load only their own stylesheet and script; inline SVG needs nothing more. No framing
# by other sites (the holder's answer buttons must not be clickjacked).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages are per party; no shared cache may keep them
}


class WebError(Exception):
    """A page-level refusal: rendered as ``error.html`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@contextmanager
def as_page() -> Iterator[None]:
    """Run API-level checks (``require``, ``requirement_for``...) with their errors as pages."""
    try:
        yield
    except ApiError as exc:
        raise WebError(exc.status, exc.body.message) from None


def config_of(request: Request) -> WebConfig:
    """The web settings of this app (read from the environment on first use)."""
    config: WebConfig | None = getattr(request.app.state, "web_config", None)
    if config is None:
        config = WebConfig.from_env(service_of(request).store_url)
        request.app.state.web_config = config
    return config


def _viewer(request: Request) -> Session:
    return read_session(request, config_of(request), service_of(request).db)


Viewer = Annotated[Session, Depends(_viewer)]


def check_csrf(session: Session, token: str) -> None:
    """Refuse a form that does not echo the session's token (a cross-site post)."""
    if not secrets.compare_digest(session.csrf.encode(), token.encode()):
        raise WebError(403, "this form has expired or came from another site; reload the page")


def fmt_when(value: datetime | str | None) -> str:
    """``2025-02-03 09:00 UTC``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = parse_time(value)
    return f"{as_utc(value):%Y-%m-%d %H:%M} UTC"


def _money(value: Decimal | float | str | None) -> str:
    return "" if value is None else f"${Decimal(str(value)):,.2f}"


templates.env.filters["when"] = fmt_when
templates.env.filters["money"] = _money
templates.env.filters["iso"] = time_text

_NAV: Mapping[Role, tuple[tuple[str, str], ...]] = {
    Role.BUYER: (("/", "Overview"), ("/requirements", "Requirements"), ("/sims", "Simulations")),
    Role.PROVIDER: (("/inbox", "Inbox"),),
    Role.AUDITOR: (
        ("/", "Overview"), ("/requirements", "Requirements"), ("/inbox", "Offers"),
        ("/audit", "Audit"), ("/sims", "Simulations"),
    ),
    Role.ADMIN: (
        ("/", "Overview"), ("/requirements", "Requirements"), ("/inbox", "Offers"),
        ("/audit", "Audit"), ("/sims", "Simulations"),
    ),
}  # fmt: skip


def page(
    request: Request,
    name: str,
    session: Session | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` for ``session``'s party with the navigation of its role."""
    service: Service = service_of(request)
    who = session.principal if session is not None else None
    response = templates.TemplateResponse(
        request,
        name,
        {
            "me": who,
            "csrf": session.csrf if session is not None else "",
            "nav": _NAV[who.role] if who is not None else (),
            "now": service.clock(),
            "new_key": lambda: secrets.token_urlsafe(16),
            **context,
        },
        status_code=status,
        headers=HEADERS,
    )
    return response
