"""Signed checkpoints: an Ed25519 signature over the size and Merkle root of the log.

The signed body follows the C2SP transparency-log checkpoint layout (origin line, tree size,
base64 root hash, then extension lines), so it reads like any other log checkpoint::

    rofr-audit
    200
    3ciaJ4wZ...=
    chain-head 9f2c...
    issued-at 2025-02-01T00:00:00Z
    export every=50 final

``chain-head`` is the hash-chain hash of the last event covered, tying the Merkle tree to the
chain. The ``export`` line appears only on checkpoints written into an export: the interval
lets a verifier notice a deleted checkpoint, and ``final`` marks the one that closes the file,
so cutting the file after an earlier checkpoint is detected (the signature covers both).

Keys: the public key is the raw 32-byte Ed25519 key in lowercase hex; its key id is the
SHA-256 of those 32 bytes, in lowercase hex, which a party can pin.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rofr.values import parse_time, to_jsonable

__all__ = [
    "DEFAULT_ORIGIN",
    "Checkpoint",
    "key_id",
    "load_or_create_signing_key",
    "public_key_from_hex",
    "public_key_hex",
    "read_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
    "write_checkpoint",
]

DEFAULT_ORIGIN = "rofr-audit"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _strict_b64(text: str) -> bytes:
    # Base64 has spare bits in its last character: two texts may decode to the same bytes.
    # Requiring the canonical encoding makes every one-character change visible.
    raw = base64.b64decode(text, validate=True)
    if _b64(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def _strict_hex(text: str, what: str) -> str:
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        raise ValueError(f"{what} must be 64 lowercase hex digits")
    return text


def public_key_hex(key: Ed25519PublicKey) -> str:
    """The raw public key as 64 lowercase hex digits (the form written into exports)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    """Parse :func:`public_key_hex` output; raises ``ValueError`` on anything else."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(_strict_hex(text, "public key")))


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, lowercase hex: the id a party pins."""
    return hashlib.sha256(bytes.fromhex(public_key_hex(key))).hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the first ``tree_size`` events have this Merkle root and chain head.

    ``root_hash`` and ``chain_head_hash`` are lowercase hex; ``signature`` is base64 of the
    Ed25519 signature over :meth:`body`. ``export_interval`` is 0 outside exports.
    """

    tree_size: int
    root_hash: str
    chain_head_hash: str
    issued_at: datetime
    key_id: str
    signature: str
    origin: str = DEFAULT_ORIGIN
    export_interval: int = 0
    final: bool = False

    def body(self) -> bytes:
        """The exact bytes that are signed (C2SP checkpoint layout plus extension lines)."""
        lines = [
            self.origin,
            str(self.tree_size),
            _b64(bytes.fromhex(self.root_hash)),
            f"chain-head {self.chain_head_hash}",
            f"issued-at {to_jsonable(self.issued_at)}",
        ]
        if self.export_interval:
            lines.append(f"export every={self.export_interval}" + (" final" if self.final else ""))
        return ("\n".join(lines) + "\n").encode("utf-8")

    def to_json(self) -> dict[str, Any]:
        """The JSON form written into exports and kept by parties."""
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "chain_head_hash": self.chain_head_hash,
            "issued_at": to_jsonable(self.issued_at),
            "key_id": self.key_id,
            "signature": self.signature,
            "export_interval": self.export_interval,
            "final": self.final,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse :meth:`to_json` output strictly; raises ``ValueError`` naming the bad field."""
        try:
            size, interval, final = data["tree_size"], data["export_interval"], data["final"]
            if type(size) is not int or size < 0:
                raise ValueError("tree_size must be a non-negative integer")
            if type(interval) is not int or interval < 0:
                raise ValueError("export_interval must be a non-negative integer")
            if type(final) is not bool:
                raise ValueError("final must be true or false")
            issued_text = data["issued_at"]
            issued_at = parse_time(issued_text)
            # Only the canonical spelling is accepted, so the signed body is the JSON's twin.
            if to_jsonable(issued_at) != issued_text:
                raise ValueError("issued_at is not in canonical form")
            signature = data["signature"]
            if not isinstance(signature, str):
                raise ValueError("signature must be a string")
            _strict_b64(signature)
            origin = data["origin"]
            if not isinstance(origin, str) or not origin or "\n" in origin:
                raise ValueError("origin must be one non-empty line")
            return cls(
                tree_size=size,
                root_hash=_strict_hex(data["root_hash"], "root_hash"),
                chain_head_hash=_strict_hex(data["chain_head_hash"], "chain_head_hash"),
                issued_at=issued_at,
                key_id=_strict_hex(data["key_id"], "key_id"),
                signature=signature,
                origin=origin,
                export_interval=interval,
                final=final,
            )
        except KeyError as missing:
            raise ValueError(f"checkpoint has no field {missing}") from None
        except (TypeError, AttributeError, binascii.Error) as exc:
            raise ValueError(f"checkpoint field is malformed: {exc}") from None


def sign_checkpoint(
    signing_key: Ed25519PrivateKey,
    *,
    tree_size: int,
    root_hash: str,
    chain_head_hash: str,
    issued_at: datetime,
    origin: str = DEFAULT_ORIGIN,
    export_interval: int = 0,
    final: bool = False,
) -> Checkpoint:
    """Build and sign a checkpoint."""
    unsigned = Checkpoint(
        tree_size=tree_size,
        root_hash=root_hash,
        chain_head_hash=chain_head_hash,
        issued_at=issued_at,
        key_id=key_id(signing_key.public_key()),
        signature="",
        origin=origin,
        export_interval=export_interval,
        final=final,
    )
    return replace(unsigned, signature=_b64(signing_key.sign(unsigned.body())))


def verify_checkpoint(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True when ``cp`` names this key and its signature over :meth:`Checkpoint.body` holds."""
    if cp.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(_strict_b64(cp.signature), cp.body())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def read_checkpoint(path: Path) -> Checkpoint:
    """Load a checkpoint a party kept (the JSON of :meth:`Checkpoint.to_json`)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("checkpoint"), dict):
        data = data["checkpoint"]  # a checkpoint line copied out of an export also works
    return Checkpoint.from_json(data)


def write_checkpoint(cp: Checkpoint, path: Path) -> None:
    """Save a checkpoint for later pinning."""
    path.write_text(json.dumps(cp.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the PEM Ed25519 key at ``path``, or create one there readable only by its owner."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key
