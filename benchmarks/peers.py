"""MABWiser as a third-party peer behind our :class:`~engine.policies.base.Policy` interface.

The benchmarks run a real library side by side with our policies, so "plain TS as in MABWiser" is
measured, not re-implemented. Each context gets its own context-free ``MAB`` whose arms are the
context's arm ids; it is created at the context's first receipt with a seed drawn from the injected
``Generator``, so the same seed gives the same decisions.

What MABWiser sees, and what it does not:

- it learns from arrived receipts only (DELIVERED -> 1, UNDELIVERED / FAILED -> 0); submits are
  ignored, so in-flight messages are invisible to it, as they are to any textbook bandit;
- it cannot predict before its first ``fit``: a context without receipts is routed uniformly at
  random among its available routes;
- it knows nothing of disabled routes: we ask for its per-arm expectations (a Beta draw for
  Thompson sampling, the upper confidence bound for UCB1) and take the best *available* one, which
  is MABWiser's own ``predict`` whenever its favourite is available;
- it knows nothing of prices or TPS caps (``capacity_aware`` is off);
- it exposes no choice probabilities: decisions are logged with propensity 1 (``stochastic`` is
  off), so logs of these policies are not fit for off-policy evaluation.

Call :func:`register_peers` to make ``mabwiser_ts`` and ``mabwiser_ucb1`` known to the registry.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
from mabwiser.mab import MAB, LearningPolicy
from numpy.typing import NDArray

from engine.policies.base import Matrix, Policy
from engine.policies.batches import FeedbackBatch, FeedbackKind, RequestBatch
from engine.policies.economics import Economics
from engine.policies.registry import register_factory
from engine.policies.space import ArmSpace

_SEED_BOUND = 2**31 - 1  # MABWiser wants a Python int seed


def _groups(keys: NDArray[np.int64]) -> Iterator[tuple[int, NDArray[np.int64]]]:
    """``(key, positions)`` for each distinct key, in increasing key order."""
    if len(keys) == 0:
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    for start, rows in zip(starts, np.split(order, starts[1:]), strict=True):
        yield int(sorted_keys[start]), rows


class MabwiserPolicy(Policy):
    """One MABWiser bandit per context; subclasses say which learning policy."""

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        **base: Any,
    ) -> None:
        super().__init__(space, rng, economics, **base)
        self._bandits: dict[int, Any] = {}  # context id -> mabwiser.MAB (untyped library)
        self._bandit_arms: dict[int, set[int]] = {}
        # Mirror of what the bandits were told, for the noise-free belief (``_expected``).
        self._successes = np.zeros(0)
        self._trials = np.zeros(0)

    @abstractmethod
    def _learning_policy(self) -> Any:
        """A fresh ``mabwiser.mab.LearningPolicy`` for one context's bandit."""

    @abstractmethod
    def _mean(self, successes: Matrix, trials: Matrix) -> Matrix:
        """The bandit's belief about an arm, without exploration bonus or sampling noise."""

    # -- hooks -----------------------------------------------------------------------------------

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        n, k = arms.shape
        scores = np.empty((n, k))
        for cid, rows in _groups(requests.context):
            bandit = self._bandits.get(cid)
            if bandit is None:  # no receipt yet: MABWiser cannot predict before fit
                scores[rows] = self._rng.random((len(rows), k))
                continue
            # A context-free MAB returns one expectation dict per row of (featureless) contexts.
            expectations = bandit.predict_expectations(np.zeros((len(rows), 1)))
            if isinstance(expectations, dict):
                expectations = [expectations]
            slot_arms = arms[rows[0]].tolist()  # padding slots are masked by the caller
            scores[rows] = [[e.get(a, 0.0) for a in slot_arms] for e in expectations]
        return scores

    def _expected(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        return self._mean(self._successes[arms], self._trials[arms])

    def _learn(self, feedback: FeedbackBatch) -> None:
        reported = feedback.kind != FeedbackKind.SUBMITTED
        arm = feedback.arm[reported]
        if len(arm) == 0:
            return
        reward = (feedback.kind[reported] == FeedbackKind.DELIVERED).astype(np.float64)
        np.add.at(self._successes, arm, reward)
        np.add.at(self._trials, arm, 1.0)
        for cid, rows in _groups(self.space.arm_context[arm]):
            # partial_fit before the first fit is a fit, so no separate bootstrap is needed.
            self._bandit(cid).partial_fit(arm[rows], reward[rows])

    def _grow(self, n_arms: int, n_routes: int) -> None:
        extra = n_arms - len(self._trials)
        if extra > 0:
            self._successes = np.concatenate([self._successes, np.zeros(extra)])
            self._trials = np.concatenate([self._trials, np.zeros(extra)])
        for cid, bandit in self._bandits.items():
            known = self._bandit_arms[cid]
            for aid in self._context_arms(cid):
                if aid not in known:
                    bandit.add_arm(aid)
                    known.add(aid)

    # -- helpers ---------------------------------------------------------------------------------

    def _context_arms(self, cid: int) -> list[int]:
        return [int(a) for a in np.flatnonzero(self.space.arm_context == cid)]

    def _bandit(self, cid: int) -> Any:
        bandit = self._bandits.get(cid)
        if bandit is None:
            arms = self._context_arms(cid)
            seed = int(self._rng.integers(_SEED_BOUND))
            bandit = self._bandits[cid] = MAB(arms, self._learning_policy(), seed=seed)
            self._bandit_arms[cid] = set(arms)
        return bandit


class MabwiserThompson(MabwiserPolicy):
    """MABWiser's Beta-Bernoulli Thompson sampling (``LearningPolicy.ThompsonSampling()``)."""

    name = "mabwiser_ts"

    def _learning_policy(self) -> Any:
        return LearningPolicy.ThompsonSampling()

    def _mean(self, successes: Matrix, trials: Matrix) -> Matrix:
        # MABWiser's posterior is Beta(1 + successes, 1 + failures).
        result: Matrix = (1.0 + successes) / (2.0 + trials)
        return result


class MabwiserUCB1(MabwiserPolicy):
    """MABWiser's UCB1 (``LearningPolicy.UCB1(alpha)``).

    As in MABWiser, an arm without receipts has expectation 0 and is never preferred over a tried
    one: UCB1 explores only among arms that have reported at least once.
    """

    name = "mabwiser_ucb1"

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        *,
        alpha: float = 1.0,
        **base: Any,
    ) -> None:
        # Checked here: MABWiser would only complain at the first receipt, deep in the hot path.
        if not alpha >= 0:
            raise ValueError("alpha must be >= 0")
        super().__init__(space, rng, economics, **base)
        self.alpha = float(alpha)

    def _learning_policy(self) -> Any:
        return LearningPolicy.UCB1(alpha=self.alpha)

    def _mean(self, successes: Matrix, trials: Matrix) -> Matrix:
        result: Matrix = np.divide(successes, trials, out=np.zeros_like(successes), where=trials > 0)
        return result


def register_peers() -> None:
    """Make the MABWiser peers available by name; calling it again changes nothing."""
    register_factory(MabwiserThompson.name, MabwiserThompson)
    register_factory(MabwiserUCB1.name, MabwiserUCB1)
