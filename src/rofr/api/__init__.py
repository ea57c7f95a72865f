"""The HTTP service: buyers, holders, rivals, auditors and admins over one event log.

``create_app(store_url, clock, market, settings)`` builds the FastAPI app (``rofr serve`` runs
it with uvicorn). Keys: :func:`create_key`. Rights: :mod:`rofr.api.views`. Notices:
:mod:`rofr.api.outbox`.
"""

from rofr.api.app import create_app
from rofr.api.auth import Principal, Role, create_key, hash_key
from rofr.api.outbox import sign
from rofr.api.service import Service, Settings
from rofr.api.tables import ServiceDb

__all__ = [
    "Principal", "Role", "Service", "ServiceDb", "Settings", "create_app", "create_key",
    "hash_key", "sign",
]  # fmt: skip
