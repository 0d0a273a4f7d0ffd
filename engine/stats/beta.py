"""Fast batched Beta sampling for Thompson sampling.

``Generator.beta`` costs about 60 ns a draw here; a router making a million decisions a second over
five candidates cannot afford it. With 30 or more pseudo-observations a Beta is close to a normal
of the same mean and variance, which costs a few ns from a float32 ziggurat; exact draws are kept
for thin evidence, where the Beta's skew is what makes exploration work.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EXACT_BELOW = 30.0


def sample_beta(
    a: NDArray[np.float64], b: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    """One draw per element of ``Beta(a, b)`` (``a, b > 0``), exact where ``a + b`` is small."""
    n = a + b
    mean = a / n
    sd = np.sqrt(mean * (1.0 - mean) / (n + 1.0))
    out: NDArray[np.float64] = mean + sd * rng.standard_normal(a.shape, dtype=np.float32)
    thin = n < EXACT_BELOW
    if thin.any():
        out[thin] = rng.beta(a[thin], b[thin])
    np.clip(out, 0.0, 1.0, out=out)
    return out
