"""The contract file: the shipped example, versions in force, located validation errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rofr.contract import Contract, load_contract
from rofr.contract.document import contract_schema
from rofr.inputs import InputErrors

EXAMPLE = Path(__file__).parents[1] / "src" / "rofr" / "examples" / "contract.yaml"

BASE = """\
name: t
parties:
  buyer: {id: lab}
  providers:
    - {id: azure}
    - {id: oracle}
versions:
  - id: v1
    effective_from: 2025-01-01
    clauses:
      - id: fr
        type: first_refusal
        holder: azure
        window: {hours: 24}
      - id: agi
        type: trigger
        name: agi
        declared_by: [lab]
  - id: v2
    effective_from: 2025-06-01
    clauses: []
"""


@pytest.fixture(scope="module")
def example() -> Contract:
    return load_contract(EXAMPLE)


def test_example_has_five_versions(example: Contract) -> None:
    assert [v.id for v in example.versions] == [
        "2023-01-exclusive",
        "2024-06-oracle-consent",
        "2025-01-rofr",
        "2025-10-no-rofr",
        "2026-04-ship-first",
    ]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2022-12-31", None),
        ("2023-01-23", "2023-01-exclusive"),
        ("2024-06-10", "2023-01-exclusive"),
        ("2024-06-11", "2024-06-oracle-consent"),
        ("2025-01-20T23:59:59", "2024-06-oracle-consent"),
        ("2025-01-21", "2025-01-rofr"),
        ("2025-10-27", "2025-01-rofr"),
        ("2025-10-28", "2025-10-no-rofr"),
        ("2026-04-27", "2026-04-ship-first"),
        ("2031-01-01", "2026-04-ship-first"),
    ],
    ids=lambda v: str(v),
)
def test_version_at(example: Contract, at: str, expected: str | None) -> None:
    when = datetime.fromisoformat(at).replace(tzinfo=UTC)
    version = example.version_at(when)
    assert (version.id if version else None) == expected


def test_base_text_is_valid() -> None:
    assert len(load_contract("c.yaml", text=BASE).versions) == 2


# (replace this, with that) in BASE -> (line, column, field, words in the message)
ERRORS = {
    "unknown-key": (
        ("holder: azure\n", "holder: azure\n        colour: red\n"),
        (14, 9, "versions[0].clauses[0].colour", "unknown key"),
    ),
    "overlapping-versions": (
        (
            "effective_from: 2025-01-01\n",
            "effective_from: 2025-01-01\n    effective_until: 2025-07-01\n",
        ),
        (21, 5, "versions[1].effective_from", "overlaps version v1"),
    ),
    "versions-out-of-order": (
        ("effective_from: 2025-06-01", "effective_from: 2024-06-01"),
        (20, 5, "versions[1].effective_from", "in order"),
    ),
    "unknown-holder": (
        ("holder: azure", "holder: aws"),
        (13, 9, "versions[0].clauses[0].holder", "unknown provider 'aws'"),
    ),
    "unknown-exclusive-provider": (
        (
            "      - id: agi\n",
            "      - {id: ex, type: exclusivity, provider: aws}\n      - id: agi\n",
        ),
        (15, 37, "versions[0].clauses[1].provider", "unknown provider 'aws'"),
    ),
    "unknown-waiver-provider": (
        (
            "    clauses: []\n",
            "    clauses: [{id: f2, type: first_refusal, holder: azure, window: {hours: 1}}]\n"
            "    waivers: [{id: w, clause: f2, granted_by: azure, provider: aws}]\n",
        ),
        (22, 54, "versions[1].waivers[0].provider", "unknown provider 'aws'"),
    ),
    "negative-amount": (
        (
            "    clauses: []\n",
            "    clauses:\n      - {id: c, type: commitment, provider: azure, amount: -5,"
            " start: 2025-06-01, end: 2026-01-01}\n",
        ),
        (22, 52, "versions[1].clauses[0].amount", "greater than or equal to 0"),
    ),
    "zero-window": (
        ("{hours: 24}", "{hours: 0}"),
        (14, 18, "versions[0].clauses[0].window.hours", "greater than 0"),
    ),
    "hours-and-business-days": (
        ("{hours: 24}", "{hours: 24, business_days: 2}"),
        (14, 9, "versions[0].clauses[0].window", "exactly one of hours or business_days"),
    ),
    "bad-timezone": (
        ("{hours: 24}", "{business_days: 2, calendar: {timezone: Mars/Olympus}}"),
        (14, 47, "versions[0].clauses[0].window.calendar.timezone", "unknown timezone"),
    ),
    "ends-on-unknown-trigger": (
        ("holder: azure\n", "holder: azure\n        ends_on: [nope]\n"),
        (14, 19, "versions[0].clauses[0].ends_on[0]", "no trigger named 'nope'"),
    ),
    "yaml-syntax": (
        ("holder: azure", "holder: [azure"),
        (14, 15, "", "YAML"),
    ),
}


@pytest.mark.parametrize(("edit", "where"), list(ERRORS.values()), ids=list(ERRORS))
def test_errors_name_file_line_column_and_field(
    edit: tuple[str, str], where: tuple[int, int, str, str]
) -> None:
    old, new = edit
    assert old in BASE
    with pytest.raises(InputErrors) as info:
        load_contract("contracts/c.yaml", text=BASE.replace(old, new, 1))
    line, column, field, words = where
    error = info.value.errors[0]
    assert (error.file, error.line, error.column, error.field) == (
        "contracts/c.yaml",
        line,
        column,
        field,
    )
    assert words in error.message
    assert str(error).startswith(f"contracts/c.yaml:{line}:{column}: ")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputErrors, match="cannot read"):
        load_contract(tmp_path / "absent.yaml")


def test_schema_is_json_and_names_every_clause_type() -> None:
    schema = json.loads(contract_schema())
    text = json.dumps(schema)
    assert schema["title"] == "rofr contract"
    for clause_type in (
        "first_refusal",
        "exclusivity",
        "commitment",
        "revenue_share",
        "entitlement",
        "trigger",
    ):
        assert f'"{clause_type}"' in text
