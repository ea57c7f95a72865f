"""The market: providers behind one port (simulated or over HTTP), quotes and reservations.

Public face of the layer; import from here, not from the modules.
"""

from rofr.market.client import HttpProvider
from rofr.market.holder import HolderAnswer, HolderBehaviour, HolderPolicy, OfferView
from rofr.market.inventory import Inventory, ProviderSpec, load_inventory
from rofr.market.port import (
    ProviderPort,
    ProviderUnavailable,
    Refusal,
    Reservation,
    gather_quotes,
)
from rofr.market.server import create_app, serve
from rofr.market.simulated import SimulatedProvider, load_simulated_provider
from rofr.market.yamlmarks import InputError, load_yaml_model

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
