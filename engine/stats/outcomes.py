"""Delivery evidence per arm: successes, failures, pending messages and receipt delay.

The sufficient statistics of every Beta-Bernoulli policy. ``pending=True`` turns on the part that
matters most for a live SMS router (delayed-feedback bandits, Vernade, Cappé & Perchet 2017): a
message without receipt at age ``a`` counts as ``F(a)`` of a failure, a whole failure after
``timeout_s``, and a late receipt takes that failure back.

Silence is only evidence where it is abnormal. Many channels never report a few per cent of the
messages they deliver; counting those as failures would rank such a channel below a worse one that
reports everything. So each route learns its normal silence share ``s`` (slowly, from timeouts),
and a slot of ``n`` messages with ``k`` still silent at age ``a`` counts
``max(0, k - n * (s + (1 - s) * (1 - F(a))))`` failures: nothing on a healthy route, nearly all of
them in a black hole.

A busy route piles up so much discounted evidence that a sudden black hole takes many minutes to
outweigh it. ``fast_half_life_s`` keeps a second, short-memory copy of the evidence; wherever the
recent rate disagrees with the long-run one by more than ``change_z`` standard deviations, the
recent posterior is used instead (a change detector in the spirit of sliding-window and
change-point bandits), so a dead route is dropped within a minute or two and a recovered one is
taken back as fast.
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
CHANGE_HOLD = 5.0  # short-memory half-lives an arm keeps to its short memory after a change


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
        fast_half_life_s: float | None = None,
        change_z: float = 3.5,
        silence_half_life_s: float = 4 * 3600.0,
        fade_silence: bool = False,
    ) -> None:
        self.pending = pending
        self.change_z = change_z
        self.fade_silence = fade_silence
        self._counts = DiscountedSums(arms, 2, half_life_s)
        self._fast = DiscountedSums(arms, 2, fast_half_life_s) if fast_half_life_s else None
        self._changed_at = np.full(arms, -np.inf)  # when the change detector last fired, per arm
        self._ledger = PendingLedger(arms, timeout_s, slot_s)
        self.delay = DelayModel(routes, timeout_s, delay_half_life_s)
        # Per route: [messages silent at the timeout, messages sent], over a long memory.
        self._silence = DiscountedSums(routes, 2, silence_half_life_s)
        self._sla_cache: tuple[int, NDArray[np.float64]] | None = None

    def grow(self, arms: int, routes: int) -> None:
        self._counts.grow(arms)
        if self._fast is not None:
            self._fast.grow(arms)
        self._ledger.grow(arms)
        self.delay.grow(routes)
        self._silence.grow(routes)
        self._sla_cache = None

    def update(self, fb: FeedbackBatch, arm_route: NDArray[np.int64]) -> None:
        kind = fb.kind
        if self.pending:
            self._expire(fb.now, arm_route)
            sub = kind == FeedbackKind.SUBMITTED
            self._ledger.submit(fb.arm[sub], fb.submitted_at[sub])
        reported = (kind == FeedbackKind.DELIVERED) | (kind == FeedbackKind.UNDELIVERED)
        arm, t_sub, t_rep = fb.arm[reported], fb.submitted_at[reported], fb.reported_at[reported]
        if self.pending and len(arm):
            late = ~self._ledger.resolve(arm, t_sub)
            self._take_back(arm[late], t_sub[late], fb.now, arm_route)
        delivered = kind[reported] == FeedbackKind.DELIVERED
        self._add(arm, np.where(delivered, _SUCCESS, _FAILURE), np.ones(len(arm)), t_rep)
        self.delay.observe(arm_route[arm], t_rep - t_sub, t_rep)
        failed = kind == FeedbackKind.FAILED
        self._add(fb.arm[failed], _FAILURE, np.ones(int(failed.sum())), fb.reported_at[failed])

    def _dated(self, expired_at: NDArray[np.float64]) -> NDArray[np.float64]:
        """When booked silence counts from: its send (fading) or its timeout (not fading)."""
        return expired_at - self._ledger.timeout_s if self.fade_silence else expired_at

    def normal_silence(self, now: float) -> NDArray[np.float64]:
        """Per route, the share of messages that never report, from a prior of 2 % in 50."""
        silent_sent = self._silence.values(now)
        result: NDArray[np.float64] = np.minimum((silent_sent[:, 0] + 1.0) / (silent_sent[:, 1] + 50.0), 0.5)
        return result

    def _expire(self, now: float, arm_route: NDArray[np.int64]) -> None:
        """Slots reaching the timeout: their abnormal silence becomes failures."""
        gone = self._ledger.advance(now)
        if len(gone.arm) == 0:
            return
        routes = arm_route[gone.arm]
        normal = self.normal_silence(now)[routes]
        self._add(gone.arm, _FAILURE, np.maximum(gone.silent - gone.sent * normal, 0.0), self._dated(gone.at))
        self._silence.add(routes, np.zeros_like(routes), gone.silent, gone.at)
        self._silence.add(routes, np.ones_like(routes), gone.sent, gone.at)

    def _take_back(
        self,
        arms: NDArray[np.int64],
        submitted_at: NDArray[np.float64],
        now: float,
        arm_route: NDArray[np.int64],
    ) -> None:
        """Late receipts: the timeout counted their silence; undo its expected share."""
        if len(arms) == 0:
            return
        routes, at = arm_route[arms], self._dated(self._ledger.expired_at(submitted_at))
        share = 1.0 - self.normal_silence(now)[routes]
        self._add(arms, _FAILURE, -share, at)
        self._silence.add(routes, np.zeros_like(routes), -np.ones(len(arms)), at)

    def _add(
        self,
        arms: NDArray[np.int64],
        outcome: NDArray[np.int64] | int,
        amounts: NDArray[np.float64],
        t: NDArray[np.float64],
    ) -> None:
        cols = np.broadcast_to(np.asarray(outcome, dtype=np.int64), arms.shape)
        self._counts.add(arms, cols, amounts, t)
        if self._fast is not None:
            self._fast.add(arms, cols, amounts, t)

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
        pending: NDArray[np.float64] | float = 0.0
        pending_fast: NDArray[np.float64] | float
        if self.pending:
            self._expire(now, arm_route)
            silence = self.normal_silence(now)[:, None]

            def normal(ages: NDArray[np.float64]) -> NDArray[np.float64]:
                # Per route first (few), then spread to the arms (many).
                by_route = silence + (1.0 - silence) * (1.0 - self.delay.cdf(now, ages))
                result: NDArray[np.float64] = by_route[arm_route]
                return result

            # The short memory dates silence at the send and lets it fade like any other evidence,
            # so that a route that recovered is tried again. The long memory, unless told to fade it
            # too, keeps a silent message's full weight until the timeout books it as a failure: a
            # route that swallowed messages stays suspect (measured on outage-drift: fading both
            # moved traffic off dead routes more slowly, p90 744 s against about 600 s).
            slow = self._counts.half_life_s if self.fade_silence else math.inf
            memories = (slow, *([self._fast.half_life_s] if self._fast else []))
            masses = self._ledger.mass(now, normal, memories)
            pending, pending_fast = masses[0], masses[-1]
        else:
            pending_fast = pending
        a, b = _beta(self._counts.values(now), pending)
        if self._fast is None:
            return a, b
        fa, fb = _beta(self._fast.values(now), pending_fast)
        n = fa + fb
        mean, fast_mean = a / (a + b), fa / n
        changed = np.abs(fast_mean - mean) > self.change_z * np.sqrt(fast_mean * (1 - fast_mean) / (n + 1))
        if len(self._changed_at) < len(a):
            self._changed_at = np.concatenate(
                [self._changed_at, np.full(len(a) - len(self._changed_at), -np.inf)]
            )
        self._changed_at[changed] = now
        # After a change the long memory describes a world that is gone: keep to the short one for a
        # while, even once it has thinned out (a route nobody uses any more gathers no evidence), so
        # that its wide posterior gets the route probed again and a recovery is seen.
        recent = now - self._changed_at < CHANGE_HOLD * self._fast.half_life_s
        return np.where(recent, fa, a), np.where(recent, fb, b)

    def in_flight(self) -> NDArray[np.float64]:
        return self._ledger.in_flight()


def _beta(
    counts: NDArray[np.float64], pending: NDArray[np.float64] | float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return 1.0 + counts[:, _SUCCESS], 1.0 + counts[:, _FAILURE] + pending
