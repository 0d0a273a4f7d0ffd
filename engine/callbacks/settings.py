"""How callbacks are retried and how many go out at once: validated once, then passed down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """Retry schedule and delivery limits.

    After the n-th failed attempt the next one waits ``min(cap_s, base_s * 2**(n-1))`` shortened by
    up to ``jitter`` of itself (so retries of many events failing together spread out); once the
    next attempt would fall later than ``max_age_s`` after the first, the delivery is dead-lettered.

    >>> CallbackSettings(base_s=1.0, cap_s=60.0).cap_s
    60.0
    >>> CallbackSettings(jitter=0.9)
    Traceback (most recent call last):
    ...
    ValueError: jitter must be within [0, 0.5] (got 0.9)
    """

    base_s: float = 10.0
    cap_s: float = 3600.0
    max_age_s: float = 86_400.0  # retried for a day, like Stripe's and GitHub's webhooks
    jitter: float = 0.2
    timeout_s: float = 5.0  # whole attempt: connect, send, status line
    concurrency: int = 64  # attempts in flight, all hosts together
    per_host: int = 8  # attempts in flight to one host: a slow customer cannot take every slot
    read_count: int = 100  # stream entries (and due retries) taken per round
    poll_s: float = 0.2  # pause between rounds of the run loop
    # Callbacks to loopback, private, link-local or reserved addresses are refused by default: a
    # customer's URL must not reach our own network (SSRF). Tests and one-machine demos allow them.
    allow_private: bool = False

    def __post_init__(self) -> None:
        for name in ("base_s", "cap_s", "max_age_s", "timeout_s", "poll_s"):
            value = getattr(self, name)
            if not value > 0:  # also rejects NaN
                raise ValueError(f"{name} must be > 0 (got {value})")
        if self.cap_s < self.base_s:
            raise ValueError(f"cap_s ({self.cap_s}) must be >= base_s ({self.base_s})")
        # At most one half keeps the schedule monotone: the next nominal delay is twice this one.
        if not 0.0 <= self.jitter <= 0.5:
            raise ValueError(f"jitter must be within [0, 0.5] (got {self.jitter})")
        for name in ("concurrency", "per_host", "read_count"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1 (got {value!r})")

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery stays hidden from other rounds: past any attempt's end, so
        a delivery is retried only if its worker died mid-attempt."""
        return 2 * self.timeout_s + 5.0
