"""Pipeline speed: messages/s end to end, the Ray engine next to the same logic in one process.

Run with ``python -m benchmarks.pipeline [--quick] [--messages N]``. Each cell pre-enqueues N
messages in bulk (pipelined XADDs of ``ENQUEUE_CHUNK`` messages, dispatchers already running) into
a durable embedded Redis (append-only file, ``appendfsync everysec``) and follows them through the
lane streams, the router, fast healthy simulated channels (TPS limits that never bind, receipts
after ~50 ms), receipt correlation and the router's statistics, at dispatcher batch sizes 1, 100
and 1,000 (``DispatchSettings.batch_size``), two dispatchers per lane (``--dispatchers``), in two modes:

- ``ray``: the real :class:`Engine` (router, receipt, channel and dispatcher actors);
- ``inproc``: :class:`benchmarks.pipeline_local.LocalEngine`, the same plain classes in one
  asyncio loop, with direct calls where the engine makes Ray calls.

Reported per cell: the time from the first XADD to the last ``sent`` (throughput = N / that time)
and to the last final status; enqueue -> submit and enqueue -> final latency percentiles, read back
from each message's ``created_at`` / ``submitted_at`` / ``status_at``; the CPU used per process
(driver, each actor class, redis-server) while the messages were being sent, as cores and as µs per
message (the figure least skewed by other work on the machine); Redis commands per message and the
µs Redis spent inside them (INFO commandstats); and the Ray overhead as a ratio (Ray msgs/s /
in-process msgs/s). With all N enqueued at once, latency is mostly time spent waiting in the
backlog: p50 is about half the drain time. Batch size 1 costs a round trip per message, so its
cells are capped at ``Budget.batch1_messages``.

Before the cells, a probe times 200 Ray actor calls one at a time (wall and CPU per call, caller
and actor together): the floor under every cross-actor hop, and the figure that moves most between
machines (1.4-2.0 ms wall and 1.5-2 ms of CPU per call on the 2-core machine).

Ray starts once per run; every cell gets a fresh Redis, data folder and namespace, and its engine is
stopped (actors killed) before the next one. ``--rounds N`` runs every cell N times, the rounds
interleaved, and reports each cell's best round (all rounds are in the JSON): the machine's speed
drifts from minute to minute, which a speed probe before each cell records. Results are printed as
tables and written to ``benchmarks/results/pipeline.json``; the targets are reported, not asserted.
The machine's other work skews everything here: the JSON records the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import ray
from rich.console import Console
from rich.table import Table

from benchmarks.pipeline_local import LocalEngine
from benchmarks.procstat import cpu_share, cpu_times, speed_probe
from benchmarks.verdict import Verdict
from engine.dispatch.dispatcher import DispatchSettings
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.heap import settle_heap
from engine.infra.keys import DISPATCH_GROUP, Keys
from engine.infra.server import redis_binary
from engine.infra.store import MessageStore
from engine.policies.registry import DEFAULT_POLICY
from engine.routing.table import RouteTable, parse_route_table
from engine.runtime.engine import Engine, EngineConfig, init_ray
from engine.runtime.traffic import messages, mobile_numbers

BATCHES = (1, 100, 1_000)
MODES = ("ray", "inproc")
REGIONS = ("NG", "KE", "GB", "IN", "US", "DE")
NUMBERS_PER_REGION = 50
ENQUEUE_CHUNK = 5_000  # messages per pipelined accept (3 commands each)
POLL_S = 0.02
N_CHANNELS = 3
CHANNEL_TPS = 1e6  # never binds
CHANNEL_WINDOW = 1_000_000  # never binds
FAST_CHANNEL: dict[str, str | float] = {
    "preset": "healthy",
    "receipt_median_s": 0.05,
    "receipt_sigma": 0.3,
    "missing_rate": 0.0,
    "submit_latency_s": 0.001,
}
# Two dispatchers per lane (``a2p serve --dispatchers 2``): while one waits on the router, the
# channels or Redis, the other works. Interleaved runs at batch 1,000: one per lane kept 1.66-1.70
# of the two cores busy and sent 20.1-20.9k msgs/s; two per lane, 1.75-1.76 cores and 21.4-22.8k.
DISPATCHERS_PER_LANE = 2
TARGET_MSGS_PER_S = 20_000.0  # sustained end to end, Ray path, batch 1,000
TARGET_RAY_RATIO = 1 / 3  # Ray path within 3x of the in-process reference at batch 1,000
RESULTS = Path(__file__).parent / "results" / "pipeline.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """How many messages per cell, how many to warm up with, and how long a cell may take."""

    messages: int
    batch1_messages: int
    deadline_s: float

    @classmethod
    def of(cls, quick: bool, messages: int | None) -> Budget:
        # 100,000 messages: five seconds of traffic at the target, long enough to call sustained.
        base = cls(4_000, 150, 25.0) if quick else cls(100_000, 1_000, 90.0)
        return replace(base, messages=messages) if messages else base

    def count(self, batch: int) -> int:
        return min(self.messages, self.batch1_messages) if batch == 1 else self.messages

    @staticmethod
    def warmup(batch: int) -> int:
        """Enough to run every code path and open every connection once, per lane."""
        return min(max(150, 6 * batch), 6_000)


@dataclass(frozen=True)
class Cell:
    mode: str
    batch: int
    messages: int
    complete: bool  # every message sent and final before the deadline
    enqueue_s: float  # first XADD to last XADD acknowledged
    sent_s: float  # first XADD to the last message sent
    final_s: float  # first XADD to the last final status
    sent_per_s: float
    final_per_s: float
    submit_p50_ms: float
    submit_p99_ms: float
    final_p50_ms: float
    final_p99_ms: float
    statuses: dict[str, int]
    receipts: dict[str, int]
    cpu_cores: dict[str, float]  # cores busy per process group, first XADD to all sent
    cpu_us_per_msg: dict[str, float]  # CPU per message per process group, same window
    redis_commands_per_msg: dict[str, float]  # INFO commandstats calls, first XADD to all final
    redis_us_per_msg: dict[str, float]  # INFO commandstats usec (inside Redis, replies excluded), same
    load_average_1m: float  # at the start of the cell: other work on the machine skews every figure
    probe_ms: float  # CPU ms of a fixed Python workload at the start of the cell: the machine's speed then
    phases: dict[str, float]  # engine start, warm-up and stop, seconds
    ray_ratio: float | None = None  # Ray msgs/s over in-process msgs/s (sent), same batch size
    round: int = 0  # which of the interleaved rounds it comes from

    @property
    def cpu_total_us(self) -> float:
        return sum(self.cpu_us_per_msg.values())


# -- the pipelines ----------------------------------------------------------------------------------


class Pipeline(Protocol):
    store: MessageStore

    async def receipt_stats(self) -> dict[str, int]: ...

    async def stop(self) -> None: ...


class RayPipeline:
    """The real engine, supervised as ``a2p run`` supervises it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self._stop = asyncio.Event()
        self._supervisor = asyncio.get_running_loop().create_task(engine.supervise(self._stop))

    async def receipt_stats(self) -> dict[str, int]:
        stats: dict[str, int] = await self.engine.receipts.stats.remote()
        return stats

    async def stop(self) -> None:
        self._stop.set()
        await self._supervisor
        await self.engine.stop()


