"""The web console: server-rendered pages over the same service and rights as the API.

``mount_web(app)`` adds the pages under ``/`` and their stylesheet and script under
``/static`` to an app built by :func:`rofr.api.create_app`. A party signs in with its API key
and then sees exactly what that key sees through ``/v1``: the pages are built from the API's
visibility functions, and the holder's answers go through the API's handlers.

Settings (environment): ``ROFR_SESSION_SECRET`` signs the session cookie (default: generated
once per SQLite database, beside its file); ``ROFR_REPORTS_DIR`` is where simulation runs are
listed from (default ``./rofr-sims``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from rofr.web.common import WebError, config_of, page
from rofr.web.routes import router, sign_in_redirect
from rofr.web.routes_audit import router as audit_router
from rofr.web.session import SignInRequired, WebConfig, read_session

__all__ = ["WebConfig", "mount_web", "router"]

router.include_router(audit_router)


def mount_web(app: FastAPI) -> None:
    """Add the web console (pages, static files, its two error pages) to ``app``."""
    app.include_router(router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: SignInRequired) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(WebError)
    async def refused(request: Request, exc: WebError) -> Response:
        try:
            session = read_session(request, config_of(request), request.app.state.service.db)
        except SignInRequired:
            session = None
        return page(request, "error.html", session, exc.status, message=exc.message)
