"""Routing as a service: destinations in, explained choices out; the live engine's router core.

It adds what a running engine needs around the :class:`Router`: requests by destination rather
than by context id, per-request routes to avoid (failover), channels switched off by their circuit
breakers, the alternatives considered (so every decision can be explained), and a snapshot of the
whole learned state for a warm restart.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.domain.clock import Clock
from engine.domain.types import Destination
from engine.domain.values import value_object
from engine.policies.batches import FeedbackBatch, RequestBatch
from engine.policies.economics import Economics
from engine.policies.registry import create
from engine.policies.space import ArmSpace
from engine.routing.router import Router
from engine.routing.table import RouteTable


@value_object
@dataclass(frozen=True, slots=True)
class Choice:
    """One routing decision, with its reasons."""

    channel: str | None  # None: no route available
    arm: int
    price: float
    propensity: float
    score: float
    explored: bool
    context: str
    alternatives: tuple[tuple[str, float], ...]  # (channel, price) of every candidate considered


class RouterService:
    def __init__(
        self,
        table: RouteTable,
        policy: str,
        clock: Clock,
        rng: np.random.Generator,
        economics: Economics | None = None,
    ) -> None:
        self.policy_spec = policy
        self.router = Router(table, create(policy, ArmSpace(), rng, economics), clock)
        self._disabled: set[str] = set()

    @property
    def space(self) -> ArmSpace:
        return self.router.space

    def route(
        self,
        destinations: Sequence[Destination],
        lanes: NDArray[np.int64],
        avoid: Sequence[Sequence[str]] | None = None,
    ) -> list[Choice]:
        # A batch's messages share destination objects (the resolver interns them): each one's
        # context and key are worked out once, by identity (hashing a dataclass costs more).
        seen: dict[int, tuple[int, str]] = {}
        for d in destinations:
            if id(d) not in seen:
                seen[id(d)] = (self.router.context_of(d), d.key)
        known = [seen[id(d)] for d in destinations]
        contexts = np.array([context for context, _ in known], dtype=np.int64)
        blocked = self._avoid_matrix(len(destinations), avoid)
        requests = RequestBatch(self.router.clock.now(), contexts, lanes, blocked)
        decision = self.router.policy.decide(requests)
        cand, valid = self.space.candidates(contexts)
        names = self.space.routes
        route_of = [names[r] for r in self.space.arm_route.tolist()]
        price = self.space.price.tolist()
        # Plain lists and one tuple of alternatives per context: numpy indexing per message cost
        # more than the policy's whole decision.
        considered: dict[int, tuple[tuple[str, float], ...]] = {}
        choices = []
        for i, (arm, context, propensity, score, explored) in enumerate(
            zip(
                decision.arm.tolist(), contexts.tolist(), decision.propensity.tolist(),
                decision.score.tolist(), decision.explored.tolist(), strict=True,
            )
        ):  # fmt: skip
            alternatives = considered.get(context)
            if alternatives is None:
                alternatives = tuple((route_of[a], price[a]) for a in cand[i][valid[i]].tolist())
                considered[context] = alternatives
            choices.append(
                Choice(
                    route_of[arm] if arm >= 0 else None, arm, price[arm] if arm >= 0 else 0.0,
                    propensity, score, bool(explored), known[i][1], alternatives,
                )
            )  # fmt: skip
        return choices

    def _avoid_matrix(self, n: int, avoid: Sequence[Sequence[str]] | None) -> NDArray[np.int64] | None:
        if not self._disabled and not any(avoid or ()):  # the usual batch: nothing to block
            return None
        rows = [list(r) for r in avoid] if avoid else [[] for _ in range(n)]
        if self._disabled:
            rows = [r + sorted(self._disabled) for r in rows]
        width = max((len(r) for r in rows), default=0)
        ids = {name: i for i, name in enumerate(self.space.routes)}
        out = np.full((n, width), -1, dtype=np.int64)
        for i, row in enumerate(rows):
            for j, name in enumerate(row):
                out[i, j] = ids.get(name, -1)
        return out

    def feedback(self, feedback: FeedbackBatch) -> None:
        self.router.feedback(feedback)

    def set_channel_enabled(self, channel: str, enabled: bool) -> None:
        """A circuit breaker opened or closed: no traffic to the channel while it is open."""
        if enabled:
            self._disabled.discard(channel)
        else:
            self._disabled.add(channel)

    def snapshot(self) -> bytes:
        return pickle.dumps(self.router, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, state: bytes, clock: Clock) -> None:
        """Start warm from a snapshot (only ever one this engine wrote itself: it is a pickle)."""
        router = pickle.loads(state)
        if not isinstance(router, Router):
            raise TypeError("not a router snapshot")
        router.clock = clock
        self.router = router