class LocalPipeline:
    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine
        self.store = engine.store

    async def receipt_stats(self) -> dict[str, int]:
        return self.engine.receipt_stats()

    async def stop(self) -> None:
        await self.engine.stop()


async def start(mode: str, config: EngineConfig) -> Pipeline:
    if mode == "ray":
        return RayPipeline(await Engine(config).start())
    return LocalPipeline(await LocalEngine(config).start())


def route_table() -> RouteTable:
    """Fast healthy channels behind one default route; TPS caps and windows never bind."""
    channels = [
        {"id": f"fast-{i}", "kind": "simulated", "tps": CHANNEL_TPS, "window": CHANNEL_WINDOW,
         "seed": 1 + i, **FAST_CHANNEL}
        for i in range(N_CHANNELS)
    ]  # fmt: skip
    candidates = [
        {"channel": c["id"], "price": 0.010 + 0.001 * i, "tps": CHANNEL_TPS} for i, c in enumerate(channels)
    ]
    return parse_route_table(
        {"channels": channels, "routes": [{"country": "*", "candidates": candidates}]}, "pipeline benchmark"
    )


# -- one cell ---------------------------------------------------------------------------------------


async def drained(store: MessageStore) -> bool:
    """Every entry of every lane delivered to the dispatchers and acknowledged (sent or final)."""
    keys: Keys = store.keys
    pipe = store.client.pipeline(transaction=False)
    for lane in Lane:
        pipe.xinfo_stream(keys.lane(lane))
        pipe.xinfo_groups(keys.lane(lane))
    replies: list[Any] = await pipe.execute()
    for stream, groups in zip(replies[::2], replies[1::2], strict=True):
        group = next(g for g in groups if g["name"] == DISPATCH_GROUP)
        if group["pending"] or group["last-delivered-id"] != stream["last-generated-id"]:
            return False
    return True


