"""Destinations: an E.164 number to its country and operator (MCC-MNC)."""

from engine.destinations.operators import Operator, OperatorTable
from engine.destinations.portability import NoPortability, PortabilityLookup, StaticPortability
from engine.destinations.resolver import DestinationResolver

__all__ = [
    "DestinationResolver",
    "NoPortability",
    "Operator",
    "OperatorTable",
    "PortabilityLookup",
    "StaticPortability",
]
