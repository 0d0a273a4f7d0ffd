"""The gate in front of every channel: TPS limiter with an OTP reserve, window, circuit breaker."""

from __future__ import annotations

import doctest

import pytest

import engine.channels.gate
from engine.channels import CircuitBreaker, TpsLimiter, Window
from engine.domain.channel import CircuitState
from engine.domain.clock import ManualClock
from engine.domain.enums import Lane
from engine.domain.messages import ChannelError

# --- TpsLimiter ---------------------------------------------------------------------------------


def test_limiter_starts_with_a_full_burst_then_refills_at_the_rate() -> None:
    clock = ManualClock()
    limiter = TpsLimiter(100.0, reserve_share=0.0, clock=clock)
    assert limiter.take(Lane.MARKETING, 500) == 100
    assert limiter.take(Lane.MARKETING, 1) == 0
    clock.advance(0.25)
    assert limiter.take(Lane.MARKETING, 500) == 25


def test_limiter_sustains_its_rate_over_time() -> None:
    clock = ManualClock()
    limiter = TpsLimiter(50.0, clock=clock)
    sent = limiter.take(Lane.TRANSACTIONAL, 10_000)
    for _ in range(1000):  # 10 s in 10 ms steps, always asking for more than allowed
        clock.advance(0.01)
        sent += limiter.take(Lane.TRANSACTIONAL, 10_000)
    assert sent == pytest.approx(50 * 10 + 40, abs=1)  # the rate, plus the burst above the reserve


def test_limiter_bucket_never_exceeds_its_capacity() -> None:
    clock = ManualClock()
    limiter = TpsLimiter(10.0, burst_s=2.0, clock=clock)
    clock.advance(3600.0)
    assert limiter.take(Lane.OTP, 1000) == 20


def test_otp_may_use_the_reserve_other_lanes_may_not() -> None:
    limiter = TpsLimiter(100.0, reserve_share=0.2, clock=ManualClock())
    assert limiter.take(Lane.MARKETING, 1000) == 80
    assert limiter.take(Lane.TRANSACTIONAL, 1) == 0
    assert limiter.take(Lane.OTP, 1000) == 20
    assert limiter.take(Lane.OTP, 1) == 0


def test_otp_first_leaves_nothing_for_other_lanes() -> None:
    limiter = TpsLimiter(100.0, clock=ManualClock())
    assert limiter.take(Lane.OTP, 100) == 100
    assert limiter.take(Lane.MARKETING, 1) == 0


def test_wait_s_says_when_the_next_token_is_due_per_lane() -> None:
    clock = ManualClock()
    limiter = TpsLimiter(10.0, reserve_share=0.2, clock=clock)  # capacity 10, reserve 2
    limiter.take(Lane.OTP, 10)
    assert limiter.wait_s(Lane.OTP) == pytest.approx(0.1)
    assert limiter.wait_s(Lane.MARKETING) == pytest.approx(0.3)
    clock.advance(0.3)
    assert limiter.wait_s(Lane.MARKETING) == 0.0
    assert limiter.take(Lane.MARKETING, 5) == 1


def test_a_tiny_rate_still_lets_every_lane_through() -> None:
    clock = ManualClock()
    limiter = TpsLimiter(0.5, reserve_share=0.5, clock=clock)
    assert limiter.take(Lane.MARKETING, 3) == 1
    assert limiter.wait_s(Lane.MARKETING) == pytest.approx(2.0)
    clock.advance(2.0)
    assert limiter.take(Lane.MARKETING, 3) == 1


def test_limiter_ignores_non_positive_requests() -> None:
    limiter = TpsLimiter(10.0, clock=ManualClock())
    assert limiter.take(Lane.OTP, 0) == 0
    assert limiter.take(Lane.OTP, -3) == 0
    assert limiter.tokens == 10.0


@pytest.mark.parametrize(
    "kwargs", [{"tps": 0.0}, {"tps": 10.0, "burst_s": 0.0}, {"tps": 10.0, "reserve_share": 1.0}]
)
def test_limiter_rejects_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        TpsLimiter(**kwargs, clock=ManualClock())


# --- Window -------------------------------------------------------------------------------------


def test_window_caps_in_flight_and_frees_on_release() -> None:
    window = Window(10)
    assert window.acquire(7) == 7
    assert window.acquire(7) == 3
    assert window.acquire(1) == 0
    window.release(4)
    assert (window.in_flight, window.free) == (6, 4)
    assert window.acquire(10) == 4


def test_window_refuses_to_release_what_it_never_lent() -> None:
    window = Window(5)
    window.acquire(2)
    with pytest.raises(ValueError, match="cannot release 3"):
        window.release(3)
    with pytest.raises(ValueError, match="must be >= 1"):
        Window(0)


# --- CircuitBreaker -----------------------------------------------------------------------------


def _state(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state  # a call, so mypy does not narrow the property across the test


def _open_breaker(clock: ManualClock, probes: int = 3) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10.0, half_open_probes=probes, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    return breaker


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=ManualClock())
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()  # resets the streak
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.opened == 1


def test_open_breaker_refuses_until_the_cooldown_ends() -> None:
    clock = ManualClock()
    breaker = _open_breaker(clock)
    assert not breaker.allow()
    clock.advance(9.9)
    assert not breaker.allow()
    assert _state(breaker) is CircuitState.OPEN
    clock.advance(0.1)
    assert _state(breaker) is CircuitState.HALF_OPEN


def test_half_open_lets_only_the_probes_through() -> None:
    clock = ManualClock()
    breaker = _open_breaker(clock, probes=3)
    clock.advance(10.0)
    assert [breaker.allow() for _ in range(5)] == [True, True, True, False, False]


def test_half_open_closes_after_the_probes_succeed() -> None:
    clock = ManualClock()
    breaker = _open_breaker(clock, probes=2)
    clock.advance(10.0)
    assert breaker.permits(10) == 2
    breaker.record_success()
    assert _state(breaker) is CircuitState.HALF_OPEN
    breaker.record_success()
    assert _state(breaker) is CircuitState.CLOSED
    assert breaker.permits(10) == 10


def test_half_open_reopens_on_one_failure_with_a_fresh_cooldown() -> None:
    clock = ManualClock()
    breaker = _open_breaker(clock)
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_success()
    clock.advance(1.0)
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.opened == 2
    clock.advance(9.0)
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow()  # a full new set of probes
    assert breaker.permits(5) == 2


def test_answers_arriving_while_open_change_nothing() -> None:
    clock = ManualClock()
    breaker = _open_breaker(clock)
    for _ in range(5):
        breaker.record_success()
        breaker.record_failure()
    clock.advance(10.0)
    assert _state(breaker) is CircuitState.HALF_OPEN
    assert breaker.opened == 1


def test_throttles_do_not_count_as_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=ManualClock())
    throttled = ChannelError("throttled", "0x00000058", throttled=True)
    for _ in range(10):
        breaker.record(throttled)
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record(ChannelError("rejected", "0x0000000B", permanent=True))
    breaker.record(None)
    breaker.record(ChannelError("timeout", "timeout"))
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record(ChannelError("timeout", "timeout"))
    assert _state(breaker) is CircuitState.OPEN


@pytest.mark.parametrize(
    "kwargs",
    [{"failure_threshold": 0}, {"cooldown_s": -1.0}, {"half_open_probes": 0}],
)
def test_breaker_rejects_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(**kwargs, clock=ManualClock())  # type: ignore[arg-type]


def test_docstring_examples_run() -> None:
    result = doctest.testmod(engine.channels.gate)
    assert result.attempted > 0
    assert result.failed == 0
