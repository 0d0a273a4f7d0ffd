"""Delivery evidence per arm: successes, failures, pending messages and receipt delay.

The sufficient statistics of every Beta-Bernoulli policy. ``pending=True`` turns on the part that
matters most for a live SMS router (delayed-feedback bandits, Vernade, Cappé & Perchet 2017): a
message without receipt at age ``a`` counts as ``F(a)`` of a failure, a whole failure after
``timeout_s``, and a late receipt takes that failure back.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.stats.delay import DelayModel
from engine.stats.discounted import DiscountedSums
from engine.stats.pending import PendingLedger

_SUCCESS, _FAILURE = 0, 1


class OutcomeStats:
    """Discounted Beta evidence per arm, optionally pending-aware."""

    def __init__(
        self,
        arms: int,
        routes: int,
        *,
        half_life_s: float = math.inf,
        pending: bool = False,
        timeout_s: float = 900.0,
        slot_s: float = 5.0,
        delay_half_life_s: float = 3600.0,
    ) -> None:
        self.pending = pending
        self._counts = DiscountedSums(arms, 2, half_life_s)
        self._ledger = PendingLedger(arms, timeout_s, slot_s)
        self.delay = DelayModel(routes, timeout_s, delay_half_life_s)
        self._sla_cache: tuple[int, NDArray[np.float64]] | None = None

    def grow(self, arms: int, routes: int) -> None:
        self._counts.grow(arms)
        self._ledger.grow(arms)
        self.delay.grow(routes)
        self._sla_cache = None

    def update(self, fb: FeedbackBatch, arm_route: NDArray[np.int64]) -> None:
        kind = fb.kind
        if self.pending:
            expired = self._ledger.advance(fb.now)
            self._add(expired.arm, _FAILURE, expired.count, expired.at)
            sub = kind == FeedbackKind.SUBMITTED
            self._ledger.submit(fb.arm[sub], fb.submitted_at[sub])
        reported = (kind == FeedbackKind.DELIVERED) | (kind == FeedbackKind.UNDELIVERED)
        arm, t_sub, t_rep = fb.arm[reported], fb.submitted_at[reported], fb.reported_at[reported]
        if self.pending and len(arm):
            late = ~self._ledger.resolve(arm, t_sub)
            # The timeout already booked these as failures: take that back before the truth lands.
            self._add(
                arm[late], _FAILURE, -np.ones(int(late.sum())), self._ledger.expired_at(t_sub[late])
            )
        delivered = kind[reported] == FeedbackKind.DELIVERED
        self._add(arm, np.where(delivered, _SUCCESS, _FAILURE), np.ones(len(arm)), t_rep)
        self.delay.observe(arm_route[arm], t_rep - t_sub, t_rep)
        failed = kind == FeedbackKind.FAILED
        self._add(fb.arm[failed], _FAILURE, np.ones(int(failed.sum())), fb.reported_at[failed])

    def _add(
        self,
        arms: NDArray[np.int64],
        outcome: NDArray[np.int64] | int,
        amounts: NDArray[np.float64],
        t: NDArray[np.float64],
    ) -> None:
        cols = np.broadcast_to(np.asarray(outcome, dtype=np.int64), arms.shape)
        self._counts.add(arms, cols, amounts, t)

    def sla_cdf(self, now: float, sla_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """``P(receipt within sla_s[j])`` per route, refreshed once per ledger slot."""
        stamp = math.floor(now / self._ledger.slot_s)
        if self._sla_cache is None or self._sla_cache[0] != stamp:
            self._sla_cache = (stamp, self.delay.cdf(now, sla_s))
        return self._sla_cache[1]

    def posterior(
        self, now: float, arm_route: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Beta parameters ``(a, b)`` for every arm at ``now``, from a Beta(1, 1) prior."""
        if self.pending:
            self._add_expired(now)
        counts = self._counts.values(now)
        a, b = 1.0 + counts[:, _SUCCESS], 1.0 + counts[:, _FAILURE]
        if self.pending:
            b = b + self._ledger.mass(now, lambda ages: self.delay.cdf(now, ages)[arm_route])
        return a, b

    def _add_expired(self, now: float) -> None:
        expired = self._ledger.advance(now)
        self._add(expired.arm, _FAILURE, expired.count, expired.at)

    def in_flight(self) -> NDArray[np.float64]:
        return self._ledger.total()