async def finals(store: MessageStore) -> int:
    return sum(v for k, v in (await store.counters()).items() if k.startswith("final:"))


async def wait_for(store: MessageStore, final_count: int, deadline: float) -> tuple[bool, bool]:
    """Wait until all is sent, then until ``final_count`` finals; whether each came in time."""
    while not await drained(store):
        if time.time() > deadline:
            return False, False
        await asyncio.sleep(POLL_S)
    while await finals(store) < final_count:
        if time.time() > deadline:
            return True, False
        await asyncio.sleep(POLL_S)
    return True, True


async def enqueue(store: MessageStore, batch: Sequence[NewMessage]) -> None:
    """Stamp each chunk with the time its XADDs start (``created_at``, the ``accepted`` entry)."""
    for i in range(0, len(batch), ENQUEUE_CHUNK):
        now, chunk = time.time(), batch[i : i + ENQUEUE_CHUNK]
        for m in chunk:
            # In place, though frozen: these messages are the benchmark's own and not yet shared,
            # and dataclasses.replace cost 5.6 µs per message, a quarter of the driver's CPU (time
            # the harness took from the engine on the same two cores).
            object.__setattr__(m, "created_at", now)
        await store.accept(chunk)


async def read_back(store: MessageStore, ids: Sequence[str]) -> list[list[str | None]]:
    fields = ("status", "created_at", "submitted_at", "status_at")
    out: list[list[str | None]] = []
    for i in range(0, len(ids), 10_000):
        out += [[(r or {}).get(f) for f in fields] for r in await store.fetch(ids[i : i + 10_000])]
    return out


def percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    p50, p99 = np.percentile(np.array(values) * 1000.0, [50, 99])
    return float(p50), float(p99)


async def command_calls(store: MessageStore) -> tuple[Counter[str], Counter[str]]:
    """Calls and µs spent per command so far, without this benchmark's own polling (XINFO, INFO).
    A script's µs include the commands it runs, which are counted under their own names too."""
    stats: dict[str, Any] = await store.client.info("commandstats")
    own = {
        k.removeprefix("cmdstat_"): v for k, v in stats.items() if k not in {"cmdstat_xinfo", "cmdstat_info"}
    }
    calls = Counter({k: int(v["calls"]) for k, v in own.items()})
    spent = Counter({k: int(v["usec"]) for k, v in own.items()})
    return calls, spent


@dataclass(frozen=True)
class Run:
    """What happened to one cell's traffic, before it is summed up."""

    t0: float
    enqueued: float
    complete: bool
    cpu: dict[str, float]
    cpu_s: float
    commands: Counter[str]
    command_us: Counter[str]
    rows: list[list[str | None]]
    load: float
    probe_ms: float
    warmup_s: float


async def drive(pipe: Pipeline, traffic: list[NewMessage], warm: list[NewMessage], limit: float) -> Run:
    store = pipe.store
    began = time.time()
    await enqueue(store, warm)
    await wait_for(store, len(warm), time.time() + limit)
    warmup_s = time.time() - began
    load, probe = os.getloadavg()[0], speed_probe()
    (calls0, us0), cpu0, t0 = await command_calls(store), cpu_times(), time.time()
    await enqueue(store, traffic)
    t_enqueued = time.time()
    deadline = t0 + limit
    while not await drained(store) and time.time() < deadline:
        await asyncio.sleep(POLL_S)
    cpu1, t_sent = cpu_times(), time.time()
    sent_ok, final_ok = await wait_for(store, len(warm) + len(traffic), deadline)
    calls, us = await command_calls(store)
    rows = await read_back(store, [m.id for m in traffic])
    return Run(
        t0, t_enqueued - t0, sent_ok and final_ok, cpu_share(cpu0, cpu1, t_sent - t0), t_sent - t0,
        calls - calls0, us - us0, rows, load, probe, warmup_s,
    )  # fmt: skip


