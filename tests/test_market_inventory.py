"""Inventory files: validation errors name file, line and field; the example loads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rofr.market import InputError, load_inventory
from rofr.market.holder import UniformDelay, load_holder_policy

EXAMPLE = Path(__file__).parents[1] / "src" / "rofr" / "examples" / "inventory.yaml"

GOOD = """\
providers:
  - id: p1
    name: One
    quote_validity_hours: 24
    capacity:
      - {sku: H100, region: r1, gpus: 100, from: 2025-01-01}
    prices:
      - {sku: H100, region: "*", unit_price: 12.29}
"""

# (case id, text, expected line, expected field, words the message must contain)
BAD = [
    (
        "unknown key",
        GOOD.replace("    name: One\n", "    name: One\n    colour: blue\n"),
        4,
        "providers[0].colour",
        "unknown key 'colour'",
    ),
    (
        "negative price",
        GOOD.replace("unit_price: 12.29", "unit_price: -1.5"),
        8,
        "providers[0].prices[0].unit_price",
        "greater than or equal to 0",
    ),
    (
        "bad date",
        GOOD.replace("from: 2025-01-01", "from: 2025-13-01"),
        6,
        "providers[0].capacity[0].from",
        "date",
    ),
    (
        "missing field",
        GOOD.replace("    quote_validity_hours: 24\n", ""),
        2,
        "providers[0].quote_validity_hours",
        "Field required",
    ),
    (
        "retire more than added",
        GOOD.replace(
            "      - {sku: H100, region: r1, gpus: 100, from: 2025-01-01}\n",
            "      - {sku: H100, region: r1, gpus: 100, from: 2025-01-01}\n"
            "      - {sku: H100, region: r1, gpus: -150, from: 2025-02-01}\n",
        ),
        6,
        "providers[0].capacity",
        "falls to -50",
    ),
    (
        "zero validity",
        GOOD.replace("quote_validity_hours: 24", "quote_validity_hours: 0"),
        4,
        "providers[0].quote_validity_hours",
        "greater than 0",
    ),
    (
        "yaml syntax",
        GOOD.replace("    name: One\n", "    name: [One\n"),
        4,
        "(syntax)",
        "",
    ),
    (
        "duplicate provider",
        GOOD + GOOD.split("providers:\n", 1)[1],
        2,
        "providers",
        "appears twice",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "words"), [case[1:] for case in BAD], ids=[c[0] for c in BAD]
)
def test_invalid_inventory_names_file_line_and_field(
    text: str, line: int, field: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(text, source_name="inv.yaml")
    error = caught.value
    assert (error.file, error.field) == ("inv.yaml", field)
    if field != "(syntax)":
        assert error.line == line
    else:
        assert error.line >= line
    assert words in error.message
    assert str(error).startswith(f"inv.yaml:{error.line}:{error.column}: {field}: ")
    assert "\n" not in str(error)


def test_good_inventory_reads_prices_exactly() -> None:
    inventory = load_inventory(GOOD)
    assert inventory.provider("p1").prices[0].unit_price == Decimal("12.29")


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="known: p1"):
        load_inventory(GOOD).provider("nope")


def test_example_inventory_loads_with_the_four_providers(tmp_path: Path) -> None:
    inventory = load_inventory(EXAMPLE)
    assert [p.id for p in inventory.providers] == ["azure", "oracle", "coreweave", "aws"]
    assert inventory.provider("azure").holder is not None
    # A path given as a plain string is read as a file too, and errors name it.
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("name: One", "name: One\n    extra: 1"), encoding="utf-8")
    with pytest.raises(InputError, match=r"^.*broken\.yaml:4:5: providers\[0\]\.extra: "):
        load_inventory(str(broken))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("response_delay: {kind: uniform, min_hours: 5, max_hours: 1}\n", "response_delay"),
        ("response_delay: {kind: weibull, shape: 2}\n", "response_delay"),
        ("response_delay: {kind: uniform, min_hours: -1, max_hours: 1}\n", "response_delay"),
        ("ignore_share: 1.5\n", "ignore_share"),
    ],
    ids=["uniform reversed", "unknown distribution", "negative delay", "share above one"],
)
def test_invalid_holder_policy(text: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        load_holder_policy(text, source_name="holder.yaml")
    assert caught.value.field.startswith(field)
    assert caught.value.line == 1


def test_holder_policy_reads_uniform_delay() -> None:
    policy = load_holder_policy("response_delay: {kind: uniform, min_hours: 1, max_hours: 3}\n")
    assert policy.response_delay == UniformDelay(kind="uniform", min_hours=1, max_hours=3)
