"""`make bench`: run every benchmark in bench/ in turn, each printing ratios to its baseline.

Each benchmark is a separate process so that one's memory and caches do not colour the next.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ORDER = ["store.py", "placement.py", "sim.py", "sim_floor.py", "service.py"]


def main() -> int:
    failed = 0
    for name in ORDER:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== bench/{name} ===", flush=True)
        failed |= subprocess.call([sys.executable, str(script), *sys.argv[1:]]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
