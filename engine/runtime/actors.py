"""Ray actors: channels, the router, the receipt processor and the dispatchers.

Each is a thin shell over a plain class. They restart on failure (``max_restarts=-1``) but their
calls are never retried (``max_task_retries=0``): a retried submit could send a message twice.
State that must survive a restart lives in Redis; each actor's ``ensure_running`` (called by the
supervisor every second) restarts its background loop after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray
import redis.asyncio as aioredis
from numpy.typing import NDArray

from engine.destinations import DestinationResolver, OperatorTable
from engine.dispatch.dispatcher import Dispatcher, DispatchSettings
from engine.dispatch.ports import ChannelUnavailableError, Submitted
from engine.dispatch.receipts import ReceiptProcessor
from engine.dispatch.sharding import ShardedRouter
from engine.domain.channel import ChannelHealth
from engine.domain.clock import SystemClock
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage, Receipt
from engine.domain.types import Channel, Destination
from engine.infra.heap import settle_heap
from engine.infra.keys import Keys
from engine.infra.store import LaneStreams, MessageStore, connect
from engine.policies.batches import FeedbackBatch
from engine.routing.service import Choice, RouterService
from engine.routing.table import RouteTable
from engine.runtime.adapters import make_adapter
from engine.runtime.channel_service import ChannelService
from engine.runtime.decisions import DecisionSink
from engine.runtime.wire import pack, unpack

log = logging.getLogger(__name__)
ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": 0}
ACTOR_ERRORS = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)


def peer(name: str) -> Any:
    """Another actor of the engine, by the name it was started with.

    Actors are wired by name, not by handing each other's handles to their constructors: Ray keeps
    handle arguments in the object store, from which it cannot always restore them when it restarts
    the actor (ray-project/ray#53727, and an error in every start's log). A name is a plain string.
    """
    return ray.get_actor(name)


@ray.remote(**ACTOR_OPTIONS)
class RouterActor:
    """The bandit over live receipts, for one shard of destinations; snapshots itself to Redis."""

    def __init__(self, table: RouteTable, policy: str, redis_url: str, namespace: str, shard: str) -> None:
        self.clock = SystemClock()
        self.service = RouterService(table, policy, self.clock, np.random.default_rng(secrets.randbits(64)))
        self.redis = aioredis.Redis.from_url(redis_url)  # binary: snapshots are bytes
        self.key = Keys(namespace).router_snapshot(shard)
        self.warm = False
        self._snapshots: asyncio.Task[None] | None = None
        settle_heap()

    async def ensure_running(self, every_s: float = 5.0) -> bool:
        if self._snapshots is None:
            state: Any = await self.redis.get(self.key)
            if isinstance(state, bytes):
                self.service.restore(state, self.clock)
                self.warm = True
            self._snapshots = asyncio.get_running_loop().create_task(self._snapshot_loop(every_s))
        return self.warm

    async def _snapshot_loop(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.snapshot()
            except Exception:  # Redis away for a while: the next round tries again
                log.exception("router snapshot failed")

    async def snapshot(self) -> None:
        await self.redis.set(self.key, self.service.snapshot())

    async def route(self, request: bytes) -> bytes:
        """``(destinations, lanes, avoid)`` packed by :mod:`wire`; the choices, packed."""
        destinations, lanes, avoid = unpack(request)
        return pack(self.service.route(destinations, lanes, avoid))

    async def feedback(self, feedback: FeedbackBatch) -> None:
        self.service.feedback(feedback)

    async def set_channels_enabled(self, enabled: dict[str, bool]) -> None:
        """Every channel's state at once: the supervisor's one call per round (a Ray call costs about
        1 ms of CPU, and a call per channel per router added up to a dozen a second)."""
        for channel, on in enabled.items():
            self.service.set_channel_enabled(channel, on)


@ray.remote(**ACTOR_OPTIONS)
class ChannelActor:
    """One channel: the adapter behind its TPS limit, window and circuit breaker."""

    def __init__(self, channel: Channel, receipts_to: str, secrets: dict[str, str] | None = None) -> None:
        self.channel = channel
        adapter = make_adapter(channel, secrets)
        self.service = ChannelService(adapter, channel.tps, channel.window, SystemClock())
        self.receipts_to = peer(receipts_to)
        settle_heap()

    async def ensure_running(self) -> bool:
        self.service.start_pump(self._deliver)
        return True

    async def _deliver(self, receipts: list[Receipt]) -> None:
        await self.receipts_to.ingest.remote(pack(receipts))

    async def submit(self, messages: bytes) -> bytes:
        """Outbound messages packed by :mod:`wire`; the :class:`Submitted` answer, packed."""
        return pack(await self.service.submit(unpack(messages)))

    async def health(self) -> ChannelHealth:
        return self.service.health()

    async def stop(self) -> None:
        """Close the adapter cleanly (an SMPP bind unbinds) before the actor is killed."""
        await self.service.close()

    async def adapter_call(self, method: str, *args: Any) -> Any:
        """Operate the adapter (the demo black-holes a simulated channel; tests read its counters)."""
        return getattr(self.service.adapter, method)(*args)


@ray.remote(**ACTOR_OPTIONS)
class ReceiptActor:
    """Correlates receipts to messages, settles their status and feeds the router."""

    def __init__(
        self,
        redis_url: str,
        namespace: str,
        routers: list[str],
        receipt_timeout_s: float,
        decisions_dir: str | None,
    ) -> None:
        store = MessageStore(connect(redis_url), Keys(namespace))
        self.sink = DecisionSink(decisions_dir, "") if decisions_dir else None
        self.processor = ReceiptProcessor(
            store, _routers(routers), SystemClock(), receipt_timeout_s=receipt_timeout_s,
            on_outcome=self.sink.outcomes if self.sink else None,
        )  # fmt: skip
        self._ticks: asyncio.Task[None] | None = None
        settle_heap()

    async def ensure_running(self) -> bool:
        if self._ticks is None:
            self._ticks = asyncio.get_running_loop().create_task(self._tick_loop())
        return True

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self.processor.tick()
                if self.sink is not None:
                    self.sink.poll()
            except Exception:
                log.exception("receipt tick failed")

    async def ingest(self, receipts: bytes) -> None:
        """Receipts packed by :mod:`wire`."""
        await self.processor.ingest(unpack(receipts))

    async def stop(self) -> None:
        """Before the actor is killed: stop the timeouts, hand on the feedback still buffered and
        flush the decision log."""
        if self._ticks is not None:
            self._ticks.cancel()
        try:
            await self.processor.flush()
        except Exception:  # the router is away: what it missed is lost learning, not messages
            log.exception("receipt feedback not handed on at stop")
        self.processor.on_outcome = None  # receipts still arriving are not logged any more
        if self.sink is not None:
            self.sink.close()

    async def stats(self) -> dict[str, int]:
        return self.processor.stats()


@ray.remote(**ACTOR_OPTIONS)
class DispatcherActor:
    """Pulls one lane's stream in batches and dispatches it."""

    def __init__(
        self,
        lane: Lane,
        consumer: str,
        *,
        redis_url: str,
        namespace: str,
        routers: list[str],
        channels: dict[str, str],
        settings: DispatchSettings,
        decisions_dir: str | None,
        policy: str,
    ) -> None:
        redis = connect(redis_url)
        keys = Keys(namespace)
        self.sink = DecisionSink(decisions_dir, policy) if decisions_dir else None
        self.dispatcher = Dispatcher(
            lane,
            consumer,
            store=MessageStore(redis, keys),
            streams=LaneStreams(redis, keys),
            router=_routers(routers),
            channels={channel: RemoteChannel(peer(name)) for channel, name in channels.items()},
            resolver=DestinationResolver(OperatorTable.bundled()),
            clock=SystemClock(),
            settings=settings,
            on_decided=self.sink.decided if self.sink else None,
            on_outcome=self.sink.outcomes if self.sink else None,
        )
        self._loop: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        settle_heap()

    async def ensure_running(self) -> bool:
        if self._loop is None or self._loop.done():
            if self._loop is not None and self._loop.exception() is not None:
                log.error("dispatcher loop died: %r; restarting", self._loop.exception())
            self._loop = asyncio.get_running_loop().create_task(self.dispatcher.run(self._stop))
        return True

    async def stop(self, grace_s: float = 5.0) -> None:
        """Finish the batch in hand (its log rows included), then flush the decision log."""
        self._stop.set()
        if self._loop is not None and not self._loop.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._loop), grace_s)
            except TimeoutError:
                log.warning("dispatcher still busy after %.0f s; stopping anyway", grace_s)
            except Exception:  # the loop's own failure must not keep the log from being flushed
                log.exception("dispatcher loop failed while stopping")
        if self.sink is not None:
            self.sink.close()

    async def processed(self) -> int:
        return self.dispatcher.processed


def _routers(names: list[str]) -> ShardedRouter:
    return ShardedRouter([RemoteRouter(peer(name)) for name in names])


class RemoteRouter:
    """The router port over a router actor."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def route(
        self, destinations: Sequence[Destination], lanes: NDArray[np.int64], avoid: Sequence[Sequence[str]]
    ) -> list[Choice]:
        choices: list[Choice] = unpack(await self.handle.route.remote(pack((destinations, lanes, avoid))))
        return choices

    async def feedback(self, feedback: FeedbackBatch) -> None:
        await self.handle.feedback.remote(feedback)


class RemoteChannel:
    """The channel port over a channel actor."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def submit(self, messages: Sequence[OutboundMessage]) -> Submitted:
        try:
            submitted: Submitted = unpack(await self.handle.submit.remote(pack(list(messages))))
        except ACTOR_ERRORS as exc:
            raise ChannelUnavailableError(str(exc)) from exc
        return submitted
