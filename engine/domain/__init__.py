"""Value objects: stdlib only."""

from engine.domain.clock import Clock, ManualClock, SystemClock
from engine.domain.enums import Encoding, ErrorClass, Lane, MessageStatus, Outcome
from engine.domain.types import Channel, Destination, RouteOption

__all__ = [
    "Channel",
    "Clock",
    "Destination",
    "Encoding",
    "ErrorClass",
    "Lane",
    "ManualClock",
    "MessageStatus",
    "Outcome",
    "RouteOption",
    "SystemClock",
]
