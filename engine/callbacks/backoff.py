"""When to try a failed callback again: exponential from a base, capped, jittered, bounded in age.

The jitter only shortens a delay (by at most half), so delays never exceed the cap and, below the
cap, never shrink from one attempt to the next.
"""

from __future__ import annotations

import numpy as np

from engine.callbacks.settings import CallbackSettings

_MAX_DOUBLINGS = 60  # 2**60 s outlasts any cap; bounds the float power for absurd attempt counts


def retry_delay(attempt: int, settings: CallbackSettings, rng: np.random.Generator) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt (1-based).

    >>> s = CallbackSettings(base_s=10.0, cap_s=60.0, jitter=0.0)
    >>> [retry_delay(n, s, np.random.default_rng(0)) for n in (1, 2, 3, 4, 5)]
    [10.0, 20.0, 40.0, 60.0, 60.0]
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1 (got {attempt})")
    nominal = min(settings.cap_s, settings.base_s * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    return nominal * (1.0 - settings.jitter * float(rng.random()))


def next_attempt_at(
    first_at: float, attempt: int, now: float, settings: CallbackSettings, rng: np.random.Generator
) -> float | None:
    """When to try again after the ``attempt``-th failure at ``now``; None once past the max age."""
    at = now + retry_delay(attempt, settings, rng)
    return None if at - first_at > settings.max_age_s else at


def schedule(settings: CallbackSettings, rng: np.random.Generator) -> list[float]:
    """Every attempt's offset from the first, if each fails at once: the whole life of a delivery.

    >>> fixed = CallbackSettings(base_s=10.0, cap_s=40.0, max_age_s=150.0, jitter=0.0)
    >>> schedule(fixed, np.random.default_rng(0))
    [0.0, 10.0, 30.0, 70.0, 110.0, 150.0]
    """
    offsets = [0.0]
    while (at := next_attempt_at(0.0, len(offsets), offsets[-1], settings, rng)) is not None:
        offsets.append(at)
    return offsets
