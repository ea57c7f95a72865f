"""Errors as JSON: ``{"code", "message", "field"}``, with the HTTP status that fits.

The engine's ``Rejected`` codes are mapped by meaning: an unknown object is 404, an act by the
wrong party 403, a malformed or unacceptable value 422, and a clash with what is already
recorded (duplicate, closed, too late) 409.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rofr.engine import Rejected

__all__ = ["ApiError", "ErrorBody", "rejected_status"]

_NOT_FOUND = {
    "unknown_requirement", "unknown_offer", "unknown_waiver", "unknown_trigger",
    "unknown_reservation",
}  # fmt: skip
_FORBIDDEN = {"forbidden", "not_holder", "not_buyer"}
_INVALID = {
    "invalid_waiver", "invalid_period", "invalid_contract", "invalid_amendment", "bad_price",
    "bad_sku", "bad_region", "bad_start", "too_many", "all_or_none", "below_increment",
    "does_not_match", "price_required", "above_cap", "negative_amount", "unknown_clause",
    "unknown_provider", "not_waivable",
}  # fmt: skip


class ErrorBody(BaseModel):
    """What every error answer carries."""

    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    """An error the API raises itself (auth, rights, missing objects)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(code=code, message=message, field=field)

    @classmethod
    def from_rejected(cls, exc: Rejected) -> ApiError:
        """The API form of an engine refusal."""
        return cls(rejected_status(exc.code), exc.code, str(exc), exc.field)

    def content(self) -> dict[str, Any]:
        """The JSON body."""
        return self.body.model_dump()


def rejected_status(code: str) -> int:
    """The HTTP status for an engine ``Rejected`` code."""
    if code in _NOT_FOUND:
        return 404
    if code in _FORBIDDEN:
        return 403
    if code in _INVALID:
        return 422
    return 409


def not_found(what: str, ident: str) -> ApiError:
    """404 for objects that do not exist *or that the caller may not see* (no leak)."""
    return ApiError(404, f"unknown_{what}", f"no {what} {ident!r}", None)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "the body is not JSON (or not UTF-8)"),
        (401, "missing or unknown API key"),
        (403, "the key's role may not do this"),
        (404, "no such object (or not visible to this key)"),
        (409, "conflicts with what is recorded (or an idempotency key reused)"),
        (422, "invalid input; `field` names the offending field"),
    )
}
