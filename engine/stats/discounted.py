"""Sums that forget in wall-clock time, updated in O(1) per event.

Discounting per second rather than per pull matters because traffic per context differs by orders
of magnitude: a quiet context must not remember a dead route for hours while a busy one forgets in
seconds. Instead of decaying every value at every tick, an event at time ``t`` is added with weight
``exp(rate * (t - t_ref))`` and values are read back multiplied by ``exp(-rate * (now - t_ref))``;
the reference time is moved forward before the weights could overflow.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

_REBASE_EXPONENT = 30.0  # keeps every grown weight below e**30, far from float64 overflow


class DiscountedSums:
    """A matrix of non-negative sums with exponential forgetting (half-life in seconds).

    ``half_life_s=inf`` keeps everything (no forgetting).

    >>> s = DiscountedSums(rows=1, cols=1, half_life_s=60.0)
    >>> s.add(np.array([0]), np.array([0]), np.array([1.0]), t=0.0)
    >>> round(float(s.values(now=60.0)[0, 0]), 6)
    0.5
    """

    def __init__(self, rows: int, cols: int, half_life_s: float) -> None:
        if not half_life_s > 0:
            raise ValueError("half_life_s must be positive")
        self.half_life_s = half_life_s
        self._rate = 0.0 if math.isinf(half_life_s) else math.log(2.0) / half_life_s
        self._t_ref: float | None = None
        self._grown = np.zeros((rows, cols), dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self._grown.shape
        return rows, cols

    def grow(self, rows: int) -> None:
        """Add zero rows so that there are ``rows`` of them."""
        extra = rows - self._grown.shape[0]
        if extra > 0:
            pad = np.zeros((extra, self._grown.shape[1]), dtype=np.float64)
            self._grown = np.vstack([self._grown, pad])

    def _weights(self, t: NDArray[np.float64] | float) -> NDArray[np.float64]:
        if self._t_ref is None:
            self._t_ref = float(np.min(t))
        # Writers that never read (a model nobody asks) must not overflow either.
        self._rebase(float(np.max(t)))
        return np.exp(self._rate * (np.asarray(t, dtype=np.float64) - self._t_ref))

    def _rebase(self, now: float) -> None:
        if self._t_ref is None:
            self._t_ref = now
            return
        exponent = self._rate * (now - self._t_ref)
        if exponent > _REBASE_EXPONENT:
            self._grown *= math.exp(-exponent)
            self._t_ref = now

    def add(
        self,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        amounts: NDArray[np.float64],
        t: NDArray[np.float64] | float,
    ) -> None:
        """Add ``amounts`` (may be negative, to correct an earlier event) at time(s) ``t``."""
        if len(rows) == 0:
            return
        weighted = amounts * self._weights(t)
        np.add.at(self._grown, (rows, cols), weighted)

    def values(self, now: float, rows: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
        """The discounted sums at ``now`` (all rows, or the given ones)."""
        self._rebase(now)
        grown = self._grown if rows is None else self._grown[rows]
        if self._t_ref is None or self._rate == 0.0:
            return np.maximum(grown, 0.0)
        return np.maximum(grown * math.exp(-self._rate * (now - self._t_ref)), 0.0)
