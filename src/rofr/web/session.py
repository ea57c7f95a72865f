"""Sign-in with an API key, and the signed session cookie that stands for it afterwards.

The cookie holds the key's SHA-256 (what the database stores), never the key itself, plus a
CSRF token; it is signed with itsdangerous and expires after ``MAX_AGE_S``. Every request looks
the hash up again, so a revoked key ends its sessions at once. The secret comes from
``ROFR_SESSION_SECRET``; without it, a SQLite database gets one generated beside its file
(``<db>.web-secret``, mode 600) so sessions survive a restart, and any other store a fresh one
per process (sessions then end with the process).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rofr.api.auth import Principal, Role, hash_key
from rofr.api.tables import ServiceDb

__all__ = [
    "COOKIE",
    "MAX_AGE_S",
    "Session",
    "SignInRequired",
    "WebConfig",
    "clear_session",
    "open_session",
    "read_session",
    "secret_for",
]

COOKIE = "rofr_session"
MAX_AGE_S = 12 * 3600  # a working day: long enough not to annoy, short enough to expire
_SALT = "rofr-web-session"


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What the pages need beyond the service: the signing secret and the simulation folder."""

    session_secret: str
    reports_dir: Path

    @classmethod
    def from_env(cls, store_url: str) -> WebConfig:
        """``ROFR_SESSION_SECRET`` (else :func:`secret_for`) and ``ROFR_REPORTS_DIR``
        (default ``./rofr-sims``)."""
        secret = os.environ.get("ROFR_SESSION_SECRET") or secret_for(store_url)
        reports = Path(os.environ.get("ROFR_REPORTS_DIR") or "rofr-sims")
        return cls(secret, reports)


def secret_for(store_url: str) -> str:
    """The session secret of a database: stored beside a SQLite file, else per process."""
    path = _sqlite_file(store_url)
    if path is None:
        return secrets.token_urlsafe(32)
    secret_file = path.with_name(path.name + ".web-secret")
    try:
        # O_EXCL: of two processes starting together, one writes and both read the same file.
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return secret_file.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(32))
    return secret_file.read_text(encoding="utf-8").strip()


def _sqlite_file(url: str) -> Path | None:
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://", "memory")):
        return None
    path = url.removeprefix("sqlite:///")
    if path in ("", ":memory:", "sqlite://"):
        return None
    return Path(path)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in party: who it is and the token its forms must echo."""

    principal: Principal
    csrf: str


def _serializer(config: WebConfig) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.session_secret, salt=_SALT)


def open_session(response: Response, request: Request, config: WebConfig, key: str) -> None:
    """Set the session cookie for ``key`` (already checked by the caller)."""
    payload = {"k": hash_key(key), "c": secrets.token_urlsafe(16)}
    response.set_cookie(
        COOKIE,
        _serializer(config).dumps(payload),
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def read_session(request: Request, config: WebConfig, db: ServiceDb) -> Session:
    """The session of this request, or :class:`SignInRequired`."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise SignInRequired
    try:
        payload: Any = _serializer(config).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:  # also covers an expired signature
        raise SignInRequired from None
    if not isinstance(payload, dict) or not {"k", "c"} <= payload.keys():
        raise SignInRequired
    row = db.find_key(str(payload["k"]))  # a revoked key is not found: the session ends
    if row is None:
        raise SignInRequired
    return Session(Principal(row.party, Role(row.role)), str(payload["c"]))
