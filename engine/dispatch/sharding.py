"""Router shards by destination country, behind the same port as a single router.

Arm ids are local to a shard; across shards an arm travels as ``local * shards + shard`` so that
feedback finds its way back to the shard that made the decision.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from engine.dispatch.ports import RouterPort
from engine.domain.types import Destination
from engine.policies.batches import FeedbackBatch
from engine.routing.service import Choice


def shard_of(country: str, shards: int) -> int:
    return zlib.crc32(country.encode()) % shards


class ShardedRouter:
    def __init__(self, shards: Sequence[RouterPort]) -> None:
        if not shards:
            raise ValueError("at least one router shard")
        self.shards = list(shards)

    async def route(
        self, destinations: Sequence[Destination], lanes: NDArray[np.int64], avoid: Sequence[Sequence[str]]
    ) -> list[Choice]:
        n = len(self.shards)
        if n == 1:
            return await self.shards[0].route(destinations, lanes, avoid)
        owner = np.array([shard_of(d.country, n) for d in destinations], dtype=np.int64)
        out: list[Choice | None] = [None] * len(destinations)
        for s in np.unique(owner).tolist():
            idx = np.flatnonzero(owner == s)
            mine = idx.tolist()
            picked = await self.shards[s].route(
                [destinations[i] for i in mine], lanes[idx], [avoid[i] for i in mine]
            )
            for i, choice in zip(mine, picked, strict=True):
                out[i] = replace(choice, arm=choice.arm * n + s if choice.arm >= 0 else -1)
        return [c for c in out if c is not None]

    async def feedback(self, feedback: FeedbackBatch) -> None:
        n = len(self.shards)
        if n == 1:
            await self.shards[0].feedback(feedback)
            return
        shard, local = feedback.arm % n, feedback.arm // n
        for s in np.unique(shard).tolist():
            m = shard == s
            await self.shards[s].feedback(
                FeedbackBatch(
                    feedback.now,
                    feedback.kind[m],
                    local[m],
                    feedback.submitted_at[m],
                    feedback.reported_at[m],
                )
            )
