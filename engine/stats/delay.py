"""The learned distribution of DLR delay, per route.

Pending-aware learning needs ``F(a)``: the probability that a receipt which will come has come by
age ``a``. Delay is a property of the channel more than of the destination, so one histogram per
route pools the evidence of every context the route serves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.stats.discounted import DiscountedSums


def log_bin_edges(max_delay_s: float, bins: int = 24, min_delay_s: float = 0.5) -> NDArray[np.float64]:
    """Edges ``0, min, ..., max`` spaced evenly in log time: DLR delays span 1 s to hours."""
    inner = np.geomspace(min_delay_s, max_delay_s, bins)
    return np.concatenate([[0.0], inner])


class DelayModel:
    """Discounted histograms of receipt delay with a weak prior; evaluates the CDF at any age.

    The prior (``prior_weight`` observations centred on ``prior_median_s``) keeps ``F`` sensible on a
    route that has not reported yet.
    """

    def __init__(
        self,
        routes: int,
        max_delay_s: float,
        half_life_s: float,
        *,
        prior_median_s: float = 10.0,
        prior_weight: float = 2.0,
    ) -> None:
        self.edges = log_bin_edges(max_delay_s)
        self._hist = DiscountedSums(routes, len(self.edges) - 1, half_life_s)
        prior_bin = int(np.clip(np.searchsorted(self.edges, prior_median_s) - 1, 0, len(self.edges) - 2))
        self._prior = np.zeros(len(self.edges) - 1)
        self._prior[prior_bin] = prior_weight

    def grow(self, routes: int) -> None:
        self._hist.grow(routes)

    def observe(
        self, routes: NDArray[np.int64], delays_s: NDArray[np.float64], t: NDArray[np.float64]
    ) -> None:
        bins = np.clip(np.searchsorted(self.edges, delays_s, side="right") - 1, 0, len(self.edges) - 2)
        self._hist.add(routes, bins.astype(np.int64), np.ones(len(routes)), t)

    def cdf(self, now: float, ages_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """``F[route, j]``: share of receipts that arrive within ``ages_s[j]`` seconds."""
        counts = self._hist.values(now) + self._prior
        cum = np.cumsum(counts, axis=1)
        cum = np.hstack([np.zeros((cum.shape[0], 1)), cum]) / cum[:, -1:]
        # Linear interpolation inside each bin: the same positions for every route.
        ages = np.clip(ages_s, 0.0, self.edges[-1])
        hi = np.clip(np.searchsorted(self.edges, ages, side="right"), 1, len(self.edges) - 1)
        lo = hi - 1
        width = self.edges[hi] - self.edges[lo]
        frac = np.where(width > 0, (ages - self.edges[lo]) / np.where(width > 0, width, 1.0), 1.0)
        result: NDArray[np.float64] = cum[:, lo] * (1.0 - frac) + cum[:, hi] * frac
        return result
