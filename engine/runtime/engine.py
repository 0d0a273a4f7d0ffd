"""The running engine: Redis, Ray and the actors, started in order and supervised.

Ray restarts a dead actor by itself (``max_restarts``); the supervisor makes sure each actor's
background loop runs again afterwards, and passes channel health (circuit breakers) to the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ray
from redis.exceptions import RedisError

from engine.callbacks.settings import CallbackSettings
from engine.dispatch.dispatcher import DispatchSettings
from engine.domain.channel import ChannelHealth, CircuitState
from engine.domain.enums import Lane
from engine.domain.messages import NewMessage
from engine.infra.keys import Keys
from engine.infra.server import EmbeddedRedis
from engine.infra.store import LaneStreams, MessageStore, connect
from engine.policies.registry import DEFAULT_POLICY
from engine.routing.table import RouteTable
from engine.runtime.actors import ACTOR_ERRORS, ChannelActor, DispatcherActor, ReceiptActor, RouterActor
from engine.runtime.adapters import secrets_of, validate
from engine.runtime.callback_actor import CallbackActor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    table: RouteTable
    policy: str = DEFAULT_POLICY
    data_dir: Path = Path("data")
    redis_url: str | None = None  # None: an embedded Redis under data_dir
    ray_address: str | None = None  # None: a local Ray
    namespace: str = "a2p"
    router_shards: int = 1
    dispatchers_per_lane: int = 1
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    decision_log: bool = True
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)


def spawn(actor_class: Any, *args: Any, **kwargs: Any) -> Any:
    """Start an actor (Ray's decorator hides ``.remote`` from the type checker)."""
    return actor_class.remote(*args, **kwargs)


def spawn_named(name: str, actor_class: Any, *args: Any, **kwargs: Any) -> Any:
    """Start an actor that the others find by ``name`` (see :func:`~engine.runtime.actors.peer`)."""
    return actor_class.options(name=name).remote(*args, **kwargs)


def init_ray(address: str | None) -> None:
    """Local Ray (dashboard off, quiet) unless an address is given; reuse one already running."""
    if ray.is_initialized():
        return
    ray.init(
        address=address or "local",
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        configure_logging=True,
    )


class Engine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.keys = Keys(config.namespace)
        self.redis_server: EmbeddedRedis | None = None
        self.redis_url = config.redis_url or ""
        self._client: Any = None  # the Redis client, once connected (stop closes it)
        self.routers: list[Any] = []
        self.receipts: Any = None
        self.callbacks: Any = None
        self.channels: dict[str, Any] = {}
        self.dispatchers: list[Any] = []

    async def start(self) -> Engine:
        """Start Redis (unless given), Ray and every actor; on any failure, stop what did start."""
        for channel in self.config.table.channels:
            validate(channel)
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _start(self) -> None:
        cfg = self.config
        if not cfg.redis_url:
            self.redis_server = EmbeddedRedis(cfg.data_dir / "redis").start()
            self.redis_url = self.redis_server.url
        client = self._client = connect(self.redis_url)
        self.store = MessageStore(client, self.keys)
        await LaneStreams(client, self.keys).ensure_groups()
        init_ray(cfg.ray_address)
        ns, url = cfg.namespace, self.redis_url
        # Actors that others call are named: unique to this engine, even beside another in one Ray.
        prefix = f"a2p/{ns}/{secrets.token_hex(4)}"
        routers = [f"{prefix}/router{i}" for i in range(cfg.router_shards)]
        receipts = f"{prefix}/receipts"
        channels = {c.id: f"{prefix}/channel/{c.id}" for c in cfg.table.channels}
        self.routers = [
            spawn_named(name, RouterActor, cfg.table, cfg.policy, url, ns, f"shard{i}")
            for i, name in enumerate(routers)
        ]
        timeout = cfg.dispatch.receipt_timeout_s
        decisions = str(cfg.data_dir / "decision-log") if cfg.decision_log else None
        self.receipts = spawn_named(receipts, ReceiptActor, url, ns, routers, timeout, decisions)
        self.callbacks = spawn(CallbackActor, url, ns, cfg.callbacks)
        # Credentials are read here, where the config was read, and handed to each channel's actor.
        self.channels = {
            c.id: spawn_named(channels[c.id], ChannelActor, c, receipts, secrets_of(c))
            for c in cfg.table.channels
        }
        self.dispatchers = [
            spawn(DispatcherActor,
                lane, f"{lane.label}-{i}", redis_url=url, namespace=ns, routers=routers,
                channels=channels, settings=cfg.dispatch, decisions_dir=decisions, policy=cfg.policy,
            )
            for lane in Lane
            for i in range(cfg.dispatchers_per_lane)
        ]  # fmt: skip
        await self.ensure_running()

    def actors(self) -> list[Any]:
        return [*self.routers, self.receipts, self.callbacks, *self.channels.values(), *self.dispatchers]

    async def ensure_running(self) -> None:
        """Start (or restart, after an actor came back) every actor's background loop."""
        calls = [actor.ensure_running.remote() for actor in self.actors()]
        for ref in calls:
            try:
                await ref
            except ACTOR_ERRORS:
                pass  # restarting: the next round catches it
            except ray.exceptions.RayTaskError as exc:  # e.g. Redis unreachable during a restart
                log.warning("an actor could not start its loop yet: %s", exc.cause)

    async def health(self) -> dict[str, ChannelHealth | None]:
        out: dict[str, ChannelHealth | None] = {}
        for name, actor in self.channels.items():
            try:
                out[name] = await actor.health.remote()
            except ACTOR_ERRORS:
                out[name] = None
        return out

    async def supervise(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        while not stop.is_set():
            await self.ensure_running()
            healths = await self.health()
            await self._publish_health(healths)
            enabled = {
                name: health is not None and health.circuit is not CircuitState.OPEN
                for name, health in healths.items()
            }
            for router in self.routers:
                with contextlib.suppress(*ACTOR_ERRORS):  # restarting: the next round tells it
                    await router.set_channels_enabled.remote(enabled)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    async def _publish_health(self, healths: dict[str, ChannelHealth | None]) -> None:
        """For the API's metrics: each channel's latest health (``down`` while its actor restarts)."""
        mapping = {
            name: json.dumps(asdict(h) if h is not None else {"channel": name, "circuit": "down"})
            for name, h in healths.items()
        }
        if mapping:
            with contextlib.suppress(RedisError):
                await self.store.client.hset(self.keys.channel_health(), mapping=mapping)  # type: ignore[arg-type]

    async def accept(self, messages: Sequence[NewMessage]) -> None:
        await self.store.accept(messages)

    async def stop(self) -> None:
        """Stop whatever runs, also after a start that failed halfway."""
        started = [a for a in self.actors() if a is not None]
        # Dispatchers first (no new submits), then receipts and callbacks (flush their logs), then the
        # channels (an SMPP bind unbinds instead of being dropped).
        for actor in [*self.dispatchers, self.receipts, self.callbacks, *self.channels.values()]:
            if actor is not None:
                with contextlib.suppress(*ACTOR_ERRORS):
                    await actor.stop.remote()
        for actor in started:
            ray.kill(actor, no_restart=True)
        if self._client is not None:
            await self._client.aclose()
        if self.redis_server is not None:
            self.redis_server.stop()
