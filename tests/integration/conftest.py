"""The live engine with its real parts: an embedded Redis per test, one local Ray per session.

Every test runs its own :class:`~engine.runtime.engine.Engine` (own data folder, own Redis, own
actors, own namespace) under its supervisor, inside :func:`running`, which stops it even when the
test fails. Every wait is bounded (:meth:`EngineRun.wait_until`) and fails with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ray

from engine.callbacks.settings import CallbackSettings
from engine.dispatch.dispatcher import DispatchSettings
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.records import Record
from engine.policies.registry import DEFAULT_POLICY
from engine.routing.table import RouteTable, load_route_table
from engine.runtime.actors import ACTOR_ERRORS
from engine.runtime.engine import Engine, EngineConfig
from engine.runtime.traffic import messages, mobile_numbers

START_TIMEOUT_S = 90.0  # a busy 2-core machine starts ~8 actors in 5-20 s
STOP_TIMEOUT_S = 30.0
FAST = DispatchSettings(receipt_timeout_s=5.0, claim_idle_ms=2_000)


def route_table(folder: Path, text: str) -> RouteTable:
    """Write a route table where an operator would, and load it the way the engine does."""
    path = folder / "routes.toml"
    path.write_text(text)
    return load_route_table(path)


def config(
    folder: Path,
    table: str,
    *,
    policy: str = DEFAULT_POLICY,
    dispatch: DispatchSettings = FAST,
    decision_log: bool = True,
) -> EngineConfig:
    return EngineConfig(
        route_table(folder, table),
        policy=policy,
        data_dir=folder / "data",
        namespace=f"it-{secrets.token_hex(4)}",
        dispatch=dispatch,
        decision_log=decision_log,
        callbacks=CallbackSettings(allow_private=True),  # the test's receivers listen on loopback
    )


def traffic(
    regions: Sequence[str], count: int, lanes: Sequence[Lane], seed: int = 0, per_region: int = 30
) -> list[NewMessage]:
    rng = np.random.default_rng(seed)
    return messages(mobile_numbers(regions, per_region, rng), count, lanes, time.time(), rng)


def finals(counters: dict[str, int]) -> int:
    return sum(v for k, v in counters.items() if k.startswith("final:"))


def event_time(history: Sequence[dict[str, object]], status: MessageStatus) -> float | None:
    """When ``status`` first appears in a history (None if it never does)."""
    for event in history:
        if event["status"] == status.value:
            at = event["at"]
            assert isinstance(at, int | float)
            return float(at)
    return None


def statuses(history: Sequence[dict[str, object]]) -> list[str]:
    return [str(e["status"]) for e in history]


def time_ordered(history: Sequence[dict[str, object]]) -> bool:
    times: list[float] = []
    for event in history:
        at = event["at"]
        assert isinstance(at, int | float), event
        times.append(float(at))
    return times == sorted(times)


@dataclass
class EngineRun:
    """A started engine and its supervisor task."""

    engine: Engine
    supervisor: asyncio.Task[None]

    @property
    def data_dir(self) -> Path:
        return self.engine.config.data_dir

    def check_supervisor(self) -> None:
        """A supervisor that died stops restarting actors' loops: fail at once, with its error."""
        if self.supervisor.done():
            error = self.supervisor.exception() if not self.supervisor.cancelled() else None
            raise AssertionError(f"the engine's supervisor stopped: {error!r}") from error

    async def wait_until(
        self,
        condition: Callable[[], Awaitable[bool]],
        timeout_s: float,
        what: Callable[[], Awaitable[str]] | str,
        every_s: float = 0.25,
    ) -> float:
        """Poll ``condition`` until it holds; seconds taken. Fails describing ``what`` was awaited."""
        start = time.monotonic()
        while True:
            self.check_supervisor()
            if await condition():
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                detail = what if isinstance(what, str) else await what()
                raise AssertionError(f"not within {timeout_s:.0f} s: {detail}")
            await asyncio.sleep(every_s)

    async def wait_final(self, accepted: int, timeout_s: float) -> float:
        """Until the final-status counters add up to ``accepted``."""

        async def done() -> bool:
            return finals(await self.engine.store.counters()) >= accepted

        async def describe() -> str:
            counters = await self.engine.store.counters()
            return f"{finals(counters)} of {accepted} messages final; counters {counters}"

        return await self.wait_until(done, timeout_s, describe)

    async def wait_all_final(self, ids: Sequence[str], timeout_s: float) -> float:
        """Until every one of these messages has a final status (read from its record)."""

        async def done() -> bool:
            return all(MessageStatus(s).is_final for s in await self.status_counts(ids))

        async def describe() -> str:
            counts = await self.status_counts(ids)
            waiting = {s: n for s, n in counts.items() if not MessageStatus(s).is_final}
            return f"{sum(waiting.values())} of {len(ids)} messages not final: {counts}"

        return await self.wait_until(done, timeout_s, describe, every_s=0.5)

    async def records(self, ids: Sequence[str]) -> list[Record]:
        found = await self.engine.store.fetch(ids)
        missing = [mid for mid, r in zip(ids, found, strict=True) if r is None]
        assert not missing, f"{len(missing)} accepted messages have no record (first: {missing[0]})"
        return [r for r in found if r is not None]

    async def histories(self, ids: Sequence[str]) -> dict[str, list[dict[str, object]]]:
        records = [r for r in await self.engine.store.fetch(ids) if r is not None]
        assert len(records) == len(ids), "a message has no record"
        return dict(zip(ids, await self.engine.store.histories(records), strict=True))

    async def status_counts(self, ids: Sequence[str]) -> Counter[str]:
        return Counter(r["status"] for r in await self.records(ids))


@contextlib.asynccontextmanager
async def running(cfg: EngineConfig) -> AsyncIterator[EngineRun]:
    """Start an engine and its supervisor; stop both afterwards whatever happened."""
    engine = Engine(cfg)
    stop = asyncio.Event()
    supervisor: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(engine.start(), START_TIMEOUT_S)
        supervisor = asyncio.create_task(engine.supervise(stop, every_s=0.5))
        yield EngineRun(engine, supervisor)
    finally:
        stop.set()
        failure: BaseException | None = None
        if supervisor is not None:
            try:
                await asyncio.wait_for(supervisor, STOP_TIMEOUT_S)
            except Exception as exc:  # reported after the engine is down
                failure = exc
        await shutdown(engine)
        if failure is not None:
            raise AssertionError(f"the engine's supervisor failed: {failure!r}") from failure


async def shutdown(engine: Engine) -> None:
    """``Engine.stop``; if that fails or hangs, kill what is left so the next test starts clean."""
    try:
        await asyncio.wait_for(engine.stop(), STOP_TIMEOUT_S)
        return
    except Exception:
        leftovers = [a for a in engine.actors() if a is not None]
        for actor in leftovers:
            with contextlib.suppress(*ACTOR_ERRORS, ValueError):
                ray.kill(actor, no_restart=True)
        if engine.redis_server is not None:
            engine.redis_server.stop()
        raise