def summarise(mode: str, batch: int, run: Run, receipts: dict[str, int], phases: dict[str, float]) -> Cell:
    t0, rows = run.t0, run.rows
    submit, final, statuses = [], [], Counter[str]()
    last_sent = last_final = t0
    for status, created, submitted, at in rows:
        statuses[status or "missing"] += 1
        if created and submitted:
            submit.append(float(submitted) - float(created))
            last_sent = max(last_sent, float(submitted))
        if status and created and at and MessageStatus(status).is_final:
            final.append(float(at) - float(created))
            last_final = max(last_final, float(at))
    sent_s, final_s = last_sent - t0, last_final - t0
    n = len(rows)
    (s50, s99), (f50, f99) = percentiles(submit), percentiles(final)
    per_msg = run.cpu_s / n * 1e6
    return Cell(
        mode, batch, n, run.complete, run.enqueued, sent_s, final_s,
        len(submit) / sent_s if sent_s > 0 else 0.0, len(final) / final_s if final_s > 0 else 0.0,
        s50, s99, f50, f99, dict(statuses), receipts,
        run.cpu,
        {k: round(v * per_msg, 1) for k, v in run.cpu.items()},
        {k: round(v / n, 2) for k, v in run.commands.most_common() if v / n >= 0.005},
        {k: round(v / n, 2) for k, v in run.command_us.most_common() if v / n >= 0.05},
        run.load, run.probe_ms, phases,
    )  # fmt: skip


async def run_cell(
    mode: str, batch: int, budget: Budget, root: Path, seed: int, *, dispatchers: int = DISPATCHERS_PER_LANE
) -> Cell:
    tag = f"{mode}-b{batch}-{os.getpid()}"
    config = EngineConfig(
        route_table(),
        data_dir=root / tag,
        namespace=f"bench-{tag}",
        dispatch=DispatchSettings(batch_size=batch, receipt_timeout_s=600.0),
        dispatchers_per_lane=dispatchers,
    )
    rng = np.random.default_rng(seed)
    numbers = mobile_numbers(REGIONS, NUMBERS_PER_REGION, rng)
    now = time.time()
    traffic = messages(numbers, budget.count(batch), list(Lane), now, rng)
    warm = messages(numbers, Budget.warmup(batch), list(Lane), now, rng)
    began = time.time()
    pipe = await start(mode, config)
    started = time.time()
    try:
        run = await drive(pipe, traffic, warm, budget.deadline_s)
        receipts = await pipe.receipt_stats()
    finally:
        stopping = time.time()
        await pipe.stop()
        shutil.rmtree(root / tag, ignore_errors=True)
    phases = {"start_s": started - began, "warmup_s": run.warmup_s, "stop_s": time.time() - stopping}
    return summarise(mode, batch, run, receipts, {k: round(v, 2) for k, v in phases.items()})


async def run(
    budget: Budget,
    seed: int,
    console: Console,
    batches: Sequence[int] = BATCHES,
    rounds: int = 1,
    *,
    dispatchers: int = DISPATCHERS_PER_LANE,
) -> list[Cell]:
    """Every cell of every round, the rounds interleaved (the machine's speed drifts between them)."""
    root = Path(tempfile.mkdtemp(prefix="a2p-pipeline-"))
    cells: list[Cell] = []
    try:
        for r in range(rounds):
            for batch in batches:
                for mode in MODES:
                    started = time.time()
                    cell = replace(
                        await run_cell(mode, batch, budget, root, seed, dispatchers=dispatchers), round=r
                    )
                    cells.append(cell)
                    console.log(
                        f"round {r + 1}/{rounds} {mode:6} batch {batch:>5,}: {cell.messages:,} msgs, "
                        f"{cell.sent_per_s:,.0f} sent/s, {cell.final_per_s:,.0f} final/s, "
                        f"probe {cell.probe_ms:.0f} ms; {time.time() - started:.1f} s in all: "
                        + ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in cell.phases.items())
                    )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return cells


