"""Per-tenant token buckets, in the worker's memory: no Redis round trip on the hot path.

With N workers a tenant gets up to N times the rate at most; the limit exists to keep one tenant
from starving the others, and that holds per worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.clock import Clock


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate_per_s: float, clock: Clock, burst_s: float = 1.0) -> None:
        self.rate = rate_per_s
        self.capacity = rate_per_s * burst_s
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, tenant: str, cost: int = 1) -> float:
        """0 if ``cost`` messages may go now; otherwise the seconds to wait before retrying."""
        now = self.clock.now()
        bucket = self._buckets.setdefault(tenant, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if cost > self.capacity:  # a batch larger than a second's budget waits for a full bucket
            cost = int(self.capacity)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate
