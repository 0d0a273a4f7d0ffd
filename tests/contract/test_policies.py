"""Contract every registered policy must honour, run automatically over the registry."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from benchmarks.peers import register_peers
from engine.domain.enums import Lane
from engine.policies import (
    ArmSpace,
    FeedbackBatch,
    FeedbackKind,
    Policy,
    RequestBatch,
    create,
    known_policies,
)

BUILTIN = known_policies()
register_peers()  # third-party peers (MABWiser) honour the same contract
POLICIES = known_policies()


def _space() -> ArmSpace:
    space = ArmSpace()
    for c in range(4):
        for r, price in enumerate((0.01, 0.02, 0.015)):
            space.upsert(f"C{c}/*", f"r{r}", price, tps=50.0)
    space.context_id("EMPTY/*")  # a context without candidates
    return space


def _requests(now: float, n: int = 64, contexts: int = 4) -> RequestBatch:
    rng = np.random.default_rng(int(now))
    return RequestBatch(now, rng.integers(0, contexts, n), rng.integers(0, len(Lane), n))


def _feedback(now: float, arms: np.ndarray) -> FeedbackBatch:
    """Submits of `arms` at now-10 and receipts for them at now: arm 0 fails, the rest deliver."""
    kinds = np.where(arms % 3 == 0, FeedbackKind.UNDELIVERED, FeedbackKind.DELIVERED)
    sub = np.full(len(arms), now - 10.0)
    submitted = FeedbackBatch(now, np.full(len(arms), FeedbackKind.SUBMITTED), arms, sub, sub)
    reports = FeedbackBatch(now, kinds.astype(np.int64), arms, sub, np.full(len(arms), now))
    return FeedbackBatch.concat(now, [submitted, reports])


def _make(name: str, seed: int = 7) -> Policy:
    return create(name, _space(), np.random.default_rng(seed))


def _drive(policy: Policy, steps: int = 5) -> list[np.ndarray]:
    chosen = []
    for step in range(steps):
        now = 100.0 + 10.0 * step
        decision = policy.decide(_requests(now))
        chosen.append(decision.arm)
        policy.learn(_feedback(now + 5.0, decision.arm[decision.arm >= 0]))
    return chosen


@pytest.mark.parametrize("name", POLICIES)
def test_chooses_only_valid_candidates_of_the_context(name: str) -> None:
    policy = _make(name)
    requests = _requests(100.0)
    decision = policy.decide(requests)
    assert len(decision) == len(requests)
    assert (policy.space.arm_context[decision.arm] == requests.context).all()


@pytest.mark.parametrize("name", POLICIES)
def test_never_chooses_a_disabled_arm(name: str) -> None:
    policy = _make(name)
    _drive(policy, 2)
    disabled = [policy.space.arm(f"C{c}/*", "r0") or 0 for c in range(4)]
    for arm in disabled:
        policy.space.set_enabled(arm, False)
    decision = policy.decide(_requests(500.0))
    assert not np.isin(decision.arm, disabled).any()


@pytest.mark.parametrize("name", POLICIES)
def test_no_candidate_means_no_route(name: str) -> None:
    policy = _make(name)
    empty = policy.space.context_id("EMPTY/*")
    decision = policy.decide(RequestBatch(100.0, np.array([empty, 0]), np.array([0, 0])))
    assert decision.arm[0] == -1
    assert decision.propensity[0] == 0.0
    assert decision.arm[1] >= 0


@pytest.mark.parametrize("name", POLICIES)
def test_propensities_are_probabilities(name: str) -> None:
    decision = _make(name).decide(_requests(100.0))
    assert ((decision.propensity > 0) & (decision.propensity <= 1)).all()


@pytest.mark.parametrize("name", POLICIES)
def test_same_seed_same_decisions(name: str) -> None:
    first, second = _drive(_make(name, seed=3)), _drive(_make(name, seed=3))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", POLICIES)
def test_pickled_policy_decides_like_the_original(name: str) -> None:
    policy = _make(name)
    _drive(policy, 3)
    clone = pickle.loads(pickle.dumps(policy))
    requests = _requests(1000.0)
    np.testing.assert_array_equal(policy.decide(requests).arm, clone.decide(requests).arm)


@pytest.mark.parametrize("name", POLICIES)
def test_empty_batches_are_fine(name: str) -> None:
    policy = _make(name)
    none = np.empty(0, dtype=np.int64)
    assert len(policy.decide(RequestBatch(1.0, none, none))) == 0
    policy.learn(FeedbackBatch.concat(1.0, []))


@pytest.mark.parametrize("name", POLICIES)
def test_arms_added_after_construction_are_used(name: str) -> None:
    policy = _make(name)
    _drive(policy, 2)
    new = policy.space.upsert("NEW/*", "r9", 0.001, 100.0)
    context = policy.space.context_id("NEW/*")
    decision = policy.decide(RequestBatch(400.0, np.full(8, context), np.zeros(8, dtype=np.int64)))
    assert (decision.arm == new).all()
    policy.learn(_feedback(410.0, decision.arm))


@pytest.mark.parametrize("name", BUILTIN)  # MABWiser's joblib reads the clock; ours must not
def test_never_reads_the_wall_clock(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden() -> float:
        raise AssertionError("policies must take time from the batch, not the wall clock")

    policy = _make(name)
    monkeypatch.setattr(time, "time", forbidden)
    monkeypatch.setattr(time, "monotonic", forbidden)
    _drive(policy, 3)


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"known policies: .*pending_ts"):
        create("nope", ArmSpace(), np.random.default_rng(0))


def test_bad_policy_parameter_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="half_life_z"):
        create("pending_ts:half_life_z=3", ArmSpace(), np.random.default_rng(0))
