"""Demo recovery: does ``a2p demo`` bring Nigerian traffic back to ng-direct after its outage?

Run with ``python -m benchmarks.demo_recovery [--seeds 25] [--policy SPEC ...] [--jobs 2]``. A virtual-time
replica of the demo's routing loop drives the production router core (:class:`RouterService`, with
a manual clock and a seeded generator) with the demo's plan, traffic mix, route table and channel
presets: every ``pump`` seconds new messages of every country and lane are routed per lane (one
dispatcher batch each, failover on refusals), SUBMITTED / FAILED feedback goes to the router at
submit time, and receipts (sampled as the simulated channel samples them: delivery, lognormal delay,
missing receipts; none at all from the black hole) reach the router in batches every ``feed``
seconds, as the receipt processor hands them on. Left out: Ray and Redis latencies, the channels'
circuit breakers and local TPS limiters, the receipt processor's own timeouts (they never reach the
router) and the demo loop's drift beyond its 0.25 s sleep.

For each policy spec and seed it records ng-direct's share of Nigerian messages per 20 s bin (by
creation time). A run *recovered* when that share is at least ``--recovered`` (15 %) over the last
minute (120-180 s). The table shows, per policy, the failure rate with its exact binomial 95 %
upper bound and the mean share before, during and after the outage and per bin. Policies run side by
side on the same seeds (same traffic and channel randomness). Results go to
``benchmarks/results/demo_recovery.json``.

Why runs fail: once traffic has left the dead route, its successes and its (fading) silence fade
at the same rate, so its mean stays where the outage left it while the evidence thins out. The
change detector keeps the route on its short memory for ``CHANGE_HOLD`` short half-lives after it
last fired; if the thin short-memory posterior has not drawn enough traffic back by then, the route
falls back to its long memory (in a traced run: a mean near 0.8 on about a thousand pseudo-observations,
against 0.97 for global-a) and a trickle of exploration is too little evidence to fire the detector
again at its default ``change_z=3.5``. The demo's policy fires it at 2.0, and the first receipts from
the recovered route switch it back to its short memory.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.simulated import Behaviour, preset
from engine.destinations import DestinationResolver, OperatorTable
from engine.domain.clock import ManualClock
from engine.domain.types import Destination
from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.routing.service import RouterService
from engine.routing.table import RouteTable, load_route_table
from engine.runtime.demo import COUNTRIES, DEMO_POLICY, LANES, DemoPlan
from engine.runtime.traffic import mobile_numbers

RESULTS = Path(__file__).parent / "results" / "demo_recovery.json"
# The peers: the demo's policy before this benchmark (the change detector at its default z of 3.5),
# more exploration instead of a quicker detector, and textbook Thompson sampling.
PREVIOUS = "pending_ts:half_life_s=120,fast_half_life_s=10,fade_silence=true"
NAMES = {  # short names for the tables
    DEMO_POLICY: "demo",
    PREVIOUS: "demo, z 3.5",
    f"{PREVIOUS},explore=0.02": "demo, z 3.5, explore 2 %",
    "thompson": "thompson",
}
BIN_S = 20.0


def _whole_bins(start_s: float, end_s: float) -> tuple[float, float]:
    """The bins that lie wholly within ``[start_s, end_s)``, as ``(first start, last end)``."""
    return math.ceil(start_s / BIN_S) * BIN_S, math.floor(end_s / BIN_S) * BIN_S


_PLAN = DemoPlan()  # a2p demo's plan: the windows below follow it
BEFORE_S = _whole_bins(0.0, _PLAN.outage_at_s)
OUTAGE_BINS_S = _whole_bins(_PLAN.outage_at_s, _PLAN.outage_at_s + _PLAN.outage_for_s)  # traffic has left
AFTER_S = (_PLAN.duration_s - 60.0, _PLAN.duration_s)  # the last minute: ng-direct must be back
COUNTRY = "NG"
EPOCH = 1_700_000_000.0


@dataclass(frozen=True)
class Replica:
    """How the replica steps through the demo in virtual time."""

    pump_s: float = 0.25  # the demo's loop: new messages every pump
    feed_s: float = 0.1  # the receipt processor hands receipts on at most this often
    route_lag_s: float = 0.01  # from the pump to the routing decision and the submit
    countries: tuple[str, ...] = tuple(COUNTRIES)  # which of the demo's countries send traffic


@dataclass
class _Channel:
    """The simulated channel's sampling (adapters.simulated.channel), without its event loop."""

    behaviour: Behaviour
    rng: np.random.Generator
    tokens: float = 0.0
    tokens_at: float = 0.0

    def set_behaviour(self, behaviour: Behaviour, now: float) -> None:
        self.behaviour = behaviour
        self.tokens, self.tokens_at = max(behaviour.tps_cap or 0.0, 1.0), now

    def _token(self, tps: float, now: float) -> bool:
        self.tokens = min(max(tps, 1.0), self.tokens + max(0.0, now - self.tokens_at) * tps)
        self.tokens_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def submit(
        self, n: int, now: float
    ) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]:
        """Per message: 0 accepted, 1 throttled, 2 rejected; and the receipts to come (message
        index, due time, delivered)."""
        b = self.behaviour
        u = self.rng.random((n, 6))
        delays = self.rng.lognormal(math.log(b.receipt_median_s), b.receipt_sigma, n)
        if b.black_hole:
            empty = np.empty(0)
            return np.zeros(n, dtype=np.int8), empty.astype(np.int64), empty, empty.astype(bool)
        throttled = u[:, 0] < b.throttle_p
        if b.tps_cap is not None:
            cap = b.tps_cap
            throttled |= ~np.fromiter((self._token(cap, now) for _ in range(n)), bool, n)
        rejected = ~throttled & (u[:, 1] < b.reject_p)
        refused = throttled.astype(np.int8) + 2 * rejected.astype(np.int8)
        reported = np.flatnonzero((refused == 0) & ~(u[:, 3] < b.missing_rate))
        delivered = u[reported, 2] < b.delivery_p
        return refused, reported, now + delays[reported], delivered


