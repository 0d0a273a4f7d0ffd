"""TPS budgets and the capacity-aware fill."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from engine.policies.capacity import TokenBuckets, fill, rank_within

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
NEG = -math.inf
OTP, MARKETING = 0, 2


def ints(*values: int) -> I64:
    return np.array(values, dtype=np.int64)


def floats(*values: float) -> F64:
    return np.array(values, dtype=np.float64)


# -- TokenBuckets --------------------------------------------------------------------------------


def test_buckets_start_full() -> None:
    buckets = TokenBuckets(window_s=2.0)
    np.testing.assert_array_equal(buckets.refill(0.0, floats(10.0, 3.0)), [20.0, 6.0])


def test_buckets_refill_at_tps_up_to_the_window() -> None:
    buckets = TokenBuckets(window_s=2.0)
    buckets.refill(0.0, floats(10.0, 3.0))
    buckets.consume(ints(*[0] * 15, 1, 1, 1, 1, 1, 1))
    np.testing.assert_allclose(buckets.refill(0.5, floats(10.0, 3.0)), [10.0, 1.5])
    np.testing.assert_allclose(buckets.refill(10.0, floats(10.0, 3.0)), [20.0, 6.0])


def test_buckets_go_negative_on_overflow_and_work_the_debt_off() -> None:
    buckets = TokenBuckets(window_s=1.0)
    buckets.refill(0.0, floats(4.0))
    buckets.consume(ints(*[0] * 10))
    np.testing.assert_allclose(buckets.refill(0.0, floats(4.0)), [-6.0])
    np.testing.assert_allclose(buckets.refill(1.0, floats(4.0)), [-2.0])
    np.testing.assert_allclose(buckets.refill(3.0, floats(4.0)), [4.0])


def test_buckets_ignore_time_going_backwards() -> None:
    buckets = TokenBuckets(window_s=1.0)
    buckets.refill(10.0, floats(4.0))
    buckets.consume(ints(0, 0, 0, 0))
    np.testing.assert_allclose(buckets.refill(5.0, floats(4.0)), [0.0])
    np.testing.assert_allclose(buckets.refill(10.5, floats(4.0)), [2.0])


def test_buckets_new_arms_start_full_and_lower_tps_caps_at_once() -> None:
    buckets = TokenBuckets(window_s=1.0)
    buckets.refill(0.0, floats(4.0))
    buckets.consume(ints(0))
    np.testing.assert_allclose(buckets.refill(0.0, floats(4.0, 7.0)), [3.0, 7.0])
    np.testing.assert_allclose(buckets.refill(0.0, floats(2.0, 7.0)), [2.0, 7.0])


@given(
    steps=st.lists(
        st.tuples(st.floats(0.0, 3.0), st.lists(st.integers(0, 2), max_size=12)), min_size=1, max_size=20
    )
)
def test_buckets_match_a_scalar_reference(steps: list[tuple[float, list[int]]]) -> None:
    tps, window = floats(2.0, 5.0, 0.5), 1.5
    buckets = TokenBuckets(window_s=window)
    reference = list(tps * window)
    now = 0.0
    buckets.refill(now, tps)
    for dt, used in steps:
        now += dt
        for i in range(3):
            reference[i] = min(reference[i] + tps[i] * dt, tps[i] * window)
        np.testing.assert_allclose(buckets.refill(now, tps), reference, atol=1e-9)
        buckets.consume(np.array(used, dtype=np.int64))
        for arm in used:
            reference[arm] -= 1.0


@pytest.mark.parametrize("window", [0.0, -1.0])
def test_buckets_reject_non_positive_window(window: float) -> None:
    with pytest.raises(ValueError, match="window_s"):
        TokenBuckets(window_s=window)


# -- rank_within ---------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=30))
def test_rank_within_matches_a_sort_per_group(pairs: list[tuple[int, int]]) -> None:
    groups = np.array([g for g, _ in pairs], dtype=np.int64)
    priority = np.array([p for _, p in pairs], dtype=np.int64)
    expected = []
    for i, (g, p) in enumerate(pairs):
        # Ahead of i in its group: higher priority (lower value), or equal priority and earlier.
        expected.append(sum(1 for j, (h, q) in enumerate(pairs) if h == g and (q < p or (q == p and j < i))))
    assert rank_within(groups, priority).tolist() == expected


# -- fill ----------------------------------------------------------------------------------------


def fill_reference(scores: F64, arms: I64, lanes: I64, tokens: F64) -> list[int]:
    """The documented rule in plain Python.

    Lanes strictly in priority order; within a lane, round r offers every still-waiting request
    (in index order) its r-th best candidate; a request left without budget keeps its best one.
    """
    n, k = scores.shape
    order = [sorted(range(k), key=lambda c: -scores[i, c]) for i in range(n)]  # stable: ties by column
    left = [math.floor(max(t, 0.0)) for t in tokens]
    chosen = [row[0] for row in order]
    for lane in sorted(set(lanes.tolist())):
        waiting = [i for i in range(n) if lanes[i] == lane]
        for r in range(k):
            still = []
            for i in waiting:
                col = order[i][r]
                if not math.isfinite(scores[i, col]):
                    continue
                arm = int(arms[i, col])
                if left[arm] >= 1:
                    left[arm] -= 1
                    chosen[i] = col
                else:
                    still.append(i)
            waiting = still
    return chosen


@st.composite
def fill_inputs(draw: st.DrawFn) -> tuple[F64, I64, I64, F64]:
    n_arms = draw(st.integers(2, 4))
    n = draw(st.integers(1, 14))
    k = draw(st.integers(1, n_arms))
    arms = np.array([draw(st.permutations(range(n_arms)))[:k] for _ in range(n)], dtype=np.int64)
    values = st.sampled_from([NEG, 0.1, 0.2, 0.5, 0.7, 0.9])
    scores = np.array([[draw(values) for _ in range(k)] for _ in range(n)], dtype=np.float64)
    lanes = np.array([draw(st.integers(0, 2)) for _ in range(n)], dtype=np.int64)
    tokens = np.array([draw(st.sampled_from([-2.0, 0.0, 0.5, 1.0, 1.7, 3.0])) for _ in range(n_arms)])
    return scores, arms, lanes, tokens


@settings(max_examples=200)
@given(fill_inputs())
def test_fill_matches_the_documented_rule(case: tuple[F64, I64, I64, F64]) -> None:
    scores, arms, lanes, tokens = case
    assert fill(scores, arms, lanes, tokens).tolist() == fill_reference(scores, arms, lanes, tokens)


@settings(max_examples=200)
@given(fill_inputs())
def test_fill_keeps_within_budget_unless_every_option_is_full(case: tuple[F64, I64, I64, F64]) -> None:
    scores, arms, lanes, tokens = case
    n = len(scores)
    chosen = fill(scores, arms, lanes, tokens)
    got = arms[np.arange(n), chosen]
    left = np.floor(np.maximum(tokens, 0.0))
    used = np.bincount(got, minlength=len(tokens))
    valid = np.isfinite(scores)
    # Where a request has a valid candidate, it gets a valid one.
    assert valid[np.arange(n), chosen][valid.any(axis=1)].all()
    # A request may sit beyond an arm's budget only when it is at its best candidate and every one
    # of its valid candidates is full.
    full = used >= left
    overflowing = np.array(
        [scores[i, chosen[i]] == scores[i].max() and bool(full[arms[i][valid[i]]].all()) for i in range(n)]
    )
    within = np.bincount(got[~overflowing], minlength=len(tokens))
    assert (within <= left).all()


BATCH_SIZES = [4, 20]  # a handful of requests and a batch


@pytest.mark.parametrize("n", BATCH_SIZES)
def test_fill_grants_floor_of_tokens_and_spills_the_rest(n: int) -> None:
    scores = np.tile(floats(0.9, 0.5), (n, 1))
    arms = np.tile(ints(0, 1), (n, 1))
    chosen = fill(scores, arms, np.zeros(n, np.int64), floats(2.7, 100.0))
    assert chosen.tolist() == [0, 0] + [1] * (n - 2)


@pytest.mark.parametrize("n", BATCH_SIZES)
def test_fill_serves_otp_before_marketing_on_the_same_arm(n: int) -> None:
    half = n // 2
    scores = np.tile(floats(0.9, 0.5), (n, 1))
    arms = np.tile(ints(0, 1), (n, 1))
    lanes = np.repeat(ints(MARKETING, OTP), half)
    chosen = fill(scores, arms, lanes, floats(half, 100.0))
    assert chosen.tolist() == [1] * half + [0] * half


def test_fill_otp_takes_its_second_choice_before_marketing_takes_it_first() -> None:
    # OTP's best arm 0 is empty; its second, arm 1, has one token that marketing also wants.
    scores = np.array([[0.9, 0.5], [0.9, NEG]])
    arms = np.array([[0, 1], [1, 0]])
    chosen = fill(scores, arms, ints(OTP, MARKETING), floats(0.0, 1.0))
    assert chosen.tolist() == [1, 0]


def test_fill_sends_a_request_without_budget_anywhere_to_its_best_candidate() -> None:
    scores = np.array([[0.2, 0.8, 0.5]])
    arms = np.array([[0, 1, 2]])
    assert fill(scores, arms, ints(OTP), floats(0.0, -3.0, 0.9)).tolist() == [1]


def test_fill_never_chooses_an_invalid_candidate_when_a_valid_one_exists() -> None:
    scores = np.array([[NEG, 0.1, NEG], [NEG, NEG, NEG]])
    arms = np.array([[0, 1, 2], [0, 1, 2]])
    assert fill(scores, arms, ints(OTP, OTP), floats(5.0, 0.0, 5.0)).tolist() == [1, 0]


def test_fill_decides_a_conflict_the_same_way_in_small_and_large_batches() -> None:
    # Requests 0 and 1 (same lane) compete for arm 1's single token: 0 as its second choice, 1 as
    # its first. Eight more requests on a roomy arm 2 must not change who gets it.
    scores = np.array([[0.9, 0.5], [0.9, NEG]])
    arms = np.array([[0, 1], [1, 0]])
    tokens = floats(0.0, 1.0, 100.0)
    small = fill(scores, arms, ints(OTP, OTP), tokens)
    big_scores = np.vstack([scores, np.tile(floats(0.9, NEG), (8, 1))])
    big_arms = np.vstack([arms, np.tile(ints(2, 0), (8, 1))])
    large = fill(big_scores, big_arms, np.zeros(10, np.int64), tokens)
    assert small.tolist() == large[:2].tolist()
