"""The pure decision core: ``decide(state, command, now) -> events`` and ``evolve``.

No I/O, no wall clock, no randomness: the clock is the ``now`` argument and the market's
answers arrive as commands (``RecordQuotes``, ``ConfirmReservation``).
"""

from rofr.engine import commands, events
from rofr.engine.codec import decode_event, encode_event
from rofr.engine.commands import Rejected
from rofr.engine.decide import decide, step
from rofr.engine.invariants import Violation, check_invariants, final_states_complete
from rofr.engine.state import FINAL, RequirementState, State, Status, evolve

__all__ = [
    "FINAL",
    "Rejected",
    "RequirementState",
    "State",
    "Status",
    "Violation",
    "check_invariants",
    "commands",
    "decide",
    "decode_event",
    "encode_event",
    "events",
    "evolve",
    "final_states_complete",
    "replay",
    "step",
]


def replay(events_in_order: "list[events.Event]") -> State:
    """Fold events from the empty state."""
    state = State()
    for event in events_in_order:
        state = evolve(state, event)
    return state
