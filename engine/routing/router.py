"""The Router: destinations and lanes in, decisions out, learning from feedback.

It keeps the policy's arm space in step with the route table (a context's arms are created from the
most specific matching entry the first time the context is seen) and reads the time from the
injected clock, so the same object routes live traffic and simulated traffic in virtual time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.domain.clock import Clock
from engine.domain.types import Destination
from engine.policies.base import Policy
from engine.policies.batches import DecisionBatch, FeedbackBatch, RequestBatch
from engine.policies.space import ArmSpace
from engine.routing.table import RouteTable


class Router:
    def __init__(self, table: RouteTable, policy: Policy, clock: Clock) -> None:
        self.policy = policy
        self.space: ArmSpace = policy.space
        self.clock = clock
        self._table = table
        self._destinations: dict[str, Destination] = {}

    @property
    def table(self) -> RouteTable:
        return self._table

    def context_of(self, destination: Destination) -> int:
        """The context id of a destination, creating its arms from the route table if new."""
        key = destination.key
        known = key in self._destinations
        cid = self.space.context_id(key)
        if not known:
            self._destinations[key] = destination
            self._install(key, destination)
        return cid

    def _install(self, key: str, destination: Destination) -> None:
        entry = self._table.match(destination)
        wanted = {o.channel for o in entry.candidates} if entry else set()
        for option in entry.candidates if entry else ():
            self.space.upsert(key, option.channel, option.price, option.tps)
        for route in self.space.routes:
            arm = self.space.arm(key, route)
            if arm is not None and route not in wanted and self.space.enabled[arm]:
                self.space.set_enabled(arm, False)

    def replace_table(self, table: RouteTable) -> None:
        """Apply a new table: prices and caps change, new routes appear, removed ones are disabled."""
        self._table = table
        for key, destination in self._destinations.items():
            self._install(key, destination)

    def set_route_enabled(self, channel: str, enabled: bool) -> None:
        """Open or close a channel for every context (a circuit breaker, an operator's order)."""
        rid = self.space.routes.index(channel)
        for arm in np.flatnonzero(self.space.arm_route == rid):
            self.space.set_enabled(int(arm), enabled)

    def route(self, contexts: NDArray[np.int64], lanes: NDArray[np.int64]) -> DecisionBatch:
        return self.policy.decide(RequestBatch(self.clock.now(), contexts, lanes))

    def feedback(self, feedback: FeedbackBatch) -> None:
        self.policy.learn(feedback)
