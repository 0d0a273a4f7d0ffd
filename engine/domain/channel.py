"""The Channel interface every adapter implements (simulated, SMPP, HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from engine.domain.messages import OutboundMessage, Receipt, SubmitResult


class CircuitState(StrEnum):
    CLOSED = "closed"  # healthy: traffic flows
    OPEN = "open"  # failing: no traffic until the cool-down ends
    HALF_OPEN = "half_open"  # probing: a few messages to see whether it recovered


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel: str
    connected: bool
    circuit: CircuitState
    in_flight: int
    submitted: int
    failed: int
    receipts: int
    bad_receipts: int


class Channel(Protocol):
    """Submit a batch, hand over receipts, report health, close.

    Adapters map their protocol's errors to :class:`~engine.domain.messages.ChannelError` at this
    boundary; nothing protocol-specific leaks past it.
    """

    id: str

    async def submit(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        """One result per message, in order. Must not raise for per-message failures."""
        ...

    async def receipts(self, max_items: int, timeout_s: float) -> list[Receipt]:
        """Receipts that arrived, waiting up to ``timeout_s`` for the first one."""
        ...

    def health(self) -> ChannelHealth: ...

    async def close(self) -> None: ...