def best(cells: list[Cell]) -> list[Cell]:
    """The best round of each (mode, batch) by messages/s to all sent, with the Ray ratio of bests."""
    top: dict[tuple[str, int], Cell] = {}
    for c in cells:
        key = (c.mode, c.batch)
        if key not in top or c.sent_per_s > top[key].sent_per_s:
            top[key] = c
    return with_ratios(list(top.values()))


def with_ratios(cells: list[Cell]) -> list[Cell]:
    ref = {c.batch: c.sent_per_s for c in cells if c.mode == "inproc"}
    return [
        replace(c, ray_ratio=c.sent_per_s / ref[c.batch] if c.mode == "ray" and ref.get(c.batch) else None)
        for c in cells
    ]


@ray.remote(num_cpus=0)
class Echo:
    """The far end of :func:`ray_call_probe`."""

    async def echo(self, payload: bytes) -> bytes:
        return payload


@dataclass(frozen=True)
class RayCallProbe:
    calls: int
    wall_us: float  # per call, one call at a time
    cpu_us: float  # per call, the caller (this process) and the actor together


async def ray_call_probe(calls: int = 200) -> RayCallProbe:
    """What one Ray actor call costs here now, with a 1 KB argument and answer."""
    echo = Echo.remote()  # type: ignore[attr-defined]
    payload = b"x" * 1024
    await echo.echo.remote(payload)  # the actor is up
    cpu0, started = cpu_times(), time.perf_counter()
    for _ in range(calls):
        await echo.echo.remote(payload)
    wall = time.perf_counter() - started
    cpu1 = cpu_times()
    ray.kill(echo)
    used = sum(cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in ("driver", "ray::Echo"))
    return RayCallProbe(calls, wall / calls * 1e6, used / calls * 1e6)


# -- reporting --------------------------------------------------------------------------------------


def verdicts(cells: list[Cell]) -> list[Verdict]:
    out: list[Verdict] = []
    for c in cells:
        if c.batch != BATCHES[-1]:
            continue
        for what, value in (("sent", c.sent_per_s), ("final", c.final_per_s)):
            out.append(
                Verdict(
                    f"{c.mode} batch {c.batch:,} msgs/s to all {what}",
                    value,
                    TARGET_MSGS_PER_S,
                    value >= TARGET_MSGS_PER_S,
                )
            )
        if c.ray_ratio is not None:
            out.append(
                Verdict(
                    f"ray / inproc msgs/s at batch {c.batch:,}",
                    c.ray_ratio,
                    TARGET_RAY_RATIO,
                    c.ray_ratio >= TARGET_RAY_RATIO,
                )
            )
    return out


COLUMNS = (
    "messages", "enqueue s", "all sent s", "sent msg/s", "all final s", "final msg/s",
    "submit p50 ms", "submit p99 ms", "final p50 ms", "final p99 ms", "ray / inproc",
)  # fmt: skip


def table(cells: list[Cell]) -> Table:
    t = Table(title="Pipeline: N messages enqueued in bulk, first XADD -> all sent -> all final (receipt)")
    t.add_column("batch", justify="right")
    t.add_column("mode")
    for col in COLUMNS:
        t.add_column(col, justify="right")
    for c in cells:
        t.add_row(
            f"{c.batch:,}", c.mode + ("" if c.complete else " (incomplete)"), f"{c.messages:,}",
            f"{c.enqueue_s:.2f}", f"{c.sent_s:.2f}", f"{c.sent_per_s:,.0f}", f"{c.final_s:.2f}",
            f"{c.final_per_s:,.0f}", f"{c.submit_p50_ms:,.0f}", f"{c.submit_p99_ms:,.0f}",
            f"{c.final_p50_ms:,.0f}", f"{c.final_p99_ms:,.0f}",
            "" if c.ray_ratio is None else f"{c.ray_ratio:.2f}x",
        )  # fmt: skip
    return t


