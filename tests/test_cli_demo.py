"""`rofr demo` end to end: its printed totals must agree with its own event log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from rofr.engine import decode_event, replay
from rofr.engine.invariants import check_invariants, final_states_complete
from rofr.store import open_store, verify_chain


def test_demo_totals_match_the_log(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "rofr", "demo", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    store = open_store(str(out / "rofr.db"))
    rows = list(store.read_all())
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    state = replay(events)
    assert verify_chain(store) is None
    assert check_invariants(events) == [] and final_states_complete(events) == []
    # per-provider GPUs and spend printed == computed from the log
    totals: dict[str, list[Decimal]] = {}
    for rs in state.requirements.values():
        for p in rs.placed:
            t = totals.setdefault(p.provider, [Decimal(0), Decimal(0)])
            t[0] += p.gpus
            t[1] += p.cost
    for provider, (gpus, spend) in totals.items():
        row = re.search(rf"│ {provider}\s+│\s+([\d,]+) │\s+\$([\d,]+) │", text)
        assert row is not None, f"no row for {provider}"
        assert int(row.group(1).replace(",", "")) == gpus
        assert int(row.group(2).replace(",", "")) == round(spend)
    finals = Counter(rs.status.value for rs in state.requirements.values())
    assert f"final states: {dict(sorted(finals.items()))}" in text
    assert f"{len(rows)} events" in text
    assert "invariants 1-6 hold" in text
    # the demo shows every kind of holder answer and a waiver
    bases = {p.basis.value for rs in state.requirements.values() for p in rs.placed}
    assert {
        "holder_accepted",
        "holder_partial",
        "holder_declined",
        "window_expired",
        "waived",
        "exclusive",
    } <= bases
    assert len(state.requirements) == 50
