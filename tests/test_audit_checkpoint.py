"""Signed checkpoints: the signed body, strict parsing, key files."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rofr.audit import (
    Checkpoint,
    key_id,
    load_or_create_signing_key,
    read_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
    write_checkpoint,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CP = sign_checkpoint(
    KEY,
    tree_size=8,
    root_hash="5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    chain_head_hash="ab" * 32,
    issued_at=datetime(2025, 2, 1, tzinfo=UTC),
    export_interval=4,
    final=True,
)


def test_body_is_a_c2sp_style_checkpoint() -> None:
    assert CP.body().decode().splitlines() == [
        "rofr-audit",
        "8",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        f"chain-head {'ab' * 32}",
        "issued-at 2025-02-01T00:00:00Z",
        "export every=4 final",
    ]
    assert verify_checkpoint(CP, KEY.public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 9},
        {"root_hash": "5" * 64},
        {"chain_head_hash": "cd" * 32},
        {"issued_at": datetime(2025, 2, 2, tzinfo=UTC)},
        {"final": False},
        {"export_interval": 8},
        {"origin": "other-log"},
        {"key_id": "0" * 64},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_changed_field_breaks_the_signature(change: dict[str, object]) -> None:
    assert not verify_checkpoint(replace(CP, **change), KEY.public_key())  # type: ignore[arg-type]


def test_other_key_does_not_verify() -> None:
    assert not verify_checkpoint(CP, Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("root_hash", "5DC9DA79A70659A9AD559CB701DED9A2AB9D823AAD2F4960CFE370EFF4604328"),
        ("issued_at", "2025-02-01T00:00:00+00:00"),
        ("tree_size", "8"),
        ("final", 1),
        ("signature", CP.signature[:-3] + chr(ord(CP.signature[-3]) + 1) + "=="),
    ],
    ids=["upper-hex", "non-canonical-time", "string-size", "int-final", "non-canonical-b64"],
)
def test_parsing_is_strict(field: str, value: object) -> None:
    # Each of these spells (almost) the same value differently; only one spelling is accepted,
    # so a one-character edit can never leave the signed meaning unchanged.
    with pytest.raises(ValueError):
        Checkpoint.from_json({**CP.to_json(), field: value})


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    write_checkpoint(CP, tmp_path / "cp.json")
    assert read_checkpoint(tmp_path / "cp.json") == CP


def test_key_file_is_private_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.pem"
    key = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(load_or_create_signing_key(path).public_key()) == key_id(key.public_key())
