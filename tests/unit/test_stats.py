"""Running statistics: discounted sums, delay CDF, pending ledger, outcome evidence, Beta sampling."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.stats.beta import EXACT_BELOW, sample_beta
from engine.stats.delay import DelayModel, log_bin_edges
from engine.stats.discounted import DiscountedSums
from engine.stats.outcomes import OutcomeStats
from engine.stats.pending import PendingLedger

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def ints(*values: int) -> I64:
    return np.array(values, dtype=np.int64)


def floats(*values: float) -> F64:
    return np.array(values, dtype=np.float64)


# -- DiscountedSums ------------------------------------------------------------------------------


def discounted_reference(
    shape: tuple[int, int], events: tuple[I64, I64, F64, F64], now: float, half_life: float
) -> F64:
    """Direct computation: every event weighted by 0.5 ** (age / half_life), clamped at 0 on read."""
    rows, cols, amounts, times = events
    out = np.zeros(shape)
    np.add.at(out, (rows, cols), amounts * 0.5 ** ((now - times) / half_life))
    return np.maximum(out, 0.0)


def test_discounted_sums_half_a_value_after_one_half_life() -> None:
    s = DiscountedSums(rows=1, cols=1, half_life_s=60.0)
    s.add(ints(0), ints(0), floats(1.0), t=0.0)
    assert s.values(now=60.0)[0, 0] == pytest.approx(0.5)
    assert s.values(now=120.0)[0, 0] == pytest.approx(0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discounted_sums_match_numpy_over_hundreds_of_half_lives(seed: int) -> None:
    rng = np.random.default_rng(seed)
    half_life, shape = 30.0, (4, 2)
    s = DiscountedSums(*shape, half_life_s=half_life)
    rows, cols, amounts, times = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
    now = 0.0
    for _ in range(120):  # about 200 half-lives in all: the reference time is moved many times
        now += float(rng.exponential(50.0))
        n = int(rng.integers(1, 6))
        r, c = rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)
        a = rng.uniform(0.1, 3.0, n)
        t = now - rng.uniform(0.0, 20.0, n)  # events of a batch carry their own (earlier) times
        s.add(r, c, a, t)
        rows, cols = np.r_[rows, r], np.r_[cols, c]
        amounts, times = np.r_[amounts, a], np.r_[times, t]
        if rng.random() < 0.3:  # correct the last event of the batch (a late receipt's take-back)
            s.add(r[-1:], c[-1:], -0.5 * a[-1:], t[-1:])
            rows, cols = np.r_[rows, r[-1:]], np.r_[cols, c[-1:]]
            amounts, times = np.r_[amounts, -0.5 * a[-1:]], np.r_[times, t[-1:]]
        expected = discounted_reference(shape, (rows, cols, amounts, times), now, half_life)
        np.testing.assert_allclose(s.values(now), expected, rtol=1e-9, atol=1e-12)


def test_discounted_sums_adds_far_apart_without_reads_stay_finite() -> None:
    # The doc promises the reference time moves before grown weights overflow; here only add() runs
    # between the events (2000 half-lives apart), as for a histogram nobody reads for weeks.
    s = DiscountedSums(rows=1, cols=1, half_life_s=60.0)
    for t in (0.0, 60_000.0, 120_000.0):
        s.add(ints(0), ints(0), floats(1.0), t=t)
    assert s.values(now=120_000.0)[0, 0] == pytest.approx(1.0)


def test_discounted_sums_negative_total_reads_as_zero_but_is_kept() -> None:
    s = DiscountedSums(rows=1, cols=1, half_life_s=100.0)
    s.add(ints(0), ints(0), floats(1.0), t=0.0)
    s.add(ints(0), ints(0), floats(-2.0), t=0.0)
    assert s.values(now=0.0)[0, 0] == 0.0
    s.add(ints(0), ints(0), floats(3.0), t=0.0)
    assert s.values(now=0.0)[0, 0] == pytest.approx(2.0)


def test_discounted_sums_infinite_half_life_are_plain_sums() -> None:
    s = DiscountedSums(rows=2, cols=2, half_life_s=math.inf)
    s.add(ints(0, 1, 1), ints(0, 1, 1), floats(1.0, 2.0, 3.0), t=floats(0.0, 1e6, 2e9))
    np.testing.assert_array_equal(s.values(now=5e9), [[1.0, 0.0], [0.0, 5.0]])


def test_discounted_sums_values_of_selected_rows() -> None:
    s = DiscountedSums(rows=3, cols=1, half_life_s=10.0)
    s.add(ints(0, 1, 2), ints(0, 0, 0), floats(1.0, 2.0, 4.0), t=0.0)
    np.testing.assert_allclose(s.values(now=10.0, rows=ints(2, 0)), [[2.0], [0.5]])


def test_discounted_sums_grow_keeps_values_and_adds_zero_rows() -> None:
    s = DiscountedSums(rows=2, cols=2, half_life_s=60.0)
    s.add(ints(0, 1), ints(1, 0), floats(1.0, 2.0), t=0.0)
    before = s.values(now=30.0).copy()
    s.grow(4)
    s.grow(3)  # never shrinks
    assert s.shape == (4, 2)
    after = s.values(now=30.0)
    np.testing.assert_allclose(after[:2], before)
    np.testing.assert_array_equal(after[2:], 0.0)
    s.add(ints(3), ints(1), floats(1.0), t=30.0)
    assert s.values(now=30.0)[3, 1] == pytest.approx(1.0)


@pytest.mark.parametrize("half_life", [0.0, -1.0, math.nan])
def test_discounted_sums_reject_non_positive_half_life(half_life: float) -> None:
    with pytest.raises(ValueError, match="half_life_s"):
        DiscountedSums(rows=1, cols=1, half_life_s=half_life)


# -- DelayModel ----------------------------------------------------------------------------------


def test_log_bin_edges_start_at_zero_and_span_min_to_max() -> None:
    edges = log_bin_edges(900.0, bins=24, min_delay_s=0.5)
    assert len(edges) == 25
    assert edges[0] == 0.0
    assert edges[1] == pytest.approx(0.5)
    assert edges[-1] == pytest.approx(900.0)
    ratios = edges[2:] / edges[1:-1]
    np.testing.assert_allclose(ratios, ratios[0])


def trained_delay_model(n: int = 20_000) -> tuple[DelayModel, F64]:
    """Route 0 observes lognormal delays (median 8 s); route 1 has only the prior."""
    model = DelayModel(routes=2, max_delay_s=900.0, half_life_s=math.inf)
    delays = np.random.default_rng(3).lognormal(math.log(8.0), 1.0, n)
    model.observe(np.zeros(n, np.int64), delays, np.zeros(n))
    return model, delays


def test_delay_cdf_is_a_cdf_for_trained_and_prior_only_routes() -> None:
    model, _ = trained_delay_model(2_000)
    ages = np.linspace(0.0, 1200.0, 500)
    f = model.cdf(now=0.0, ages_s=ages)
    assert f.shape == (2, len(ages))
    assert (np.diff(f, axis=1) >= -1e-12).all()
    assert ((f >= 0.0) & (f <= 1.0 + 1e-12)).all()
    np.testing.assert_allclose(f[:, 0], 0.0)
    np.testing.assert_allclose(model.cdf(now=0.0, ages_s=floats(900.0, 5000.0)), 1.0)


def test_delay_cdf_equals_empirical_cdf_at_bin_edges() -> None:
    model, delays = trained_delay_model()
    edges = model.edges[1:-1]
    ecdf = (delays[:, None] < edges[None, :]).mean(axis=0)
    prior_share = 2.0 / len(delays)  # prior_weight observations next to n real ones
    np.testing.assert_allclose(model.cdf(0.0, edges)[0], ecdf, atol=2 * prior_share)


def test_delay_cdf_inside_a_bin_is_within_that_bins_mass() -> None:
    model, delays = trained_delay_model()
    ages = floats(1.3, 4.2, 9.0, 17.0, 55.0, 210.0)
    ecdf = (delays[:, None] <= ages[None, :]).mean(axis=0)
    hi = np.searchsorted(model.edges, ages, side="right")
    lo_edge, hi_edge = model.edges[hi - 1], model.edges[hi]
    bin_mass = ((delays[:, None] >= lo_edge) & (delays[:, None] < hi_edge)).mean(axis=0)
    error = np.abs(model.cdf(0.0, ages)[0] - ecdf)
    assert (error <= bin_mass + 1e-3).all()


def test_delay_cdf_forgets_old_delays() -> None:
    model = DelayModel(routes=1, max_delay_s=900.0, half_life_s=60.0)
    n = 1_000
    model.observe(np.zeros(n, np.int64), np.full(n, 1.0), np.zeros(n))  # fast, long ago
    model.observe(np.zeros(n, np.int64), np.full(n, 100.0), np.full(n, 600.0))  # slow, now
    assert model.cdf(now=600.0, ages_s=floats(5.0))[0, 0] < 0.01


def test_delay_cdf_prior_only_route_centres_on_prior_median() -> None:
    model = DelayModel(routes=1, max_delay_s=900.0, half_life_s=math.inf, prior_median_s=10.0)
    f = model.cdf(now=0.0, ages_s=floats(5.0, 20.0))[0]
    assert f[0] == pytest.approx(0.0)
    assert f[1] == pytest.approx(1.0)


def test_delay_model_grow_adds_prior_only_routes() -> None:
    model, _ = trained_delay_model(1_000)
    before = model.cdf(0.0, floats(3.0, 30.0))
    model.grow(3)
    after = model.cdf(0.0, floats(3.0, 30.0))
    assert after.shape == (3, 2)
    np.testing.assert_allclose(after[:2], before)
    np.testing.assert_allclose(after[2], after[1])


# -- PendingLedger -------------------------------------------------------------------------------


def ledger_with_slot_zero() -> PendingLedger:
    """timeout 60 s in 5 s slots; in slot 0, arm 0 sent 3 (1 reported) and arm 1 sent 2 (none)."""
    ledger = PendingLedger(arms=2, timeout_s=60.0, slot_s=5.0)
    ledger.advance(0.0)
    assert ledger.submit(ints(0, 0, 0, 1, 1), floats(0.0, 1.0, 4.5, 2.0, 3.0)).all()
    assert ledger.resolve(ints(0), floats(1.0)).tolist() == [True]
    return ledger


def test_pending_submits_are_in_flight_until_resolved() -> None:
    ledger = ledger_with_slot_zero()
    np.testing.assert_array_equal(ledger.in_flight(), [2.0, 2.0])
    ledger.advance(30.0)
    assert ledger.resolve(ints(1, 1), floats(2.0, 3.0)).tolist() == [True, True]
    np.testing.assert_array_equal(ledger.in_flight(), [2.0, 0.0])


def test_pending_advance_before_timeout_expires_nothing() -> None:
    ledger = ledger_with_slot_zero()
    assert len(ledger.advance(59.9).arm) == 0
    np.testing.assert_array_equal(ledger.in_flight(), [2.0, 2.0])


def test_pending_advance_past_timeout_returns_the_slot_once() -> None:
    ledger = ledger_with_slot_zero()
    gone = ledger.advance(60.0)
    order = np.argsort(gone.arm)
    np.testing.assert_array_equal(gone.arm[order], [0, 1])
    np.testing.assert_array_equal(gone.silent[order], [2.0, 2.0])
    np.testing.assert_array_equal(gone.sent[order], [3.0, 2.0])
    # Every message of the slot (submitted in [0, 5)) has reached the timeout by ``at``.
    np.testing.assert_array_equal(gone.at, ledger.expired_at(floats(0.0, 4.5)))
    assert (gone.at >= 4.5 + 60.0).all()
    assert (gone.at <= 60.0 + ledger.slot_s).all()
    np.testing.assert_array_equal(ledger.in_flight(), [0.0, 0.0])
    assert len(ledger.advance(200.0).arm) == 0


def test_pending_resolve_after_expiry_is_false_and_spares_the_reused_slot() -> None:
    ledger = ledger_with_slot_zero()
    ledger.advance(61.0)
    assert ledger.submit(ints(0), floats(61.0)).all()  # slot 12 reuses slot 0's ring position
    assert ledger.resolve(ints(0, 1), floats(4.5, 2.0)).tolist() == [False, False]
    np.testing.assert_array_equal(ledger.in_flight(), [1.0, 0.0])


def test_pending_submit_older_than_the_window_is_not_recorded() -> None:
    ledger = PendingLedger(arms=1, timeout_s=60.0, slot_s=5.0)
    ledger.advance(100.0)
    assert ledger.submit(ints(0, 0), floats(10.0, 99.0)).tolist() == [False, True]
    np.testing.assert_array_equal(ledger.in_flight(), [1.0])


def test_pending_resolve_of_unknown_message_never_goes_negative() -> None:
    ledger = PendingLedger(arms=1, timeout_s=60.0, slot_s=5.0)
    ledger.advance(0.0)
    ledger.resolve(ints(0, 0), floats(1.0, 1.0))
    np.testing.assert_array_equal(ledger.in_flight(), [0.0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pending_every_message_is_resolved_or_expired_exactly_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ledger = PendingLedger(arms=3, timeout_s=40.0, slot_s=4.0)
    slots = math.ceil(40.0 / 4.0)
    sent_arm: list[int] = []
    sent_at: list[float] = []
    open_ids: list[int] = []
    resolved = np.zeros(3)
    expired_sent, expired_silent = np.zeros(3), np.zeros(3)
    now = 0.0
    for _ in range(300):
        now += float(rng.choice([0.0, 0.7, 3.0, 13.0, 70.0], p=[0.1, 0.4, 0.3, 0.15, 0.05]))
        gone = ledger.advance(now)
        np.add.at(expired_sent, gone.arm, gone.sent)
        np.add.at(expired_silent, gone.arm, gone.silent)
        n = int(rng.integers(0, 4))
        arms = rng.integers(0, 3, n)
        assert ledger.submit(arms, np.full(n, now)).all()
        open_ids += range(len(sent_arm), len(sent_arm) + n)
        sent_arm += arms.tolist()
        sent_at += [now] * n
        if open_ids and rng.random() < 0.5:
            i = open_ids.pop(int(rng.integers(len(open_ids))))
            live = ledger.resolve(ints(sent_arm[i]), floats(sent_at[i]))
            in_window = math.floor(sent_at[i] / 4.0) > math.floor(now / 4.0) - slots
            assert bool(live[0]) == in_window
            resolved[sent_arm[i]] += float(live[0])
    gone = ledger.advance(now + 100.0)
    np.add.at(expired_sent, gone.arm, gone.sent)
    np.add.at(expired_silent, gone.arm, gone.silent)
    submitted = np.bincount(sent_arm, minlength=3)
    np.testing.assert_array_equal(expired_sent, submitted)
    np.testing.assert_array_equal(expired_silent, submitted - resolved)
    np.testing.assert_array_equal(ledger.in_flight(), 0.0)


def constant_normal(shares: list[float]) -> Callable[[F64], F64]:
    def normal(ages: F64) -> F64:
        return np.asarray(shares)[:, None] * np.ones_like(ages)[None, :]

    return normal


def test_pending_mass_is_zero_for_normal_silence_and_n_for_a_black_hole() -> None:
    ledger = PendingLedger(arms=2, timeout_s=60.0, slot_s=5.0)
    ledger.advance(0.0)
    ledger.submit(ints(*[0] * 20, *[1] * 20), np.zeros(40))
    ledger.resolve(np.zeros(15, np.int64), np.zeros(15))  # arm 0: 5 of 20 silent, as is normal
    ledger.advance(30.0)
    mass = ledger.mass(30.0, constant_normal([0.25, 0.0]))[0]
    np.testing.assert_allclose(mass, [0.0, 20.0])


def test_pending_mass_counts_only_excess_per_slot() -> None:
    ledger = PendingLedger(arms=1, timeout_s=60.0, slot_s=5.0)
    ledger.advance(0.0)
    ledger.submit(np.zeros(10, np.int64), np.zeros(10))  # slot 0: 10 silent
    ledger.advance(5.0)
    ledger.submit(np.zeros(10, np.int64), np.full(10, 5.0))  # slot 1: 10 sent, 10 reported
    ledger.resolve(np.zeros(10, np.int64), np.full(10, 5.0))
    # Slot 0 has 10 - 10 * 0.5 = 5 silent too many; slot 1's deficit must not cancel them.
    np.testing.assert_allclose(ledger.mass(6.0, constant_normal([0.5]))[0], [5.0])


def test_pending_mass_passes_the_age_of_each_ring_position() -> None:
    ledger = PendingLedger(arms=1, timeout_s=60.0, slot_s=5.0)
    ledger.advance(32.0)  # head slot 6
    seen: list[F64] = []

    def normal(ages: F64) -> F64:
        seen.append(ages.copy())
        return np.zeros((1, len(ages)))

    ledger.mass(32.0, normal)
    ages = seen[0]
    assert ages.shape == (12,)
    assert ages[6] == 0.0  # the current slot's centre (32.5 s) is in the future
    assert ages[5] == pytest.approx(32.0 - 27.5)
    assert ages[0] == pytest.approx(32.0 - 2.5)
    assert ages[7] == pytest.approx(32.0 - (-5 + 0.5) * 5.0)  # oldest slot of the window


@pytest.mark.parametrize("seed", [0, 1])
def test_pending_mass_follows_submits_and_receipts_within_a_slot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shares = [0.1, 0.3, 0.6]
    normal = constant_normal(shares)
    ledger = PendingLedger(arms=3, timeout_s=50.0, slot_s=5.0)
    silent, sent = np.zeros((3, 1000)), np.zeros((3, 1000))  # by absolute slot
    now = 0.0
    for _ in range(200):
        now += float(rng.choice([0.0, 1.0, 4.0]))
        ledger.advance(now)
        head = math.floor(now / 5.0)
        arms = rng.integers(0, 3, int(rng.integers(0, 5)))
        ledger.submit(arms, np.full(len(arms), now))
        cells = (arms, np.full(len(arms), head))
        np.add.at(silent, cells, 1.0)
        np.add.at(sent, cells, 1.0)
        window = np.arange(max(head - 9, 0), head + 1)
        if rng.random() < 0.6:  # a receipt for some silent message still in the window
            arm, slot = int(rng.integers(3)), int(rng.choice(window))
            if silent[arm, slot] > 0:
                ledger.resolve(ints(arm), floats(slot * 5.0 + 0.1))
                silent[arm, slot] -= 1.0
        expected = np.maximum(silent[:, window] - sent[:, window] * np.array(shares)[:, None], 0.0)
        np.testing.assert_allclose(ledger.mass(now, normal)[0], expected.sum(axis=1), atol=1e-9)


def test_pending_ledger_grow_and_validation() -> None:
    ledger = ledger_with_slot_zero()
    ledger.grow(3)
    np.testing.assert_array_equal(ledger.in_flight(), [2.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="positive"):
        PendingLedger(arms=1, timeout_s=0.0)
    with pytest.raises(ValueError, match="positive"):
        PendingLedger(arms=1, timeout_s=60.0, slot_s=0.0)


# -- OutcomeStats --------------------------------------------------------------------------------


def receipts(now: float, kind: FeedbackKind, arms: I64, submitted_at: F64) -> FeedbackBatch:
    kinds = np.full(len(arms), kind, dtype=np.int64)
    return FeedbackBatch(now, kinds, arms, submitted_at, np.full(len(arms), now))


def means(stats: OutcomeStats, now: float, arm_route: I64) -> F64:
    a, b = stats.posterior(now, arm_route)
    result: F64 = a / (a + b)
    return result


TWO_ROUTES = ints(0, 1)


@pytest.mark.parametrize(
    ("half_life", "fast_half_life"),
    [(math.inf, None), (1800.0, 120.0)],
    ids=["defaults", "discounted-with-detector"],
)
def test_outcomes_black_hole_ranks_far_below_its_reporting_twin(
    half_life: float, fast_half_life: float | None
) -> None:
    stats = OutcomeStats(2, 2, pending=True, half_life_s=half_life, fast_half_life_s=fast_half_life)
    for t in range(0, 121):
        parts = [FeedbackBatch.submitted(float(t), ints(0, 0, 0, 1, 1, 1))]
        if t >= 10:  # arm 0 reports every message 10 s later; arm 1 never reports
            parts.append(receipts(float(t), FeedbackKind.DELIVERED, ints(0, 0, 0), np.full(3, t - 10.0)))
        stats.update(FeedbackBatch.concat(float(t), parts), TWO_ROUTES)
    m = means(stats, 120.0, TWO_ROUTES)
    assert m[0] > 0.9
    assert m[1] < 0.2


def test_outcomes_change_detector_drops_a_route_that_dies_after_an_hour() -> None:
    stats = OutcomeStats(2, 2, pending=True, half_life_s=7200.0, fast_half_life_s=120.0)
    for t in range(0, 3600 + 120, 5):
        parts = [FeedbackBatch.submitted(float(t), ints(*[0] * 5, *[1] * 5))]
        if t >= 10:  # from 3600 s on, arm 1 swallows everything
            arms = ints(*[0] * 5) if t - 10 >= 3600 else ints(*[0] * 5, *[1] * 5)
            parts.append(receipts(float(t), FeedbackKind.DELIVERED, arms, np.full(len(arms), t - 10.0)))
        stats.update(FeedbackBatch.concat(float(t), parts), TWO_ROUTES)
        if t % 60 == 0:
            stats.posterior(float(t), TWO_ROUTES)  # as a router reads it
    m = means(stats, 3600.0 + 120.0, TWO_ROUTES)
    assert m[0] > 0.95
    assert m[1] < 0.6


def feed_silent_share_hour(stats: OutcomeStats) -> float:
    """Both arms deliver 90 %; arm 1 never reports 1 message in 20. Receipts come after 10 s.

    Returns the time after every slot has timed out.
    """
    per_tick, end = 20, 3600
    for t in range(0, end + 15, 5):
        parts: list[FeedbackBatch] = []
        if t <= end:
            parts.append(FeedbackBatch.submitted(float(t), np.repeat(TWO_ROUTES, per_tick)))
        if 10 <= t <= end + 10:
            i = np.arange(per_tick)
            for arm in (0, 1):
                undelivered, unreported = i < 2, (i == 2) & (arm == 1)
                delivered = ~undelivered & ~unreported
                for kind, mask in (
                    (FeedbackKind.DELIVERED, delivered),
                    (FeedbackKind.UNDELIVERED, undelivered),
                ):
                    n = int(mask.sum())
                    parts.append(receipts(float(t), kind, np.full(n, arm), np.full(n, t - 10.0)))
        stats.update(FeedbackBatch.concat(float(t), parts), TWO_ROUTES)
        if t % 60 == 0:
            stats.posterior(float(t), TWO_ROUTES)
    return end + 900.0 + 20.0


def test_outcomes_normal_silence_is_not_punished() -> None:
    pending = OutcomeStats(2, 2, pending=True)
    reported = OutcomeStats(2, 2, pending=False)
    after = feed_silent_share_hour(pending)
    feed_silent_share_hour(reported)
    m, r = means(pending, after, TWO_ROUTES), means(reported, after, TWO_ROUTES)
    # Counting the unreported 5 % as failures would give arm 1 a mean of 0.85.
    assert abs(m[0] - m[1]) < 0.015
    # The share-of-reported view of the same data: 0.90 and 17/19 = 0.895.
    np.testing.assert_allclose(r, [0.9, 17 / 19], atol=0.002)
    np.testing.assert_allclose(m, r, atol=0.01)
    np.testing.assert_array_equal(pending.in_flight(), 0.0)


def test_outcomes_learn_a_routes_normal_silence_from_timeouts() -> None:
    stats = OutcomeStats(2, 2, pending=True)
    after = feed_silent_share_hour(stats)
    np.testing.assert_allclose(stats.normal_silence(after), [0.0, 0.05], atol=0.005)


def timed_out(now: float) -> OutcomeStats:
    """One arm whose 10 messages submitted at 0 timed out silent by ``now``."""
    stats = OutcomeStats(1, 1, pending=True)
    stats.update(FeedbackBatch.submitted(0.0, ints(*[0] * 10)), ints(0))
    stats.posterior(now, ints(0))
    return stats


def test_outcomes_late_delivered_receipt_takes_the_timeout_failure_back() -> None:
    now = 1000.0
    with_late, without = timed_out(now), timed_out(now)
    a0, b0 = without.posterior(now, ints(0))
    assert b0[0] > 9.0  # the silence became failures at the timeout
    share = 1.0 - without.normal_silence(now)[0]
    with_late.update(receipts(now, FeedbackKind.DELIVERED, ints(0), floats(0.0)), ints(0))
    a1, b1 = with_late.posterior(now, ints(0))
    assert a1[0] == pytest.approx(a0[0] + 1.0)
    assert b1[0] == pytest.approx(b0[0] - share)
    assert means(with_late, now, ints(0))[0] > means(without, now, ints(0))[0]


@pytest.mark.parametrize("pending", [True, False])
def test_outcomes_failed_submit_is_a_failure_at_once(pending: bool) -> None:
    stats = OutcomeStats(2, 2, pending=pending)
    fb = FeedbackBatch(5.0, ints(FeedbackKind.FAILED), ints(1), floats(5.0), floats(5.0))
    stats.update(fb, TWO_ROUTES)
    a, b = stats.posterior(5.0, TWO_ROUTES)
    np.testing.assert_array_equal(a, [1.0, 1.0])
    np.testing.assert_array_equal(b, [1.0, 2.0])
    np.testing.assert_array_equal(stats.in_flight(), [0.0, 0.0])


@pytest.mark.parametrize("pending", [True, False])
def test_outcomes_count_delivered_and_undelivered_receipts(pending: bool) -> None:
    stats = OutcomeStats(2, 2, pending=pending)
    stats.update(FeedbackBatch.submitted(0.0, ints(0, 0, 0, 1)), TWO_ROUTES)
    stats.update(receipts(3.0, FeedbackKind.DELIVERED, ints(0, 0), floats(0.0, 0.0)), TWO_ROUTES)
    stats.update(receipts(3.0, FeedbackKind.UNDELIVERED, ints(0, 1), floats(0.0, 0.0)), TWO_ROUTES)
    a, b = stats.posterior(3.0, TWO_ROUTES)
    np.testing.assert_array_equal(a, [3.0, 1.0])
    np.testing.assert_array_equal(b, [2.0, 2.0])


def test_outcomes_without_pending_ignore_submits() -> None:
    stats = OutcomeStats(2, 2, pending=False)
    stats.update(FeedbackBatch.submitted(0.0, ints(*[1] * 100)), TWO_ROUTES)
    a, b = stats.posterior(5000.0, TWO_ROUTES)
    np.testing.assert_array_equal(a, [1.0, 1.0])
    np.testing.assert_array_equal(b, [1.0, 1.0])
    np.testing.assert_array_equal(stats.in_flight(), [0.0, 0.0])


def test_outcomes_grow_adds_arms_with_the_prior() -> None:
    stats = OutcomeStats(1, 1, pending=True)
    stats.update(receipts(1.0, FeedbackKind.DELIVERED, ints(0), floats(0.0)), ints(0))
    stats.grow(3, 2)
    a, b = stats.posterior(1.0, ints(0, 1, 1))
    np.testing.assert_array_equal(a, [2.0, 1.0, 1.0])
    np.testing.assert_array_equal(b, [1.0, 1.0, 1.0])


# -- sample_beta ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"), [(2.0, 3.0), (0.5, 0.5), (1.0, 12.0), (12.0, 20.0), (40.0, 60.0), (900.0, 100.0)]
)
def test_sample_beta_moments_match_the_beta_formulas(a: float, b: float) -> None:
    n = 200_000
    draws = sample_beta(np.full(n, a), np.full(n, b), np.random.default_rng(11))
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert draws.mean() == pytest.approx(mean, abs=6 * math.sqrt(var / n))
    # 1.5 %: several standard errors, yet below the 3 % a Beta(12, 20) with a + b for a + b + 1 misses.
    assert draws.var() == pytest.approx(var, rel=0.015)


def test_sample_beta_mixed_thin_and_thick_elements() -> None:
    a = np.tile(floats(2.0, 45.0), (50_000, 1))
    b = np.tile(floats(3.0, 15.0), (50_000, 1))
    assert (a[0] + b[0] < EXACT_BELOW).tolist() == [True, False]
    draws = sample_beta(a, b, np.random.default_rng(5))
    assert draws.shape == a.shape
    np.testing.assert_allclose(draws.mean(axis=0), [0.4, 0.75], atol=0.003)


def test_sample_beta_stays_in_unit_interval_and_keeps_shape() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0.05, 2000.0, (64, 7))
    b = rng.uniform(0.05, 2000.0, (64, 7))
    a[0, :], b[0, :] = 1e6, 0.5  # means at the edge, where the normal approximation overshoots
    draws = sample_beta(a, b, rng)
    assert draws.shape == (64, 7)
    assert draws.dtype == np.float64
    assert ((draws >= 0.0) & (draws <= 1.0)).all()


def test_sample_beta_same_seed_same_draws() -> None:
    a, b = floats(2.0, 50.0, 0.7), floats(3.0, 20.0, 400.0)
    first = sample_beta(a, b, np.random.default_rng(42))
    again = sample_beta(a, b, np.random.default_rng(42))
    other = sample_beta(a, b, np.random.default_rng(43))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_pending_silence_fades_with_the_age_of_the_messages() -> None:
    ledger = PendingLedger(arms=1, timeout_s=600.0, slot_s=5.0)
    ledger.advance(0.0)
    ledger.submit(np.array([0] * 10), np.zeros(10))
    ledger.advance(120.0)
    kept, faded = ledger.mass(120.0, lambda ages: np.zeros((1, len(ages))), (math.inf, 60.0))
    assert kept[0] == pytest.approx(10.0)
    assert faded[0] == pytest.approx(10.0 * 2.0 ** (-117.5 / 60.0))
