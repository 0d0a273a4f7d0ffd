"""``a2p demo``: the live engine on simulated channels, with an outage to watch it route around.

Traffic flows in all three lanes to a few countries; midway the best channel for Nigeria turns into
a black hole (it accepts everything, delivers and reports nothing) and later recovers. A live table
shows each channel's share of traffic, delivery rate, receipt latency and circuit state.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from adapters.simulated import Behaviour, preset
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.records import Record
from engine.runtime.engine import Engine, EngineConfig
from engine.runtime.traffic import messages, mobile_numbers

COUNTRIES = {"NG": 0.4, "KE": 0.2, "GB": 0.2, "IN": 0.2}
LANES = [Lane.OTP] * 3 + [Lane.TRANSACTIONAL] * 3 + [Lane.MARKETING] * 4
SHARE_WINDOW_S = 6.0
TIMELINE_S = 20.0
RATE_WINDOW_S = (8.0, 20.0)  # receipts lag: delivery rates look at messages 8-20 s old
# The demo squeezes hours into minutes: short memories, and silence that fades (so a recovered
# route is retried within the demo's minute rather than after the 15-minute timeout). A change
# detector quicker to fire (z 2.0, not 3.5) sees the first receipts of the recovered route as a
# change. In 200 virtual-time runs of this plan, 32 stayed below 15 % of Nigerian traffic on the
# recovered route at 3.5, 1 at 2.0 (`python -m benchmarks.demo_recovery`).
DEMO_POLICY = "pending_ts:half_life_s=120,fast_half_life_s=10,fade_silence=true,change_z=2.0"


@dataclass(frozen=True)
class DemoPlan:
    """The defaults are ``a2p demo``'s: see :meth:`lasting`."""

    duration_s: float = 180.0
    rate_per_s: float = 150.0
    outage_channel: str = "ng-direct"
    outage_at_s: float = 45.0
    outage_for_s: float = 36.0

    @classmethod
    def lasting(cls, duration_s: float, rate_per_s: float) -> DemoPlan:
        """The outage starts a quarter of the way in and lasts a fifth of the run."""
        return cls(duration_s, rate_per_s, outage_at_s=duration_s * 0.25, outage_for_s=duration_s * 0.2)


@dataclass
class Sent:
    ids: deque[tuple[float, str, str]] = field(default_factory=deque)  # (created, id, country)

    def window(self, now: float, start_ago: float, end_ago: float) -> list[tuple[str, str]]:
        return [(mid, c) for t, mid, c in self.ids if now - end_ago <= t < now - start_ago]


