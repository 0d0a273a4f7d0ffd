"""How fast to retry: reconnect backoff with jitter, and the pause an SMSC's throttling imposes.

Both are plain arithmetic on an injected clock and random ``Generator``, so tests pin them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.domain.clock import Clock


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with multiplicative jitter: ``min(max_s, min_s * 2**attempt) * (1 ± jitter)``.

    Jitter spreads the reconnects of many channels (or many engine nodes) after an SMSC restart,
    instead of having them all knock at the same instant.

    >>> b = Backoff(0.5, 8.0, jitter=0.0)
    >>> [b.delay(a, np.random.default_rng(0)) for a in range(6)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    """

    min_s: float
    max_s: float
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.min_s <= self.max_s:
            raise ValueError(f"backoff needs 0 < min_s <= max_s, got {self.min_s} and {self.max_s}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"backoff jitter must be in [0, 1), got {self.jitter}")

    def delay(self, attempt: int, rng: np.random.Generator) -> float:
        base = min(self.max_s, self.min_s * 2.0 ** min(attempt, 60))
        return float(base * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


class ThrottlePause:
    """After an SMSC says "throttled" (or "queue full"), no submit is written for a while.

    The pause doubles with every throttle in a row, up to ``max_s``, and the streak ends at the
    first accepted submit: the session slows down to what the SMSC takes instead of hammering it.

    >>> from engine.domain.clock import ManualClock
    >>> clock = ManualClock(0.0)
    >>> pause = ThrottlePause(0.1, 0.3, clock)
    >>> pause.hit(); pause.wait_s()
    0.1
    >>> pause.hit(); pause.hit(); pause.wait_s()
    0.3
    >>> clock.advance(0.3); pause.ok(); pause.wait_s(), pause.streak
    (0.0, 0)
    """

    def __init__(self, base_s: float, max_s: float, clock: Clock) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.clock = clock
        self.streak = 0
        self._until = 0.0

    def hit(self) -> None:
        self.streak += 1
        pause = min(self.max_s, self.base_s * 2.0 ** min(self.streak - 1, 60))
        self._until = max(self._until, self.clock.now() + pause)

    def ok(self) -> None:
        self.streak = 0

    def wait_s(self) -> float:
        return round(max(0.0, self._until - self.clock.now()), 9)
