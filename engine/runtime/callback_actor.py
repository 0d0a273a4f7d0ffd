"""The Ray actor that sends status callbacks: a thin shell over :class:`CallbackWorker`.

Its state lives in Redis (deliveries, the retry set, dead letters), so a restarted actor picks up
where the last one stopped: its consumer name is fixed, and it reads its unacknowledged entries first.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import numpy as np
import ray

from engine.callbacks.settings import CallbackSettings
from engine.domain.clock import SystemClock
from engine.infra.callbacks import CallbackWorker
from engine.infra.keys import Keys
from engine.infra.store import connect
from engine.runtime.actors import ACTOR_OPTIONS

log = logging.getLogger(__name__)


@ray.remote(**ACTOR_OPTIONS)
class CallbackActor:
    """Delivers status callbacks; operators list and replay a tenant's dead letters through it."""

    def __init__(self, redis_url: str, namespace: str, settings: CallbackSettings) -> None:
        self.redis = connect(redis_url)
        rng = np.random.default_rng(secrets.randbits(64))  # jitter only: its seed need not repeat
        self.worker = CallbackWorker(self.redis, Keys(namespace), settings, SystemClock(), rng)
        self._loop: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def ensure_running(self) -> bool:
        if self._loop is None or self._loop.done():
            if self._loop is not None and not self._loop.cancelled() and self._loop.exception() is not None:
                log.error("callback loop died: %r; restarting", self._loop.exception())
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop().create_task(self.worker.run(self._stop))
        return True

    async def stats(self) -> dict[str, int]:
        return self.worker.stats()

    async def dead(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self.worker.dead(tenant, limit)

    async def replay(self, tenant: str, limit: int = 100) -> int:
        return await self.worker.replay(tenant, limit)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let attempts in flight end (the rest are retried after their lease), then disconnect."""
        self._stop.set()
        if self._loop is not None and not self._loop.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._loop), grace_s + 1.0)
            except TimeoutError:
                log.warning("callback loop still busy after %.0f s; stopping anyway", grace_s)
                self._loop.cancel()
            except Exception:
                log.exception("callback loop failed while stopping")
        await self.worker.aclose(0.0)
        await self.redis.aclose()