class Demo:
    def __init__(
        self, config: EngineConfig, plan: DemoPlan, console: Console,
        on_started: Callable[[Engine], Awaitable[None]] | None = None,
    ) -> None:  # fmt: skip
        self.config, self.plan, self.console = config, plan, console
        self.on_started = on_started
        self.sent = Sent()
        self.accepted = 0
        self.started = 0.0
        self.outage = "before"
        self.rng = np.random.default_rng(7)

    async def run(self) -> Engine:
        self.console.print("starting embedded Redis and local Ray (a few seconds)...")
        engine = await Engine(self.config).start()
        if self.on_started is not None:
            await self.on_started(engine)
        stop = asyncio.Event()
        supervisor = asyncio.get_running_loop().create_task(engine.supervise(stop))
        numbers = {c: mobile_numbers([c], 50, self.rng) for c in COUNTRIES}
        started = self.started = time.time()
        try:
            with Live(console=self.console, refresh_per_second=2, transient=False) as live:
                while (elapsed := time.time() - started) < self.plan.duration_s:
                    await self._pump(engine, numbers, elapsed)
                    await self._outage(engine, elapsed)
                    live.update(await self._table(engine, elapsed))
                    await asyncio.sleep(0.25)
            await self._drain(engine)
        finally:
            stop.set()
            await supervisor
        return engine

    async def _pump(self, engine: Engine, numbers: dict[str, list[str]], elapsed: float) -> None:
        batch: list[NewMessage] = []
        now = time.time()
        for country, share in COUNTRIES.items():
            n = int(self.rng.poisson(self.plan.rate_per_s * 0.25 * share))
            batch += messages(numbers[country], n, LANES, now, self.rng)
            self.sent.ids.extend((now, m.id, country) for m in batch[-n:] if n)
        await engine.accept(batch)
        self.accepted += len(batch)

    async def _outage(self, engine: Engine, elapsed: float) -> None:
        plan, channel = self.plan, engine.channels[self.plan.outage_channel]
        if self.outage == "before" and elapsed >= plan.outage_at_s:
            self.outage = "during"
            self.console.print(f"[bold red]t={elapsed:.0f}s: {plan.outage_channel} becomes a black hole[/]")
            await channel.adapter_call.remote("set_behaviour", Behaviour(black_hole=True))
        if self.outage == "during" and elapsed >= plan.outage_at_s + plan.outage_for_s:
            self.outage = "after"
            self.console.print(f"[bold green]t={elapsed:.0f}s: {plan.outage_channel} recovers[/]")
            await channel.adapter_call.remote("set_behaviour", preset("healthy"))

    def phase(self, created: float, started: float) -> str:
        t = created - started
        if t < self.plan.outage_at_s:
            return "before"
        return "during" if t < self.plan.outage_at_s + self.plan.outage_for_s else "after"

    async def _table(self, engine: Engine, elapsed: float) -> Group:
        now = time.time()
        recent = self.sent.window(now, 0.0, SHARE_WINDOW_S)
        older = self.sent.window(now, *RATE_WINDOW_S)
        records = await engine.store.fetch([m for m, _ in recent + older])
        fresh, settled = records[: len(recent)], records[len(recent) :]
        health = await engine.health()
        table = Table(title=f"t = {elapsed:5.1f} s   accepted {self.accepted}   (live; outage of "
                            f"{self.plan.outage_channel} at {self.plan.outage_at_s:.0f}-"
                            f"{self.plan.outage_at_s + self.plan.outage_for_s:.0f} s)")  # fmt: skip
        for col in ("channel", "state", "share", "share NG", "delivered", "DLR p50 s"):
            table.add_column(col, justify="left" if col in {"channel", "state"} else "right")
        ng = [r for r, (_, c) in zip(fresh, recent, strict=True) if c == "NG"]
        for name in engine.channels:
            h = health.get(name)
            state = "down" if h is None else h.circuit.value
            table.add_row(name, state, _share(fresh, name), _share(ng, name), *_quality(settled, name))
        return Group(table)

    async def _drain(self, engine: Engine, timeout_s: float = 20.0) -> None:
        """Stop sending and give the last receipts (and timeouts) a moment."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            counters = await engine.store.counters()
            final = sum(v for k, v in counters.items() if k.startswith("final:"))
            if final >= self.accepted:
                break
            await asyncio.sleep(0.5)


async def summary(demo: Demo, engine: Engine) -> Group:
    """Final statuses, and how the outage channel's share of Nigerian traffic moved."""
    records = await engine.store.fetch([mid for _, mid, _ in demo.sent.ids])
    statuses = Counter(r["status"] for r in records if r)
    outcome = Table(title=f"{demo.accepted} messages accepted: final statuses")
    outcome.add_column("status")
    outcome.add_column("messages", justify="right")
    for status, n in statuses.most_common():
        outcome.add_row(status, str(n))
    plan = demo.plan
    phases = Table(title=f"{plan.outage_channel}: share of Nigerian traffic around its outage")
    for col in ("before", "during the black hole", "after recovery"):
        phases.add_column(col, justify="right")
    by_phase: dict[str, list[Record | None]] = {"before": [], "during": [], "after": []}
    for (created, _, country), record in zip(demo.sent.ids, records, strict=True):
        if country == "NG":
            by_phase[demo.phase(created, demo.started)].append(record)
    phases.add_row(*(_share(by_phase[p], plan.outage_channel) for p in ("before", "during", "after")))
    timeline = Table(title=f"{plan.outage_channel}: share of Nigerian traffic, every {TIMELINE_S:.0f} s")
    bins: dict[int, list[Record | None]] = {}
    for (created, _, country), record in zip(demo.sent.ids, records, strict=True):
        if country == "NG":
            bins.setdefault(int((created - demo.started) // TIMELINE_S), []).append(record)
    for b in sorted(bins):
        t = b * TIMELINE_S
        mark = "*" if plan.outage_at_s <= t < plan.outage_at_s + plan.outage_for_s else ""
        timeline.add_column(f"{t:.0f}s{mark}", justify="right")
    timeline.add_row(*(_share(bins[b], plan.outage_channel).replace(" %", "") for b in sorted(bins)))
    timeline.caption = "* black hole; shares in %"
    return Group(outcome, phases, timeline)


def _share(records: list[Record | None], channel: str) -> str:
    routed = [r for r in records if r and r.get("channel")]
    if not routed:
        return "—"
    return f"{100.0 * sum(r['channel'] == channel for r in routed) / len(routed):5.1f} %"


def _quality(records: list[Record | None], channel: str) -> tuple[str, str]:
    mine = [r for r in records if r and r.get("channel") == channel and r.get("status") != "sending"]
    final = [r for r in mine if MessageStatus(r["status"]).is_final]
    if not final:
        return "—", "—"
    delivered = [r for r in final if r["status"] == MessageStatus.DELIVERED.value]
    latency = [float(r["status_at"]) - float(r["submitted_at"]) for r in delivered if "submitted_at" in r]
    p50 = f"{np.median(latency):.1f}" if latency else "—"
    return f"{100.0 * len(delivered) / len(final):5.1f} %", p50
