"""What flows in and out of a policy: batches of requests, decisions and feedback as arrays.

Every hop carries batches because a routing decision costs microseconds and a Ray call milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class RequestBatch:
    """Messages to route at time ``now``: their context ids and lanes (``Lane`` values).

    ``avoid`` (optional, ``[n, m]`` route ids padded with -1) lists routes a request must not take,
    e.g. the channels that already refused it during failover.
    """

    now: float
    context: NDArray[np.int64]
    lane: NDArray[np.int64]
    avoid: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        if self.context.shape != self.lane.shape:
            raise ValueError("context and lane must have the same length")

    def __len__(self) -> int:
        return len(self.context)


@dataclass(frozen=True, slots=True)
class DecisionBatch:
    """One decision per request.

    ``arm`` is -1 where no candidate was available. ``propensity`` is the probability with which the
    policy chose that arm (for off-policy evaluation), ``score`` the chosen arm's score as the policy
    saw it, ``explored`` whether the choice differs from the arm the policy currently believes best.
    """

    arm: NDArray[np.int64]
    propensity: NDArray[np.float64]
    score: NDArray[np.float64]
    explored: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.arm)


class FeedbackKind(IntEnum):
    SUBMITTED = 0  # accepted by the channel; from now on the message is pending
    DELIVERED = 1  # DLR said delivered
    UNDELIVERED = 2  # DLR said not delivered (undeliverable, expired, rejected by the operator)
    FAILED = 3  # the channel refused the submit: never pending, a failure at once


@dataclass(frozen=True, slots=True)
class FeedbackBatch:
    """Events about earlier decisions, all known at ``now``.

    Duplicated receipts are the DLR processor's job to drop; a policy trusts what it is given.
    """

    now: float
    kind: NDArray[np.int64]
    arm: NDArray[np.int64]
    submitted_at: NDArray[np.float64]
    reported_at: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.arm)

    @classmethod
    def submitted(cls, now: float, arms: NDArray[np.int64]) -> FeedbackBatch:
        t = np.full(len(arms), now)
        kind = np.full(len(arms), FeedbackKind.SUBMITTED, dtype=np.int64)
        return cls(now, kind, arms, t, t)

    @classmethod
    def concat(cls, now: float, parts: list[FeedbackBatch]) -> FeedbackBatch:
        if not parts:
            e = np.empty(0)
            return cls(now, e.astype(np.int64), e.astype(np.int64), e, e)
        return cls(
            now,
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.arm for p in parts]),
            np.concatenate([p.submitted_at for p in parts]),
            np.concatenate([p.reported_at for p in parts]),
        )
