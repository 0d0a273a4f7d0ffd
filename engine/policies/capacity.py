"""TPS budgets per arm and the fill that respects them.

Capacity-aware routing fills routes in order of each request's own (sampled) score: a request takes
its best route that still has budget, so overflow spills to the next-best route instead of queueing
behind a throttled one. Within a route, OTP is served before transactional before marketing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class TokenBuckets:
    """One bucket per arm refilled at the arm's TPS, holding at most ``window_s`` seconds of it."""

    def __init__(self, window_s: float) -> None:
        if not window_s > 0:
            raise ValueError("capacity window_s must be positive")
        self.window_s = window_s
        self._tokens = np.empty(0)
        self._last: float | None = None

    def refill(self, now: float, tps: NDArray[np.float64]) -> NDArray[np.float64]:
        """Bring buckets to ``now`` and return the tokens available per arm."""
        if len(self._tokens) < len(tps):
            fresh = tps[len(self._tokens) :] * self.window_s
            self._tokens = np.concatenate([self._tokens, fresh])
        if self._last is not None and now > self._last:
            self._tokens += tps * (now - self._last)
        np.minimum(self._tokens, tps * self.window_s, out=self._tokens)
        self._last = now if self._last is None else max(self._last, now)
        return self._tokens

    def consume(self, arms: NDArray[np.int64]) -> None:
        # Overflow drives a bucket negative: the debt is the backlog the channel must work off.
        self._tokens -= np.bincount(arms, minlength=len(self._tokens))


def rank_within(groups: NDArray[np.int64], priority: NDArray[np.int64]) -> NDArray[np.int64]:
    """Position of each element inside its group, higher priority (lower value) first."""
    order = np.lexsort((priority, groups))
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - run_start
    return rank


SMALL_BATCH = 8


def fill(
    scores: NDArray[np.float64],
    arms: NDArray[np.int64],
    lanes: NDArray[np.int64],
    tokens: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Column chosen for each request: its best-scored candidate with budget left.

    Lanes are served strictly in priority order (OTP first); within a lane, every request's first
    choice is granted before anyone's second. ``scores`` is ``-inf`` for invalid candidates. A
    request whose every candidate is out of budget goes to its best-scored one (it will queue
    there); a request with no valid candidate gets column 0.
    """
    n = len(scores)
    order = np.argsort(-scores, axis=1, kind="stable")
    chosen = order[:, 0].copy()
    left = np.floor(np.maximum(tokens, 0.0))
    if n <= SMALL_BATCH:
        return _fill_sequential(scores, arms, lanes, left, order)
    first = arms[np.arange(n), chosen]
    if (np.bincount(first, minlength=len(left)) <= left).all():
        return chosen  # the common case: every first choice fits
    for lane in np.unique(lanes):
        _fill_rounds(scores, arms, order, np.flatnonzero(lanes == lane), left=left, chosen=chosen)
    return chosen


def _fill_rounds(
    scores: NDArray[np.float64],
    arms: NDArray[np.int64],
    order: NDArray[np.int64],
    waiting: NDArray[np.int64],
    *,
    left: NDArray[np.float64],
    chosen: NDArray[np.int64],
) -> None:
    """One lane: round r offers every still-waiting request its r-th choice; updates in place."""
    for r in range(scores.shape[1]):
        col = order[waiting, r]
        # Scores are sorted, so once a request's r-th choice is invalid all later ones are too:
        # it keeps its first choice and overflows there.
        usable = np.isfinite(scores[waiting, col])
        waiting, col = waiting[usable], col[usable]
        arm = arms[waiting, col]
        granted = rank_within(arm, np.zeros_like(arm)) < left[arm]
        chosen[waiting[granted]] = col[granted]
        left -= np.bincount(arm[granted], minlength=len(left))
        waiting = waiting[~granted]
        if len(waiting) == 0:
            return


def _fill_sequential(
    scores: NDArray[np.float64],
    arms: NDArray[np.int64],
    lanes: NDArray[np.int64],
    left: NDArray[np.float64],
    order: NDArray[np.int64],
) -> NDArray[np.int64]:
    """The same rule in plain Python: cheaper than array set-up for a handful of requests."""
    chosen = order[:, 0].copy()
    for lane in sorted(set(lanes.tolist())):
        waiting = [i for i in range(len(lanes)) if lanes[i] == lane]
        for r in range(scores.shape[1]):
            still = []
            for i in waiting:
                col = int(order[i, r])
                if not np.isfinite(scores[i, col]):
                    continue  # nothing usable left: keeps its first choice and overflows there
                arm = int(arms[i, col])
                if left[arm] >= 1:
                    left[arm] -= 1
                    chosen[i] = col
                else:
                    still.append(i)
            waiting = still
    return chosen
