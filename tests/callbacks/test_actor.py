"""The Ray actor shell: its loop delivers, and its dead letters can be listed and replayed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import ray

from engine.callbacks.settings import CallbackSettings
from engine.callbacks.signing import verify
from engine.domain.enums import MessageStatus as S
from engine.runtime.callback_actor import CallbackActor
from engine.runtime.engine import spawn
from tests.callbacks.receiver import Receiver
from tests.callbacks.rig import SECRET, TENANT, rig

SETTINGS = CallbackSettings(
    base_s=0.5, cap_s=1.0, max_age_s=5.0, timeout_s=2.0, poll_s=0.05, allow_private=True
)


@pytest.mark.usefixtures("ray_session")
def test_actor_delivers_and_replays(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver() as rx, rig(redis_url) as r:
            actor: Any = spawn(CallbackActor, redis_url, r.store.keys.namespace, SETTINGS)
            try:
                assert await actor.ensure_running.remote()
                await r.message(rx.url, S.DELIVERED)
                await r.message("ftp://example.com/h", S.DELIVERED)
                await rx.wait_for(1, timeout_s=10.0)
                assert verify(SECRET, rx.hits[0].headers["a2p-signature"], rx.hits[0].body, now=time.time())
                deadline = time.monotonic() + 10.0
                while not await actor.dead.remote(TENANT, 10) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                dead = await actor.dead.remote(TENANT, 10)
                assert [d["url"] for d in dead] == ["ftp://example.com/h"]
                assert await actor.replay.remote(TENANT, 10) == 1
                stats = await actor.stats.remote()
                assert (stats["delivered"], stats["replayed"]) == (1, 1)
                await actor.stop.remote()
            finally:
                ray.kill(actor, no_restart=True)

    asyncio.run(main())
