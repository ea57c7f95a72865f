"""optimize: place quantities of GPUs onto quotes at minimum cost, under the contract's and
the requirements' rules.

``place_one`` is the exact fast path for one requirement (the engine's market step);
``place_batch`` places many at once (min-cost flow, with a MILP where side rules bind).
Both are pure: same input, same plan.
"""

from typing import TYPE_CHECKING, Any

from rofr.optimize.fit import effective_price, unfit_reason
from rofr.optimize.plan import Allocation, Consideration, Plan, Shortfall
from rofr.optimize.single import place_one

if TYPE_CHECKING:
    from rofr.optimize.batch import place_batch


def __getattr__(name: str) -> Any:
    # The batch solver pulls in numpy, SciPy, OR-Tools and HiGHS (about a second); load it on
    # first use so the CLI and the engine start fast.
    if name == "place_batch":
        from rofr.optimize.batch import place_batch

        return place_batch
    raise AttributeError(name)


__all__ = [
    "Allocation",
    "Consideration",
    "Plan",
    "Shortfall",
    "effective_price",
    "place_batch",
    "place_one",
    "unfit_reason",
]