@dataclass
class _Receipts:
    """Receipts on their way: handed to the router when due, in batches."""

    due: list[NDArray[np.float64]] = field(default_factory=list)
    arm: list[NDArray[np.int64]] = field(default_factory=list)
    sent: list[NDArray[np.float64]] = field(default_factory=list)
    ok: list[NDArray[np.bool_]] = field(default_factory=list)

    def add(
        self, due: NDArray[np.float64], arm: NDArray[np.int64], sent: float, ok: NDArray[np.bool_]
    ) -> None:
        if len(due):
            self.due.append(due)
            self.arm.append(arm)
            self.sent.append(np.full(len(due), sent))
            self.ok.append(ok)

    def take(self, now: float) -> FeedbackBatch | None:
        if not self.due:
            return None
        due, arm = np.concatenate(self.due), np.concatenate(self.arm)
        sent, ok = np.concatenate(self.sent), np.concatenate(self.ok)
        ready = due <= now
        self.due, self.arm, self.sent, self.ok = [due[~ready]], [arm[~ready]], [sent[~ready]], [ok[~ready]]
        if not ready.any():
            return None
        kind = np.where(ok[ready], FeedbackKind.DELIVERED, FeedbackKind.UNDELIVERED).astype(np.int64)
        return FeedbackBatch(now, kind, arm[ready], sent[ready], due[ready])


def demo_table() -> RouteTable:
    """The bundled demo's channels and routes, read as ``a2p demo`` reads them."""
    return load_route_table(Path(str(resources.files("engine").joinpath("data", "demo.toml"))))


def destinations(countries: Sequence[str]) -> dict[str, Destination]:
    """One destination per country, resolved from a demo number (every demo number of a country
    resolves to the same operator)."""
    resolver = DestinationResolver(OperatorTable.bundled())
    rng = np.random.default_rng(7)
    return {c: resolver.resolve(mobile_numbers([c], 1, rng)[0]) for c in countries}


def simulate(
    policy: str,
    seed: int,
    plan: DemoPlan | None = None,
    replica: Replica | None = None,
    table: RouteTable | None = None,
) -> NDArray[np.float64]:
    """One demo run; ``[bin, (messages to ng-direct, messages routed)]`` of Nigerian traffic."""
    return _DemoRun(policy, seed, plan or DemoPlan(), replica or Replica(), table or demo_table()).run()


