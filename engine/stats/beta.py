"""Fast batched Beta sampling for Thompson sampling.

``Generator.beta`` costs about 60 ns a draw here; a router making a million decisions a second over
five candidates cannot afford it. With 30 or more pseudo-observations a Beta is close to a normal
of the same mean and variance, which costs a few ns from a float32 ziggurat; exact draws are kept
for thin evidence, where the Beta's skew is what makes exploration work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EXACT_BELOW = 30.0


def sample_beta(
    a: NDArray[np.float64], b: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    """One draw per element of ``Beta(a, b)`` (``a, b > 0``), exact where ``a + b`` is small."""
    cells = np.arange(a.size, dtype=np.int64).reshape(a.shape)
    return BetaPosterior.of(a.ravel(), b.ravel()).sample(cells, rng)


@dataclass(frozen=True)
class BetaPosterior:
    """Per-arm Beta parameters with what sampling needs precomputed once per update.

    >>> post = BetaPosterior.of(np.array([90.0, 1.0]), np.array([10.0, 1.0]))
    >>> post.mean.round(2).tolist()
    [0.9, 0.5]
    """

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]
    thin: NDArray[np.bool_]

    @classmethod
    def of(cls, a: NDArray[np.float64], b: NDArray[np.float64]) -> BetaPosterior:
        n = a + b
        mean = a / n
        return cls(a, b, mean, np.sqrt(mean * (1.0 - mean) / (n + 1.0)), n < EXACT_BELOW)

    def sample(self, arms: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """One draw per element of ``arms``: the same law as :func:`sample_beta`."""
        out: NDArray[np.float64] = self.mean[arms] + self.sd[arms] * rng.standard_normal(
            arms.shape, dtype=np.float32
        )
        thin = self.thin[arms]
        if thin.any():
            picked = arms[thin]
            out[thin] = rng.beta(self.a[picked], self.b[picked])
        np.clip(out, 0.0, 1.0, out=out)
        return out
