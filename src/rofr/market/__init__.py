"""The market: providers behind one port (simulated or over HTTP), quotes and reservations.

Public face of the layer; import from here, not from the modules.
"""

from typing import TYPE_CHECKING, Any

from rofr.market.holder import HolderAnswer, HolderBehaviour, HolderPolicy, OfferView
from rofr.market.inventory import Inventory, ProviderSpec, load_inventory
from rofr.market.port import (
    ProviderPort,
    ProviderUnavailable,
    Refusal,
    Reservation,
    gather_quotes,
)
from rofr.market.simulated import SimulatedProvider, load_simulated_provider
from rofr.market.yamlmarks import InputError, load_yaml_model

if TYPE_CHECKING:
    from rofr.market.client import HttpProvider
    from rofr.market.server import create_app, serve


def __getattr__(name: str) -> Any:
    # The HTTP pieces import httpx and FastAPI (half a second); load them on first use so the
    # simulator and the CLI start fast.
    if name == "HttpProvider":
        from rofr.market.client import HttpProvider

        return HttpProvider
    if name in ("create_app", "serve"):
        from rofr.market import server

        return getattr(server, name)
    raise AttributeError(name)


__all__ = [
    "HolderAnswer",
    "HolderBehaviour",
    "HolderPolicy",
    "HttpProvider",
    "InputError",
    "Inventory",
    "OfferView",
    "ProviderPort",
    "ProviderSpec",
    "ProviderUnavailable",
    "Refusal",
    "Reservation",
    "SimulatedProvider",
    "create_app",
    "gather_quotes",
    "load_inventory",
    "load_simulated_provider",
    "load_yaml_model",
    "serve",
]