class _DemoRun:
    """The demo's loop in virtual time: pump, outage, dispatch per lane, receipts in batches."""

    def __init__(self, policy: str, seed: int, plan: DemoPlan, replica: Replica, table: RouteTable) -> None:
        self.plan, self.replica = plan, replica
        self.traffic = np.random.default_rng([seed, 1])
        self.clock = ManualClock(EPOCH + float(self.traffic.uniform(0.0, 5.0)))  # random ledger-slot phase
        self.start = self.clock.now()
        self.service = RouterService(table, policy, self.clock, np.random.default_rng([seed, 2]))
        self.channels = {
            c.id: _Channel(preset(str(c.option("preset", "healthy"))), np.random.default_rng([seed, 3, i]))
            for i, c in enumerate(table.channels)
        }
        for ch in self.channels.values():
            ch.set_behaviour(ch.behaviour, self.start)
        self.where = destinations(replica.countries)
        self.receipts = _Receipts()
        self.bins = np.zeros((math.ceil(plan.duration_s / BIN_S), 2))

    def _at(self, t: float) -> None:
        self.clock.set(max(t, self.clock.now()))

    def run(self) -> NDArray[np.float64]:
        plan, replica = self.plan, self.replica
        shares = {c: COUNTRIES[c] for c in replica.countries}
        lanes = np.array([int(x) for x in LANES], dtype=np.int64)
        carried: dict[int, list[tuple[str, float]]] = defaultdict(list)  # throttled: (country, created)
        outage = "before"
        feeds = 1
        for k in range(math.ceil(plan.duration_s / replica.pump_s)):
            created = self.start + k * replica.pump_s
            # Receipts due since the last pump, in the receipt processor's batches.
            while (fed := self.start + feeds * replica.feed_s) <= created:
                self._at(fed)
                batch = self.receipts.take(self.clock.now())
                if batch is not None:
                    self.service.feedback(batch)
                feeds += 1
            self._at(created)
            elapsed = created - self.start
            jobs: dict[int, list[tuple[str, float]]] = defaultdict(list)
            for lane in range(len(set(LANES))):
                jobs[lane] += carried.pop(lane, [])
            for country, share in shares.items():
                n = int(self.traffic.poisson(plan.rate_per_s * replica.pump_s * share))
                for lane in lanes[self.traffic.integers(0, len(lanes), n)].tolist():
                    jobs[lane].append((country, created))
            if outage == "before" and elapsed >= plan.outage_at_s:
                outage = "during"
                self.channels[plan.outage_channel].set_behaviour(Behaviour(black_hole=True), created)
            if outage == "during" and elapsed >= plan.outage_at_s + plan.outage_for_s:
                outage = "after"
                self.channels[plan.outage_channel].set_behaviour(preset("healthy"), created)
            self._at(created + replica.route_lag_s)
            for lane, todo in jobs.items():
                carried[lane] += self._dispatch(lane, todo)
        return self.bins

    def _dispatch(
        self, lane: int, jobs: list[tuple[str, float]], retry_budget: int = 2
    ) -> list[tuple[str, float]]:
        """One dispatcher batch with failover (``Dispatcher._attempt``); returns the throttled jobs."""
        now = self.clock.now()
        avoid: list[list[str]] = [[] for _ in jobs]
        busy: list[list[str]] = [[] for _ in jobs]
        pending = list(range(len(jobs)))
        for _ in range(retry_budget + 1):
            if not pending:
                break
            lanes = np.full(len(pending), lane, dtype=np.int64)
            choices = self.service.route(
                [self.where[jobs[i][0]] for i in pending], lanes, [avoid[i] + busy[i] for i in pending]
            )
            by_channel: dict[str, list[tuple[int, int]]] = defaultdict(list)
            retry = [i for i, c in zip(pending, choices, strict=True) if c.channel is None]
            for i, choice in zip(pending, choices, strict=True):
                if choice.channel is not None:
                    by_channel[choice.channel].append((i, choice.arm))
            kinds: list[int] = []
            arms: list[int] = []
            for name, pairs in by_channel.items():
                refused, reported, due, delivered = self.channels[name].submit(len(pairs), now)
                self.receipts.add(
                    due, np.array([a for _, a in pairs], dtype=np.int64)[reported], now, delivered
                )
                for (i, arm), why in zip(pairs, refused.tolist(), strict=True):
                    if why == 0:
                        kinds.append(FeedbackKind.SUBMITTED)
                        arms.append(arm)
                        self._count(jobs[i], name)
                        continue
                    if why == 1:  # throttled: not this channel again this round
                        busy[i].append(name)
                    else:  # refused: never this channel again, and a failure to learn from
                        avoid[i].append(name)
                        kinds.append(FeedbackKind.FAILED)
                        arms.append(arm)
                    retry.append(i)
            if kinds:
                t = np.full(len(kinds), now)
                kind = np.array(kinds, dtype=np.int64)
                self.service.feedback(FeedbackBatch(now, kind, np.array(arms, dtype=np.int64), t, t))
            pending = retry
        return [jobs[i] for i in pending if busy[i]]

    def _count(self, job: tuple[str, float], channel: str) -> None:
        country, created = job
        if country == COUNTRY:
            b = min(int((created - self.start) // BIN_S), len(self.bins) - 1)
            self.bins[b, 0] += channel == self.plan.outage_channel
            self.bins[b, 1] += 1


@dataclass(frozen=True)
class Summary:
    policy: str
    seeds: int
    failures: int
    failure_rate: float
    failure_upper95: float
    before: float
    during: float
    after: float
    bins: tuple[float, ...]  # mean ng-direct share per bin, %

    @staticmethod
    def of(policy: str, runs: NDArray[np.float64], recovered_share: float) -> Summary:
        """``runs``: ``[seed, bin, (to ng-direct, routed)]``."""
        share = runs[:, :, 0] / np.maximum(runs[:, :, 1], 1.0)
        edges = np.arange(runs.shape[1]) * BIN_S

        def window(lo: float, hi: float) -> NDArray[np.float64]:
            sel = (edges >= lo) & (edges < hi)
            sent, routed = runs[:, sel, 0].sum(axis=1), runs[:, sel, 1].sum(axis=1)
            result: NDArray[np.float64] = sent / np.maximum(routed, 1.0)
            return result

        failures = int((window(*AFTER_S) < recovered_share).sum())
        n = len(runs)
        return Summary(
            policy, n, failures, failures / n, upper95(failures, n),
            100.0 * float(window(*BEFORE_S).mean()),
            100.0 * float(window(*OUTAGE_BINS_S).mean()),
            100.0 * float(window(*AFTER_S).mean()),
            tuple(100.0 * float(x) for x in share.mean(axis=0)),
        )  # fmt: skip


def upper95(failures: int, n: int) -> float:
    """The exact (Clopper-Pearson, two-sided 95 %) upper bound of a binomial rate.

    >>> round(upper95(0, 400), 4)
    0.0092
    """
    if failures >= n:
        return 1.0

    def cdf(p: float) -> float:  # P(X <= failures) for X ~ Binomial(n, p)
        return sum(math.comb(n, k) * p**k * (1.0 - p) ** (n - k) for k in range(failures + 1))

    lo, hi = failures / n, 1.0
    for _ in range(60):  # cdf falls as p grows: bisect for cdf(p) = 2.5 %
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if cdf(mid) > 0.025 else (lo, mid)
    return hi


def _one(args: tuple[str, int, Replica]) -> NDArray[np.float64]:
    policy, seed, replica = args
    return simulate(policy, seed, replica=replica)


def run(
    policies: Sequence[str],
    seeds: Sequence[int],
    replica: Replica,
    jobs: int,
    on_run: Callable[[], None] = lambda: None,
) -> dict[str, NDArray[np.float64]]:
    """Every policy on every seed; ``{policy: [seed, bin, (to ng-direct, routed)]}``."""
    tasks = [(p, s, replica) for p in policies for s in seeds]
    out: list[NDArray[np.float64]] = []
    if jobs <= 1:
        for task in tasks:
            out.append(_one(task))
            on_run()
    else:
        with ProcessPoolExecutor(jobs) as pool:
            for result in pool.map(_one, tasks, chunksize=4):
                out.append(result)
                on_run()
    k = len(seeds)
    return {p: np.stack(out[i * k : (i + 1) * k]) for i, p in enumerate(policies)}


def label(policy: str) -> str:
    return NAMES.get(policy, policy)


def render(summaries: Sequence[Summary], recovered_share: float) -> list[Table]:
    """The failure rates and phase shares, then the share per bin."""
    plan = _PLAN
    end = plan.outage_at_s + plan.outage_for_s
    rates = Table(
        title=f"{plan.outage_channel}'s share of {COUNTRY} traffic around its black hole "
        f"({plan.outage_at_s:.0f}-{end:.0f} s); a run fails below {100 * recovered_share:.0f} % "
        f"in {AFTER_S[0]:.0f}-{AFTER_S[1]:.0f} s",
        caption="In %: failure rate and its 95 % upper bound; mean share "
        f"before ({BEFORE_S[0]:.0f}-{BEFORE_S[1]:.0f} s), "
        f"during ({OUTAGE_BINS_S[0]:.0f}-{OUTAGE_BINS_S[1]:.0f} s) "
        f"and after ({AFTER_S[0]:.0f}-{AFTER_S[1]:.0f} s)",
        box=box.SIMPLE_HEAD,
    )
    rates.add_column("policy", no_wrap=True)
    for col in ("seeds", "failed", "rate", "ub95", "before", "during", "after"):
        rates.add_column(col, justify="right")
    bins = Table(
        title=f"{plan.outage_channel}'s share of {COUNTRY} traffic per {BIN_S:.0f} s (%, mean of seeds)",
        caption="columns: start of the bin (s); * black hole",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    bins.add_column("policy", no_wrap=True)
    for b in range(len(summaries[0].bins) if summaries else 0):
        t = b * BIN_S
        bins.add_column(f"{t:.0f}{'*' if plan.outage_at_s <= t < end else ''}", justify="right")
    for s in summaries:
        rates.add_row(
            label(s.policy), str(s.seeds), str(s.failures), f"{100 * s.failure_rate:.1f}",
            f"{100 * s.failure_upper95:.1f}", f"{s.before:.1f}", f"{s.during:.1f}", f"{s.after:.1f}",
        )  # fmt: skip
        bins.add_row(label(s.policy), *(f"{x:.0f}" for x in s.bins))
    return [rates, bins]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=25, help="runs per policy")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--policy",
        action="append",
        help="policy spec (repeatable); default: the demo's and its peers",
    )
    parser.add_argument("--recovered", type=float, default=0.15, help="share after 120 s that counts as back")
    parser.add_argument("--pump", type=float, default=0.25, help="seconds between the demo's batches")
    parser.add_argument("--feed", type=float, default=0.1, help="seconds between receipt hand-overs")
    parser.add_argument("--ng-only", action="store_true", help="only Nigerian traffic (faster)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args()
    policies = args.policy or list(NAMES)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    replica = Replica(args.pump, args.feed, countries=(COUNTRY,) if args.ng_only else tuple(COUNTRIES))
    console = Console() if Console().is_terminal else Console(width=120)  # a log keeps whole columns
    console.print(f"[bold]demo recovery[/bold]: {len(seeds)} seed(s) x {len(policies)} policies, {replica}")
    started = time.perf_counter()
    columns = (
        TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"), TimeElapsedColumn()
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("runs", total=len(seeds) * len(policies))
        runs = run(policies, seeds, replica, args.jobs, lambda: progress.advance(task))
    summaries = [Summary.of(p, r, args.recovered) for p, r in runs.items()]
    for policy in policies:
        console.print(f"{label(policy)}: {policy}")
    for table in render(summaries, args.recovered):
        console.print(table)
    seconds = time.perf_counter() - started
    console.print(f"{seconds:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "seeds": seeds, "policies": policies, "replica": asdict(replica), "plan": asdict(_PLAN),
        "recovered_share": args.recovered, "after_window_s": AFTER_S, "bin_s": BIN_S,
        "machine": platform.platform(), "seconds": seconds,
        "summary": [asdict(s) for s in summaries],
        "runs": {p: r.tolist() for p, r in runs.items()},
    }  # fmt: skip
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