def cpu_table(cells: list[Cell]) -> Table:
    t = Table(title="Where the CPU goes while sending: µs per message by process; Redis commands per message")
    t.add_column("batch", justify="right")
    t.add_column("mode")
    t.add_column("CPU µs/msg", justify="right")
    t.add_column("cores", justify="right")
    t.add_column("by process (µs/msg)")
    t.add_column("Redis cmds/msg", justify="right")
    t.add_column("inside Redis (µs/msg)")
    t.add_column("load 1m", justify="right")
    t.add_column("probe ms", justify="right")
    for c in cells:
        top = ", ".join(
            f"{k.removeprefix('ray::').removesuffix('Actor')} {v:,.0f}"
            for k, v in list(c.cpu_us_per_msg.items())[:6]
        )
        t.add_row(
            f"{c.batch:,}", c.mode, f"{c.cpu_total_us:,.0f}", f"{sum(c.cpu_cores.values()):.2f}", top,
            f"{sum(c.redis_commands_per_msg.values()):.1f}",
            ", ".join(f"{k} {v:.1f}" for k, v in list(c.redis_us_per_msg.items())[:5]),
            f"{c.load_average_1m:.1f}", f"{c.probe_ms:.0f}",
        )  # fmt: skip
    return t


def machine() -> dict[str, Any]:
    try:
        redis_version = subprocess.run(
            [redis_binary(), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except (OSError, RuntimeError):
        redis_version = "?"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "redis_py": version("redis"),
        "redis_server": redis_version,
        "numpy": np.__version__,
        "load_average_1m_at_end": os.getloadavg()[0],
    }


def document(
    cells: list[Cell],
    rounds: list[Cell],
    verdict: list[Verdict],
    budget: Budget,
    probe: RayCallProbe,
    *,
    quick: bool,
    seed: int,
    dispatchers: int,
) -> dict[str, Any]:
    settings = {
        "quick": quick,
        "seed": seed,
        "rounds": 1 + max((c.round for c in rounds), default=0),
        "budget": asdict(budget),
        "warmup": {b: Budget.warmup(b) for b in BATCHES},
        "batches": BATCHES,
        "modes": MODES,
        "enqueue_chunk": ENQUEUE_CHUNK,
        "lanes": [lane.label for lane in Lane],
        "dispatchers_per_lane": dispatchers,
        "router_shards": 1,
        "policy": DEFAULT_POLICY,
        "decision_log": True,
        "redis": "embedded, appendonly yes, appendfsync everysec, unix socket",
        "channels": {"count": N_CHANNELS, "tps": CHANNEL_TPS, "window": CHANNEL_WINDOW, **FAST_CHANNEL},
        "destinations": {"regions": REGIONS, "numbers_per_region": NUMBERS_PER_REGION},
    }
    targets = {
        "msgs_per_s_end_to_end": TARGET_MSGS_PER_S,
        "ray_over_inproc_at_batch_1000": TARGET_RAY_RATIO,
        "results": [asdict(v) for v in verdict],
    }
    return {
        "machine": {**machine(), "ray_call": asdict(probe)},
        "settings": settings,
        "cells": [asdict(c) for c in cells],  # the best round of each
        "rounds": [asdict(c) for c in rounds],  # every round
        "targets": targets,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer messages (about a minute)")
    parser.add_argument("--messages", type=int, default=None, help="messages per cell (batch 1: capped)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batches", type=int, nargs="+", default=list(BATCHES), help="dispatcher batch sizes to measure"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; the best of each cell counts"
    )
    parser.add_argument(
        "--dispatchers",
        type=int,
        default=DISPATCHERS_PER_LANE,
        help="dispatcher actors per lane (a2p's --dispatchers)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=180)
    budget = Budget.of(args.quick, args.messages)
    logging.basicConfig(level=logging.WARNING)
    init_ray(None)
    settle_heap()  # as every engine process does: the in-process reference runs here
    try:
        probe = asyncio.run(ray_call_probe())
        console.log(
            f"Ray call probe: {probe.wall_us:,.0f} µs wall and {probe.cpu_us:,.0f} µs of CPU per actor call"
        )
        rounds = asyncio.run(
            run(budget, args.seed, console, args.batches, max(1, args.rounds), dispatchers=args.dispatchers)
        )
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
    cells = best(rounds)
    verdict = verdicts(cells)
    console.print(table(cells))
    console.print(cpu_table(cells))
    for v in verdict:
        console.print(v.line())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            document(
                cells,
                rounds,
                verdict,
                budget,
                probe,
                quick=args.quick,
                seed=args.seed,
                dispatchers=args.dispatchers,
            ),
            indent=2,
        )
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
