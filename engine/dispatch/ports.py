"""What the dispatcher and the receipt processor need from the rest of the engine.

In production these are Ray actor handles wrapped in thin adapters; in unit tests, plain objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.domain.enums import MessageStatus
from engine.domain.messages import OutboundMessage, SubmitResult
from engine.domain.types import Destination
from engine.policies.batches import FeedbackBatch
from engine.routing.service import Choice


class RouterPort(Protocol):
    async def route(
        self, destinations: Sequence[Destination], lanes: NDArray[np.int64], avoid: Sequence[Sequence[str]]
    ) -> list[Choice]: ...

    async def feedback(self, feedback: FeedbackBatch) -> None: ...


@dataclass(frozen=True, slots=True)
class Submitted:
    """A channel's answers to one submit, in order, and when the channel had each of them.

    A submit paced by a TPS limit can last seconds: a message's ``sent`` time is when its own part
    was answered, never later than its receipt (which the channel stamps with the same clock).
    """

    results: list[SubmitResult]
    at: list[float]


class ChannelPort(Protocol):
    async def submit(self, messages: Sequence[OutboundMessage]) -> Submitted: ...


@dataclass(slots=True)
class Outcome:
    """Something that happened to a decided message, for the decision log. Not frozen, though
    never changed once made: one is made per message sent and per receipt, and a frozen
    dataclass's constructor costs five times as much (see :class:`engine.infra.store.Change`)."""

    message_id: str
    at: float
    status: MessageStatus
    cost: float | None = None
    latency_s: float | None = None
    error_code: str | None = None


OutcomeHook = Callable[[Sequence[Outcome]], None]


class ChannelUnavailableError(Exception):
    """The channel could not be asked (its actor died mid-call): the submit's outcome is unknown."""
