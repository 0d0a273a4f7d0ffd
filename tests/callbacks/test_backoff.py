"""The retry schedule: exponential, capped, jitter bounded, and a day long by default."""

from __future__ import annotations

import numpy as np
import pytest

from engine.callbacks.backoff import next_attempt_at, retry_delay, schedule
from engine.callbacks.settings import CallbackSettings


def _delays(settings: CallbackSettings, seed: int, n: int = 20) -> list[float]:
    rng = np.random.default_rng(seed)
    return [retry_delay(k, settings, rng) for k in range(1, n + 1)]


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    s = CallbackSettings(base_s=10.0, cap_s=100.0, jitter=0.0)
    assert _delays(s, 0, 6) == [10.0, 20.0, 40.0, 80.0, 100.0, 100.0]


@pytest.mark.parametrize("seed", range(20))
def test_delays_never_shrink_below_the_cap_and_never_exceed_it(seed: int) -> None:
    s = CallbackSettings(base_s=10.0, cap_s=3600.0, jitter=0.5)
    delays = _delays(s, seed)
    below_cap = [d for k, d in enumerate(delays, 1) if 10.0 * 2 ** (k - 1) < s.cap_s]
    assert below_cap == sorted(below_cap)
    assert max(delays) <= s.cap_s


def test_jitter_is_bounded() -> None:
    s = CallbackSettings(base_s=10.0, cap_s=3600.0, jitter=0.2)
    rng = np.random.default_rng(3)
    for attempt in range(1, 15):
        nominal = min(s.cap_s, s.base_s * 2 ** (attempt - 1))
        samples = np.array([retry_delay(attempt, s, rng) for _ in range(200)])
        assert samples.min() >= nominal * 0.8
        assert samples.max() <= nominal
        assert samples.std() > 0  # and it does spread


def test_same_seed_same_schedule() -> None:
    s = CallbackSettings()
    assert schedule(s, np.random.default_rng(42)) == schedule(s, np.random.default_rng(42))
    assert schedule(s, np.random.default_rng(42)) != schedule(s, np.random.default_rng(43))


def test_gives_up_after_max_age() -> None:
    s = CallbackSettings(base_s=1.0, cap_s=10.0, max_age_s=100.0, jitter=0.0)
    offsets = schedule(s, np.random.default_rng(5))
    assert offsets[:5] == [0.0, 1.0, 3.0, 7.0, 15.0]
    assert offsets[-1] <= s.max_age_s < offsets[-1] + s.cap_s  # one more would be past the max age
    assert next_attempt_at(0.0, 9, 95.0, s, np.random.default_rng(0)) is None
    assert next_attempt_at(0.0, 9, 90.0, s, np.random.default_rng(0)) == 100.0


def test_jittered_schedule_ends_within_max_age() -> None:
    s = CallbackSettings(base_s=1.0, cap_s=10.0, max_age_s=100.0, jitter=0.5)
    for seed in range(10):
        offsets = schedule(s, np.random.default_rng(seed))
        assert offsets[-1] <= s.max_age_s
        assert offsets == sorted(offsets)


def test_defaults_retry_for_hours() -> None:
    offsets = schedule(CallbackSettings(), np.random.default_rng(0))
    assert offsets[-1] > 20 * 3600
    assert 20 < len(offsets) < 60  # hourly once capped, not a flood


def test_huge_attempt_counts_stay_finite() -> None:
    assert retry_delay(10_000, CallbackSettings(jitter=0.0), np.random.default_rng(0)) == 3600.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, CallbackSettings(), np.random.default_rng(0))
