"""A callback worker over the real Redis, a manual clock and messages written the way the API does."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from engine.callbacks.settings import CallbackSettings
from engine.domain.clock import ManualClock
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.callbacks import CallbackWorker
from engine.infra.store import Change, MessageStore
from tests.infra.conftest import open_store

TENANT = "acme"
SECRET = "9f86d081884c7d659a2feaa0c55ad015"
T0 = 1_700_000_000.0
# Short schedule, no jitter: attempts at 0, 1, 3, 5 s, then dead (the next would be 7 s > 5 s).
FAST = CallbackSettings(base_s=1.0, cap_s=2.0, max_age_s=5.0, jitter=0.0, timeout_s=2.0, allow_private=True)


@dataclass
class Rig:
    store: MessageStore
    worker: CallbackWorker
    clock: ManualClock

    async def round(self) -> None:
        """One round and every attempt it launched."""
        await self.worker.step()
        assert await self.worker.drain(5.0)

    async def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.round()

    async def set_secret(self, tenant: str = TENANT, secret: str = SECRET) -> None:
        await self.store.client.hset(self.store.keys.tenant(tenant), "webhook_secret", secret)

    async def message(
        self, url: str, *statuses: MessageStatus, tenant: str = TENANT, fields: dict[str, str] | None = None
    ) -> str:
        """A message with a status callback, accepted and then moved through ``statuses``."""
        mid = f"m{secrets.token_hex(6)}"
        new = NewMessage(
            mid, tenant, "+447700900123", "ACME", "your code is 123456", Lane.OTP, self.clock.now(),
            client_ref="order-42", callback=url, metadata='{"order": 42}',
        )  # fmt: skip
        await self.store.accept([new])
        for status in statuses:
            await self.store.apply([Change(mid, self.clock.now(), status=status, fields=fields)])
        return mid

    async def retry_depth(self) -> int:
        return int(await self.store.client.zcard(self.store.keys.callback_retry()))


@contextlib.asynccontextmanager
async def rig(
    redis_url: str, settings: CallbackSettings = FAST, *, secret: bool = True
) -> AsyncIterator[Rig]:
    async with open_store(redis_url) as store:
        clock = ManualClock(T0)
        worker = CallbackWorker(store.client, store.keys, settings, clock, np.random.default_rng(7))
        r = Rig(store, worker, clock)
        if secret:
            await r.set_secret()
        try:
            yield r
        finally:
            await worker.aclose(1.0)
