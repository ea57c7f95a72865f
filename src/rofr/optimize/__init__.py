"""optimize: place quantities of GPUs onto quotes at minimum cost, under the contract's and
the requirements' rules.

``place_one`` is the exact fast path for one requirement (the engine's market step);
``place_batch`` places many at once (min-cost flow, with a MILP where side rules bind).
Both are pure: same input, same plan.
"""

from rofr.optimize.batch import place_batch
from rofr.optimize.fit import effective_price, unfit_reason
from rofr.optimize.plan import Allocation, Consideration, Plan, Shortfall
from rofr.optimize.single import place_one

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
