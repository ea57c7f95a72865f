"""Parties, roles and API keys.

A key is ``rofr_<key id>_<secret>``; only its SHA-256 is stored, so a stolen database yields no
usable key, and the key is shown once, when it is created. Each key belongs to one party in
one role: ``buyer`` (its requirements, waivers, the triggers it may declare), ``provider``
(its own offers as holder, its own quotes and placements), ``auditor`` (reads everything,
changes nothing) and ``admin`` (everything, plus keys, webhooks and contract amendments).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rofr.api.tables import ServiceDb

__all__ = ["Principal", "Role", "create_key", "hash_key", "principal_for"]


class Role(StrEnum):
    """What a key may do."""

    BUYER = "buyer"
    PROVIDER = "provider"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The party behind a request and its role."""

    party: str
    role: Role

    @property
    def sees_all(self) -> bool:
        """Auditors and admins read everything."""
        return self.role in (Role.AUDITOR, Role.ADMIN)


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 hex (keys are 256-bit random, so no salt is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: ServiceDb, party: str, role: Role, at: datetime) -> tuple[str, str]:
    """Make a key for ``party`` in ``role``; returns ``(key_id, key)``. Only the hash is kept."""
    key_id = secrets.token_hex(6)
    key = f"rofr_{key_id}_{secrets.token_urlsafe(32)}"
    db.add_key(hash_key(key), key_id, party, role.value, at)
    return key_id, key


def principal_for(db: ServiceDb, key: str) -> Principal | None:
    """The principal a presented key stands for, or ``None`` if it is unknown or revoked."""
    row = db.find_key(hash_key(key))
    return None if row is None else Principal(row.party, Role(row.role))


def cached_principal(db: ServiceDb, key: str) -> Principal | None:
    """The principal of a key read recently (no database access), else ``None``."""
    row = db.cached_key(hash_key(key))
    return None if row is None else Principal(row.party, Role(row.role))
