"""The MABWiser peers behind our Policy interface: availability, learning, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.peers import MabwiserPolicy, MabwiserThompson, MabwiserUCB1, register_peers
from engine.policies import ArmSpace, FeedbackBatch, FeedbackKind, RequestBatch, create, registry

PEERS = [MabwiserThompson, MabwiserUCB1]
ROUTES = 4


@pytest.fixture
def space() -> ArmSpace:
    s = ArmSpace()
    for c in range(3):
        for r in range(ROUTES):
            s.upsert(f"ctx{c}", f"route{r}", price=0.01 * (r + 1), tps=1e9)
    return s


def requests(context: int, n: int, now: float = 100.0) -> RequestBatch:
    return RequestBatch(now, np.full(n, context, np.int64), np.zeros(n, np.int64))


def receipts(arms: list[int], kind: FeedbackKind, now: float = 50.0) -> FeedbackBatch:
    a = np.asarray(arms, np.int64)
    t = np.full(len(a), now)
    return FeedbackBatch(now, np.full(len(a), kind, np.int64), a, t - 5.0, t)


def teach(policy: MabwiserPolicy, space: ArmSpace, good: str, n: int = 200) -> int:
    """``n`` delivered receipts on ``ctx0 -> good``, ``n`` undelivered on ctx0's other routes."""
    ctx0 = [space.arm("ctx0", f"route{r}") for r in range(ROUTES)]
    best = space.arm("ctx0", good)
    assert best is not None
    policy.learn(receipts([best] * n, FeedbackKind.DELIVERED))
    others = [a for a in ctx0 if a is not None and a != best]
    policy.learn(receipts(others * n, FeedbackKind.UNDELIVERED))
    return best


@pytest.mark.parametrize("peer", PEERS)
def test_never_chooses_a_disabled_arm(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    policy = peer(space, np.random.default_rng(1))
    best = teach(policy, space, "route2")
    space.set_enabled(best, False)
    disabled = space.arm("ctx1", "route0")
    assert disabled is not None
    space.set_enabled(disabled, False)
    for context in (0, 1):  # a learned context whose favourite is off, and a cold one
        chosen = policy.decide(requests(context, 500)).arm
        assert (space.enabled[chosen]).all()
        assert (space.arm_context[chosen] == context).all()


@pytest.mark.parametrize("peer", PEERS)
def test_learns_which_route_delivers(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    policy = peer(space, np.random.default_rng(2))
    best = teach(policy, space, "route3")
    chosen = policy.decide(requests(0, 1000)).arm
    assert (chosen == best).mean() > 0.9


@pytest.mark.parametrize("peer", PEERS)
def test_a_route_added_later_joins_the_bandit(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    policy = peer(space, np.random.default_rng(8))
    old = teach(policy, space, "route0")
    new = space.upsert("ctx0", "route9", price=0.01, tps=1e9)
    policy.decide(requests(0, 1))  # the policy notices the new arm
    policy.learn(receipts([new] * 300, FeedbackKind.DELIVERED, now=60.0))
    policy.learn(receipts([old] * 300, FeedbackKind.UNDELIVERED, now=60.0))
    assert (policy.decide(requests(0, 200)).arm == new).mean() > 0.9


@pytest.mark.parametrize("peer", PEERS)
def test_cold_context_is_uniform_over_available_routes(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    policy = peer(space, np.random.default_rng(3))
    chosen = policy.decide(requests(2, 2000)).arm
    counts = np.bincount(chosen, minlength=space.n_arms)[space.arm_context == 2]
    assert counts.min() > 350


@pytest.mark.parametrize("peer", PEERS)
def test_submits_alone_teach_nothing(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    fresh, submitted = peer(space, np.random.default_rng(4)), peer(space, np.random.default_rng(4))
    submitted.learn(FeedbackBatch.submitted(10.0, np.arange(space.n_arms, dtype=np.int64)))
    assert np.array_equal(fresh.decide(requests(0, 50)).arm, submitted.decide(requests(0, 50)).arm)


@pytest.mark.parametrize("peer", PEERS)
def test_same_seed_same_decisions(peer: type[MabwiserPolicy], space: ArmSpace) -> None:
    runs = []
    for _ in range(2):
        policy = peer(space, np.random.default_rng(5))
        teach(policy, space, "route1", n=3)  # thin evidence: decisions stay random
        batch = RequestBatch(100.0, np.array([0, 1, 2, 0, 2] * 40), np.zeros(200, np.int64))
        runs.append(policy.decide(batch).arm)
    assert np.array_equal(runs[0], runs[1])


def test_registered_by_name(space: ArmSpace, monkeypatch: pytest.MonkeyPatch) -> None:
    # A private copy, so the peers do not leak into contract tests over every registered policy.
    registry.known_policies()  # the built-ins registered first, so the private copy has them all
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_peers()
    register_peers()
    assert {"mabwiser_ts", "mabwiser_ucb1"} <= set(registry.known_policies())
    policy = create("mabwiser_ucb1:alpha=0.5", space, np.random.default_rng(6))
    assert isinstance(policy, MabwiserUCB1)
    assert policy.alpha == 0.5


def test_negative_alpha_is_rejected(space: ArmSpace) -> None:
    with pytest.raises(ValueError, match="alpha"):
        MabwiserUCB1(space, np.random.default_rng(7), alpha=-1.0)
