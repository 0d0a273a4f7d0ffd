"""Shared machinery of the policies that keep Beta evidence per arm."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.policies.base import Policy
from engine.policies.batches import FeedbackBatch
from engine.policies.economics import Economics
from engine.policies.space import ArmSpace
from engine.stats.beta import BetaPosterior
from engine.stats.outcomes import OutcomeStats

POSTERIOR_RESOLUTION_S = 1.0


class BetaPolicy(Policy):
    """A policy over :class:`OutcomeStats`; the posterior is computed once per (time, update)."""

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        *,
        half_life_s: float = math.inf,
        pending: bool = False,
        timeout_s: float = 900.0,
        fast_half_life_s: float | None = None,
        change_z: float = 3.5,
        fade_silence: bool = False,
        **base: Any,
    ) -> None:
        super().__init__(space, rng, economics, **base)
        if not (half_life_s > 0 and timeout_s > 0):
            raise ValueError("half_life_s and timeout_s must be positive")
        self.half_life_s = half_life_s
        self.pending = pending
        self.timeout_s = timeout_s
        self.fast_half_life_s = fast_half_life_s
        self.change_z = change_z
        self.fade_silence = fade_silence
        self._stats = OutcomeStats(
            space.n_arms,
            space.n_routes,
            half_life_s=half_life_s,
            pending=pending,
            timeout_s=timeout_s,
            fast_half_life_s=fast_half_life_s,
            change_z=change_z,
            fade_silence=fade_silence,
        )
        self._updates = 0
        self._cache: tuple[int, int, BetaPosterior] | None = None

    def _grow(self, n_arms: int, n_routes: int) -> None:
        self._stats.grow(n_arms, n_routes)
        self._cache = None

    def _learn(self, feedback: FeedbackBatch) -> None:
        self._stats.update(feedback, self.space.arm_route)
        self._updates += 1

    def _posterior(self, now: float) -> BetaPosterior:
        # Beliefs change with feedback, not with the passing of a few milliseconds: a router that
        # decides a thousand times a second recomputes them once per feedback batch or second.
        stamp = math.floor(now / POSTERIOR_RESOLUTION_S)
        c = self._cache
        if c is None or c[0] != stamp or c[1] != self._updates or len(c[2].a) != self.space.n_arms:
            c = self._cache = (
                stamp,
                self._updates,
                BetaPosterior.of(*self._stats.posterior(now, self.space.arm_route)),
            )
        return c[2]

    def _means(self, now: float) -> NDArray[np.float64]:
        return self._posterior(now).mean
