"""Router speed: batched decisions/s and single-decision latency, every policy side by side.

Run with ``python -m benchmarks.router_speed [--quick]``. The arm space has 100 contexts with 5
candidate routes each (drawn from a pool of 25 channels, random prices). Every policy is first
warmed with the same simulated history of submits and receipts (some still in flight), so the
posteriors, the delay model and the pending ledger are non-trivial. Then, with TPS caps that never
bind and again with caps that bind on every batch:

- throughput: ``decide`` on batches of 1, 100 and 10,000 requests (Zipf-distributed contexts);
- latency: many single ``decide`` calls timed one by one, learning every ``LEARN_EVERY`` calls
  outside the timed region, as a production router would.

Ingesting the warm-up history is timed too (feedback events/s). Time is simulated: ``now``
advances by a millisecond per call. MABWiser's peers run in the same process on smaller budgets:
their ``partial_fit`` costs a fraction of a millisecond per context and batch. Results are printed
as a table and written to ``benchmarks/results/router_speed.json``; the targets are reported, not
asserted. Tails (p99) are sensitive to other work on the machine: the JSON records the load.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from benchmarks.peers import register_peers
from engine.domain.enums import Lane
from engine.policies import (
    ArmSpace,
    FeedbackBatch,
    FeedbackKind,
    Policy,
    RequestBatch,
    create,
    known_policies,
)

REFERENCE = "pending_ts"
BATCHES = (1, 100, 10_000)
N_CONTEXTS, ROUTES_PER_CONTEXT, N_CHANNELS = 100, 5, 25
TPS_SLACK, TPS_BINDING = 1e9, 2.0  # binding: 10 tokens per arm per 5 s window, 100 requests/context
STEP_S = 1e-3  # simulated time between two decide calls
LEARN_EVERY = 50  # single-decision loop: learn after this many decisions
TARGET_THROUGHPUT = 1_000_000.0  # decisions/s for pending_ts at batch 10,000
TARGET_P99_US = 100.0
RESULTS = Path(__file__).parent / "results" / "router_speed.json"


@dataclass(frozen=True)
class Budget:
    """How long to measure: seconds per throughput cell, calls for latency, warm-up history."""

    seconds: float
    max_reps: int
    latency_calls: int
    history_chunks: int
    peer_seconds: float
    peer_max_reps: int
    peer_latency_calls: int

    @classmethod
    def of(cls, quick: bool) -> Budget:
        if quick:
            return cls(0.12, 2_000, 2_000, 20, 0.1, 20, 200)
        return cls(0.5, 20_000, 20_000, 90, 0.4, 200, 2_000)


@dataclass(frozen=True)
class Throughput:
    policy: str
    capacity: str
    batch: int
    calls: int
    decisions: int
    seconds: float
    decisions_per_s: float
    ratio_to_pending_ts: float | None = None


@dataclass(frozen=True)
class Latency:
    policy: str
    capacity: str
    calls: int
    p50_us: float
    p99_us: float
    mean_us: float
    max_us: float


@dataclass(frozen=True)
class Learning:
    policy: str
    events: int
    seconds: float
    events_per_s: float


@dataclass
class Results:
    throughput: list[Throughput]
    latency: list[Latency]
    learning: list[Learning]


# -- the world ------------------------------------------------------------------------------------


class World:
    """Arm space plus the truth behind it: delivery probability, DLR delay and missing receipts."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.space = ArmSpace()
        for c in range(N_CONTEXTS):
            for ch in rng.choice(N_CHANNELS, ROUTES_PER_CONTEXT, replace=False):
                price = float(rng.uniform(0.002, 0.05))
                self.space.upsert(f"ctx{c:03d}", f"ch{ch:02d}", price, TPS_SLACK)
        n = self.space.n_arms
        self.p_deliver = rng.uniform(0.6, 0.99, n)
        self.median_delay_s = rng.uniform(2.0, 20.0, n)
        self.p_missing = 0.05
        weights = 1.0 / np.arange(1, N_CONTEXTS + 1) ** 1.1  # Zipf traffic over contexts
        self.context_p = weights / weights.sum()

    def set_tps(self, tps: float) -> None:
        space = self.space
        for aid in range(space.n_arms):
            context = space.contexts[int(space.arm_context[aid])]
            route = space.routes[int(space.arm_route[aid])]
            space.upsert(context, route, float(space.price[aid]), tps)

    def requests(self, rng: np.random.Generator, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        context = rng.choice(N_CONTEXTS, n, p=self.context_p).astype(np.int64)
        lane = rng.choice(len(Lane), n, p=[0.2, 0.5, 0.3]).astype(np.int64)
        return context, lane

    def random_arms(self, rng: np.random.Generator, contexts: NDArray[np.int64]) -> NDArray[np.int64]:
        arms, _ = self.space.candidates(contexts)
        return arms[np.arange(len(contexts)), rng.integers(arms.shape[1], size=len(contexts))]


class Receipts:
    """Receipts still to come for submitted messages; emitted once their report time has passed."""

    def __init__(self, world: World, seed: int) -> None:
        self._world = world
        self._rng = np.random.default_rng(seed)
        self._arm = np.empty(0, np.int64)
        self._kind = np.empty(0, np.int64)
        self._sub = np.empty(0)
        self._rep = np.empty(0)

    def submit(self, arms: NDArray[np.int64], at: NDArray[np.float64]) -> None:
        w, rng = self._world, self._rng
        keep = rng.random(len(arms)) >= w.p_missing
        arms, at = arms[keep], at[keep]
        delivered = rng.random(len(arms)) < w.p_deliver[arms]
        kind = np.where(delivered, FeedbackKind.DELIVERED, FeedbackKind.UNDELIVERED)
        delay = w.median_delay_s[arms] * rng.lognormal(0.0, 1.0, len(arms))
        self._arm = np.concatenate([self._arm, arms])
        self._kind = np.concatenate([self._kind, kind.astype(np.int64)])
        self._sub = np.concatenate([self._sub, at])
        self._rep = np.concatenate([self._rep, at + delay])

    def feedback(self, now: float, arms: NDArray[np.int64], at: NDArray[np.float64]) -> FeedbackBatch:
        """Submits of ``arms`` at ``at`` plus every receipt reported by ``now``."""
        self.submit(arms, at)
        due = self._rep <= now
        kind = np.concatenate([np.full(len(arms), FeedbackKind.SUBMITTED, np.int64), self._kind[due]])
        batch = FeedbackBatch(
            now,
            kind,
            np.concatenate([arms, self._arm[due]]),
            np.concatenate([at, self._sub[due]]),
            np.concatenate([at, self._rep[due]]),
        )
        keep = ~due
        self._arm, self._kind = self._arm[keep], self._kind[keep]
        self._sub, self._rep = self._sub[keep], self._rep[keep]
        return batch


def history(world: World, chunks: int, seed: int, per_chunk: int = 1_000) -> list[FeedbackBatch]:
    """The same warm-up for every policy: ``chunks`` x 10 s of uniformly routed traffic."""
    rng = np.random.default_rng(seed)
    receipts = Receipts(world, seed + 1)
    out = []
    for i in range(chunks):
        contexts, _ = world.requests(rng, per_chunk)
        at = np.sort(rng.uniform(10.0 * i, 10.0 * (i + 1), per_chunk))
        out.append(receipts.feedback(10.0 * (i + 1), world.random_arms(rng, contexts), at))
    return out


# -- measuring ------------------------------------------------------------------------------------


class Clock:
    """Simulated time that only moves forward (policies assume it)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def tick(self) -> float:
        self.now += STEP_S
        return self.now


def throughput(
    policy: Policy, clock: Clock, world: World, batch: int, budget: Budget, *, peer: bool
) -> tuple[int, int, float]:
    """``(calls, decisions, elapsed seconds)`` of back-to-back ``decide`` calls on ``batch``."""
    seconds = budget.peer_seconds if peer else budget.seconds
    max_reps = budget.peer_max_reps if peer else budget.max_reps
    rng = np.random.default_rng(batch)
    pool = [world.requests(rng, batch) for _ in range(8)]
    policy.decide(RequestBatch(clock.tick(), *pool[0]))  # first call pays one-off allocations
    gc.collect()
    calls, elapsed = 0, 0.0
    while calls < max_reps and (elapsed < seconds or calls < 2):
        context, lane = pool[calls % len(pool)]
        now = clock.tick()
        t0 = time.perf_counter()
        policy.decide(RequestBatch(now, context, lane))
        elapsed += time.perf_counter() - t0
        calls += 1
    return calls, calls * batch, elapsed


def latency(policy: Policy, clock: Clock, world: World, calls: int) -> NDArray[np.float64]:
    """Microseconds per single ``decide``; learns every ``LEARN_EVERY`` calls, untimed."""
    rng = np.random.default_rng(calls)
    receipts = Receipts(world, calls + 1)
    context, lane = world.requests(rng, calls)
    chosen = np.empty(calls, np.int64)
    stamps = np.empty(calls)
    out = np.empty(calls)
    gc.collect()
    for i in range(calls):
        now = stamps[i] = clock.tick()
        request = RequestBatch(now, context[i : i + 1], lane[i : i + 1])
        t0 = time.perf_counter_ns()
        decision = policy.decide(request)
        out[i] = (time.perf_counter_ns() - t0) / 1e3
        chosen[i] = decision.arm[0]
        if (i + 1) % LEARN_EVERY == 0:
            part = slice(i + 1 - LEARN_EVERY, i + 1)
            ok = chosen[part] >= 0
            policy.learn(receipts.feedback(now, chosen[part][ok], stamps[part][ok]))
    return out


def warm(name: str, world: World, warmup: list[FeedbackBatch], seed: int) -> tuple[Policy, Learning]:
    """A fresh policy that has learned ``warmup``, and how fast it did."""
    policy = create(name, world.space, np.random.default_rng(seed))
    elapsed = 0.0
    for fb in warmup:
        t0 = time.perf_counter()
        policy.learn(fb)
        elapsed += time.perf_counter() - t0
    events = sum(len(fb) for fb in warmup)
    return policy, Learning(name, events, elapsed, events / elapsed)


# -- the run --------------------------------------------------------------------------------------


def measure(name: str, world: World, warmup: list[FeedbackBatch], budget: Budget, seed: int) -> Results:
    """Every throughput cell and both latency runs of one policy, on one simulated clock."""
    peer = name.startswith("mabwiser")
    world.set_tps(TPS_SLACK)
    policy, learning = warm(name, world, warmup, seed)
    clock = Clock(warmup[-1].now)
    cells: list[Throughput] = []
    lats: list[Latency] = []
    for capacity, tps in (("slack", TPS_SLACK), ("binding", TPS_BINDING)):
        world.set_tps(tps)
        for batch in BATCHES:
            calls, done, secs = throughput(policy, clock, world, batch, budget, peer=peer)
            cells.append(Throughput(name, capacity, batch, calls, done, secs, done / secs))
        n = budget.peer_latency_calls if peer else budget.latency_calls
        us = latency(policy, clock, world, n)
        p50, p99 = (float(x) for x in np.percentile(us, [50, 99]))
        lats.append(Latency(name, capacity, n, p50, p99, float(us.mean()), float(us.max())))
    world.set_tps(TPS_SLACK)
    return Results(cells, lats, [learning])


def run(quick: bool, seed: int) -> Results:
    budget = Budget.of(quick)
    register_peers()
    world = World(seed)
    warmup = history(world, budget.history_chunks, seed + 1)
    out = Results([], [], [])
    for name in known_policies():
        one = measure(name, world, warmup, budget, seed + 2)
        out.throughput += one.throughput
        out.latency += one.latency
        out.learning += one.learning
    out.throughput = with_ratios(out.throughput)
    return out


def with_ratios(cells: list[Throughput]) -> list[Throughput]:
    ref = {(c.capacity, c.batch): c.decisions_per_s for c in cells if c.policy == REFERENCE}
    out = []
    for c in cells:
        base = ref.get((c.capacity, c.batch))
        out.append(replace(c, ratio_to_pending_ts=c.decisions_per_s / base if base else None))
    return out


# -- reporting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    target: str
    capacity: str
    value: float
    threshold: float
    met: bool

    def line(self) -> str:
        unit = "decisions/s" if self.target.startswith("throughput") else "µs"
        sign = ">=" if self.target.startswith("throughput") else "<="
        return (
            f"target {self.target} {sign} {self.threshold:,.0f} {unit} ({self.capacity} TPS caps): "
            f"{self.value:,.1f} {unit} -> {'MET' if self.met else 'NOT MET'}"
        )


def verdicts(r: Results) -> list[Verdict]:
    out = [
        Verdict(
            f"throughput {REFERENCE} batch {c.batch:,}",
            c.capacity,
            c.decisions_per_s,
            TARGET_THROUGHPUT,
            c.decisions_per_s >= TARGET_THROUGHPUT,
        )
        for c in r.throughput
        if c.policy == REFERENCE and c.batch == BATCHES[-1]
    ]
    out += [
        Verdict(
            f"single-decision p99 {REFERENCE}",
            x.capacity,
            x.p99_us,
            TARGET_P99_US,
            x.p99_us <= TARGET_P99_US,
        )
        for x in r.latency
        if x.policy == REFERENCE
    ]
    return out


def table(r: Results) -> Table:
    t = Table(title="Router speed: decisions/s by batch size, single-decision latency, learning")
    t.add_column("policy")
    t.add_column("TPS caps")
    cols = (*(f"batch {b:,}" for b in BATCHES), "vs pending_ts @10k", "p50 µs", "p99 µs")
    for col in (*cols, "learn events/s"):
        t.add_column(col, justify="right")
    learning = {x.policy: x.events_per_s for x in r.learning}
    for lat in r.latency:
        key = (lat.policy, lat.capacity)
        row = {c.batch: c for c in r.throughput if (c.policy, c.capacity) == key}
        ratio = row[BATCHES[-1]].ratio_to_pending_ts
        t.add_row(
            lat.policy,
            lat.capacity,
            *(f"{row[b].decisions_per_s:,.0f}" for b in BATCHES),
            "-" if ratio is None else f"{ratio:.2f}x",
            f"{lat.p50_us:,.1f}",
            f"{lat.p99_us:,.1f}",
            f"{learning[lat.policy]:,.0f}" if lat.capacity == "slack" else "",
        )
    return t


def document(r: Results, verdict: list[Verdict], *, quick: bool, seed: int) -> dict[str, Any]:
    meta = {
        "quick": quick,
        "seed": seed,
        "contexts": N_CONTEXTS,
        "routes_per_context": ROUTES_PER_CONTEXT,
        "channels": N_CHANNELS,
        "tps": {"slack": TPS_SLACK, "binding": TPS_BINDING},
        "step_s": STEP_S,
        "learn_every": LEARN_EVERY,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mabwiser": version("mabwiser"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": os.getloadavg()[0],  # other work on the box skews the tails
    }
    return {
        "meta": meta,
        "throughput": [asdict(c) for c in r.throughput],
        "latency": [asdict(x) for x in r.latency],
        "learning": [asdict(x) for x in r.learning],
        "targets": [asdict(v) for v in verdict],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.router_speed", description="Router speed, every policy."
    )
    parser.add_argument("--quick", action="store_true", help="small budgets (< 20 s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results = run(args.quick, args.seed)
    verdict = verdicts(results)
    console = Console(width=max(Console().width, 132))
    console.print(table(results))
    for v in verdict:
        console.print(v.line())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = document(results, verdict, quick=args.quick, seed=args.seed)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
