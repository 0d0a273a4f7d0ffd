"""What a channel actor enforces in front of any adapter: a TPS limit, a window, a circuit breaker.

Pure and synchronous, time from an injected clock, so simulations and tests drive them in virtual
time. The actor asks before each submit (``take`` / ``acquire`` / ``allow``) and reports after
(``release`` / ``record_success`` / ``record_failure``).
"""

from __future__ import annotations

import math

from engine.domain.channel import CircuitState
from engine.domain.clock import Clock, SystemClock
from engine.domain.enums import Lane
from engine.domain.messages import ChannelError

_SYSTEM_CLOCK = SystemClock()
_EPS = 1e-9  # float slack so 0.1 s at 10 TPS is one whole token


class TpsLimiter:
    """A token bucket of ``tps * burst_s`` tokens refilled at ``tps``, with a reserve for OTP.

    OTP may take every token; other lanes only those above ``reserve_share`` of the capacity, so a
    marketing burst never leaves an OTP waiting for the bucket to refill. Over time every lane can
    still use the full rate: the reserve is burst room, not a share of the throughput.

    >>> from engine.domain.clock import ManualClock
    >>> limiter = TpsLimiter(10.0, clock=ManualClock())
    >>> limiter.take(Lane.MARKETING, 100), limiter.take(Lane.OTP, 100)
    (8, 2)
    """

    def __init__(
        self, tps: float, burst_s: float = 1.0, reserve_share: float = 0.2, clock: Clock = _SYSTEM_CLOCK
    ) -> None:
        if not tps > 0.0:
            raise ValueError(f"tps must be > 0, got {tps}")
        if not burst_s > 0.0:
            raise ValueError(f"burst_s must be > 0, got {burst_s}")
        if not 0.0 <= reserve_share < 1.0:
            raise ValueError(f"reserve_share must be in [0, 1), got {reserve_share}")
        self.tps = tps
        self.burst_s = burst_s
        self.reserve_share = reserve_share
        self.capacity = max(tps * burst_s, 1.0)  # at least one message can ever pass
        # The reserve never shuts the other lanes out: at least one token stays above it.
        self.reserve = min(reserve_share * self.capacity, self.capacity - 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock.now()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def take(self, lane: Lane, n: int) -> int:
        """Take up to ``n`` tokens for ``lane``; returns how many messages may go now."""
        if n <= 0:
            return 0
        self._refill()
        k = min(n, self._whole(self._tokens - self._floor(lane)))
        self._tokens -= k
        return k

    def wait_s(self, lane: Lane) -> float:
        """Seconds until ``take(lane, 1)`` would return 1 (0.0 if it would now)."""
        self._refill()
        missing = 1.0 + self._floor(lane) - self._tokens
        return 0.0 if missing <= _EPS else missing / self.tps

    def _floor(self, lane: Lane) -> float:
        return 0.0 if lane is Lane.OTP else self.reserve

    @staticmethod
    def _whole(tokens: float) -> int:
        return max(0, math.floor(tokens + _EPS))

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = max(0.0, now - self._at)  # a wall clock may step back; never refund it
        self._tokens = min(self.capacity, self._tokens + elapsed * self.tps)
        self._at = now


class Window:
    """At most ``size`` submits outstanding (sent, not yet answered).

    >>> w = Window(3)
    >>> w.acquire(5), w.free
    (3, 0)
    >>> w.release(2); w.acquire(1)
    1
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def free(self) -> int:
        return self.size - self._in_flight

    def acquire(self, n: int) -> int:
        """Claim up to ``n`` slots; returns how many were claimed."""
        k = max(0, min(n, self.free))
        self._in_flight += k
        return k

    def release(self, n: int) -> None:
        """Return ``n`` slots claimed earlier (answered, failed or timed out)."""
        if n < 0 or n > self._in_flight:
            raise ValueError(f"cannot release {n} slots with {self._in_flight} in flight")
        self._in_flight -= n


class CircuitBreaker:
    """CLOSED -> OPEN after ``failure_threshold`` consecutive failures; OPEN refuses everything for
    ``cooldown_s``; then HALF_OPEN lets ``half_open_probes`` through: as many successes close it,
    one failure opens it again.

    Count only what says the channel is sick: submit errors that are not throttles, and timeouts.
    A throttle means "slower", not "broken" (:meth:`record` applies that rule to a result's error).

    >>> from engine.domain.clock import ManualClock
    >>> clock = ManualClock()
    >>> breaker = CircuitBreaker(failure_threshold=2, cooldown_s=5.0, clock=clock)
    >>> breaker.record_failure(); breaker.record_failure(); breaker.state
    <CircuitState.OPEN: 'open'>
    >>> clock.advance(5.0); breaker.allow(), breaker.state
    (True, <CircuitState.HALF_OPEN: 'half_open'>)
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 10.0,
        half_open_probes: int = 3,
        clock: Clock = _SYSTEM_CLOCK,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if not cooldown_s >= 0.0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        if half_open_probes < 1:
            raise ValueError(f"half_open_probes must be >= 1, got {half_open_probes}")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.half_open_probes = half_open_probes
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0  # consecutive, while CLOSED
        self._opened_at = 0.0
        self._probes_sent = 0
        self._probes_ok = 0
        self.opened = 0  # how many times the circuit opened

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._clock.now() - self._opened_at >= self.cooldown_s:
            self._state = CircuitState.HALF_OPEN
            self._probes_sent = self._probes_ok = 0
        return self._state

    def allow(self) -> bool:
        """Whether one more submit may go now (a probe is used up when HALF_OPEN)."""
        return self.permits(1) == 1

    def permits(self, n: int) -> int:
        """How many of ``n`` submits may go now: all when CLOSED, none when OPEN, the remaining
        probes when HALF_OPEN (they are used up)."""
        state = self.state
        if n <= 0 or state is CircuitState.OPEN:
            return 0
        if state is CircuitState.CLOSED:
            return n
        k = min(n, self.half_open_probes - self._probes_sent)
        self._probes_sent += k
        return k

    def record_success(self) -> None:
        state = self.state
        if state is CircuitState.CLOSED:
            self._failures = 0
        elif state is CircuitState.HALF_OPEN:
            self._probes_ok += 1
            if self._probes_ok >= self.half_open_probes:
                self._state = CircuitState.CLOSED
                self._failures = 0
        # OPEN: a late answer to a submit sent before the circuit opened says nothing new.

    def record_failure(self) -> None:
        state = self.state
        if state is CircuitState.HALF_OPEN:
            self._open()
        elif state is CircuitState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def record(self, error: ChannelError | None) -> None:
        """Record one submit's outcome: success, failure, or nothing for a throttle."""
        if error is None:
            self.record_success()
        elif not error.throttled:
            self.record_failure()

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self._clock.now()
        self._failures = 0
        self.opened += 1
