"""The engine's data path in one process, without Ray: the reference the Ray path is measured against.

The same plain classes the actors wrap, wired the way :class:`engine.runtime.engine.Engine` wires
its actors, but with direct calls where the engine makes Ray calls: one :class:`Dispatcher` per
lane, a :class:`RouterService` behind a small async port, one :class:`ChannelService` over each
channel's adapter, and a :class:`ReceiptProcessor` fed by the channel services' receipt pumps. Every
component gets its own Redis connection pool, as every actor does; all share one asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.destinations import DestinationResolver, OperatorTable
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.receipts import ReceiptProcessor
from engine.dispatch.sharding import ShardedRouter
from engine.domain.channel import CircuitState
from engine.domain.clock import SystemClock
from engine.domain.enums import Lane
from engine.domain.types import Destination
from engine.infra.keys import Keys
from engine.infra.server import EmbeddedRedis
from engine.infra.store import LaneStreams, MessageStore, connect
from engine.policies.batches import FeedbackBatch
from engine.routing.service import Choice, RouterService
from engine.runtime.adapters import make_adapter
from engine.runtime.channel_service import ChannelService
from engine.runtime.decisions import DecisionSink
from engine.runtime.engine import EngineConfig

log = logging.getLogger(__name__)
TICK_S = 0.25  # as the receipt actor's tick loop
SUPERVISE_S = 1.0  # as Engine.supervise


class LocalRouter:
    """The router port over a router in the same process: a call instead of a Ray round trip."""

    def __init__(self, service: RouterService) -> None:
        self.service = service

    async def route(
        self, destinations: Sequence[Destination], lanes: NDArray[np.int64], avoid: Sequence[Sequence[str]]
    ) -> list[Choice]:
        return self.service.route(destinations, lanes, avoid)

    async def feedback(self, feedback: FeedbackBatch) -> None:
        self.service.feedback(feedback)


class LocalEngine:
    """Start, run and stop the in-process pipeline; :attr:`store` accepts messages like the engine's."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.keys = Keys(config.namespace)
        self.redis_server: EmbeddedRedis | None = None
        self.redis_url = config.redis_url or ""
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._sinks: list[DecisionSink] = []

    async def start(self) -> LocalEngine:
        cfg = self.config
        before = asyncio.all_tasks()
        if not cfg.redis_url:
            self.redis_server = EmbeddedRedis(cfg.data_dir / "redis").start()
            self.redis_url = self.redis_server.url
        self.store = MessageStore(connect(self.redis_url), self.keys)
        await LaneStreams(self.store.client, self.keys).ensure_groups()
        clock = SystemClock()
        self.routers = [
            RouterService(cfg.table, cfg.policy, clock, np.random.default_rng(secrets.randbits(64)))
            for _ in range(cfg.router_shards)
        ]
        router = ShardedRouter([LocalRouter(r) for r in self.routers])
        decisions = str(cfg.data_dir / "decision-log") if cfg.decision_log else None
        receipt_sink = self._sink(decisions, "")
        self.receipts = ReceiptProcessor(
            MessageStore(connect(self.redis_url), self.keys), router, clock,
            receipt_timeout_s=cfg.dispatch.receipt_timeout_s,
            on_outcome=receipt_sink.outcomes if receipt_sink else None,
        )  # fmt: skip
        self.channels = {
            c.id: ChannelService(make_adapter(c), c.tps, c.window, clock) for c in cfg.table.channels
        }
        for service in self.channels.values():
            service.start_pump(self.receipts.ingest)
        self._tasks = list(asyncio.all_tasks() - before)  # the receipt pumps
        self.dispatchers = []
        for lane in Lane:
            for i in range(cfg.dispatchers_per_lane):
                redis = connect(self.redis_url)
                sink = self._sink(decisions, cfg.policy)
                self.dispatchers.append(
                    Dispatcher(
                        lane, f"{lane.label}-{i}",
                        store=MessageStore(redis, self.keys), streams=LaneStreams(redis, self.keys),
                        router=router, channels=self.channels,
                        resolver=DestinationResolver(OperatorTable.bundled()), clock=clock,
                        settings=cfg.dispatch,
                        on_decided=sink.decided if sink else None,
                        on_outcome=sink.outcomes if sink else None,
                    )
                )  # fmt: skip
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(d.run(self._stop)) for d in self.dispatchers]
        self._tasks += [loop.create_task(self._tick(receipt_sink)), loop.create_task(self._supervise())]
        return self

    def _sink(self, folder: str | None, policy: str) -> DecisionSink | None:
        if folder is None:
            return None
        sink = DecisionSink(folder, policy)
        self._sinks.append(sink)
        return sink

    async def _tick(self, sink: DecisionSink | None) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(TICK_S)
            try:
                await self.receipts.tick()
                if sink is not None:
                    sink.poll()
            except Exception:
                log.exception("receipt tick failed")

    async def _supervise(self) -> None:
        """What Engine.supervise does between actors: open circuits switch channels off."""
        while not self._stop.is_set():
            for name, service in self.channels.items():
                enabled = service.health().circuit is not CircuitState.OPEN
                for router in self.routers:
                    router.set_channel_enabled(name, enabled)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SUPERVISE_S)

    def processed(self) -> int:
        return sum(d.processed for d in self.dispatchers)

    def receipt_stats(self) -> dict[str, int]:
        return self.receipts.stats()

    async def stop(self) -> None:
        self._stop.set()
        await cancel(self._tasks)
        for service in self.channels.values():
            await service.close()
        for sink in self._sinks:
            sink.close()
        for d in self.dispatchers:
            await d.store.client.aclose()
        await self.receipts.store.client.aclose()
        await self.store.client.aclose()
        if self.redis_server is not None:
            self.redis_server.stop()


async def cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel and reap tasks, cancelling again any that swallowed it.

    The receipt pumps must be gone before their channels close: a closed simulated channel answers
    ``receipts()`` at once, and a pump left running then spins without ever yielding to the loop.
    Python 3.11's ``wait_for`` may swallow a cancellation that races its inner future's completion.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
