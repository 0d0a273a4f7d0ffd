"""Channel speed: SMPP submits/s and receipts/s, through one Ray channel actor and in-process.

Run with ``python -m benchmarks.channels [--quick]``. The peer is the node-smpp SMSC of the tests
(``tests/peers/smsc.js``, a real SMPP stack written by others), on a free loopback port, answering
every submit_sm and sending one receipt per message 5 ms later. Cells:

- ``ray``: one :class:`~engine.runtime.actors.ChannelActor` (the adapter behind the channel
  service's TPS limiter, window and circuit breaker), fed by this process in batches of
  ``Budget.batch`` messages, two calls in flight; its receipt pump hands receipts to a counting
  actor, as it would to the receipt processor;
- ``inproc``: the bare :class:`~adapters.smpp.SmppChannel` in this process, one ``submit`` per batch;

each at windows 1, 10 and 50 (submits in flight). Submits/s is messages over the time to the last
submit answer; receipts/s is messages over the time to the last receipt. A last cell drops the
SMSC connection in the middle of a burst and checks that no message is lost or duplicated: every
message is accepted with an id, refused without being sent, or ``outcome_unknown``; none reaches
the SMSC twice; every accepted one gets its receipt after the rebind. Targets are reported, not
asserted; results go to ``benchmarks/results/channels.json``.

Other channel kinds add their cells through :data:`SECTIONS` (an HTTP section is expected there).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import ray
from rich.console import Console
from rich.table import Table

from adapters.smpp import BindState, SmppChannel, SmppSettings
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage, Receipt, SubmitResult
from engine.domain.types import Channel
from engine.runtime.actors import ChannelActor, RemoteChannel
from engine.runtime.engine import spawn_named
from engine.runtime.wire import unpack
from tests.smpp.peer import PASSWORD, NodeSmsc

RESULTS = Path(__file__).parent / "results" / "channels.json"
WINDOWS = (1, 10, 50)
TARGET_SUBMITS_PER_S = 3_000.0  # at window 50, with receipts
RECEIPT_DELAY_MS = 5


@dataclass(frozen=True)
class Budget:
    messages: int  # per cell
    window1_messages: int  # window 1 is one round trip per message: fewer
    batch: int  # messages per submit call
    disconnect_messages: int

    @classmethod
    def of(cls, quick: bool) -> Budget:
        if quick:
            return cls(messages=3_000, window1_messages=300, batch=500, disconnect_messages=1_000)
        return cls(messages=20_000, window1_messages=1_500, batch=1_000, disconnect_messages=5_000)

    def count(self, window: int) -> int:
        return self.window1_messages if window == 1 else self.messages


@dataclass
class Cell:
    section: str
    mode: str
    window: int
    messages: int
    seconds_to_last_submit: float
    seconds_to_last_receipt: float | None
    accepted: int
    throttled: int
    errors: int
    receipts: int
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def submits_per_s(self) -> float:
        return self.messages / self.seconds_to_last_submit if self.seconds_to_last_submit else 0.0

    @property
    def receipts_per_s(self) -> float | None:
        if not self.seconds_to_last_receipt or not self.receipts:
            return None
        return self.receipts / self.seconds_to_last_receipt

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "submits_per_s": self.submits_per_s, "receipts_per_s": self.receipts_per_s}


Section = Callable[[Budget, Console], list[Cell]]


def _messages(n: int, prefix: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(f"{prefix}-{i}", f"+2348030{i % 10_000_000:07d}", "ACME", f"Your code is {i:06d}",
                        Lane.OTP)
        for i in range(n)
    ]  # fmt: skip


def _batches(items: list[OutboundMessage], size: int) -> list[list[OutboundMessage]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _tally(cell: Cell, results: Sequence[SubmitResult]) -> None:
    for r in results:
        if r.error is None:
            cell.accepted += 1
        elif r.error.throttled:
            cell.throttled += 1
        else:
            cell.errors += 1


# --- in-process ------------------------------------------------------------------------------


def _settings(smsc: NodeSmsc, system_id: str, **extra: Any) -> SmppSettings:
    return SmppSettings(host=smsc.host, port=smsc.port, system_id=system_id, seed=3, reconnect_min_s=0.05,
                        **extra)  # fmt: skip


async def _inproc_cell(smsc: NodeSmsc, window: int, n: int, batch: int) -> Cell:
    channel = SmppChannel(f"bench-w{window}", _settings(smsc, f"inproc{window}"), PASSWORD, window=window,
                          rng=np.random.default_rng(1))  # fmt: skip
    if await channel.connect(5.0) is not BindState.BOUND:
        raise RuntimeError(f"could not bind to the SMSC: {channel.transmitter.last_error}")
    cell = Cell("smpp", "inproc", window, n, 0.0, None, 0, 0, 0, 0)
    receipts: list[Receipt] = []
    started = time.perf_counter()
    for chunk in _batches(_messages(n, f"i{window}"), batch):
        _tally(cell, await channel.submit(chunk))
    cell.seconds_to_last_submit = time.perf_counter() - started
    last = started
    deadline = time.perf_counter() + 30.0
    while len(receipts) < cell.accepted and time.perf_counter() < deadline:
        got = await channel.receipts(10_000, 0.2)
        if got:
            receipts += got
            last = time.perf_counter()
    cell.receipts = len(receipts)
    cell.seconds_to_last_receipt = last - started
    await channel.close()
    return cell


# --- through one Ray channel actor -----------------------------------------------------------


@ray.remote(num_cpus=0)
class ReceiptCounter:
    """Stands in for the receipt processor: counts what the channel actor's pump hands over."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0

    async def ingest(self, receipts: bytes) -> None:
        self.count += len(unpack(receipts))
        self.last = time.time()

    async def seen(self) -> tuple[int, float]:
        return self.count, self.last


async def _ray_cell(smsc: NodeSmsc, window: int, n: int, batch: int, password_file: Path) -> Cell:
    options = (("host", smsc.host), ("port", smsc.port), ("system_id", f"ray{window}"),
               ("password_file", str(password_file)), ("seed", 3))  # fmt: skip
    channel = Channel(f"bench-ray-w{window}", kind="smpp", tps=1_000_000.0, window=window, options=options)
    counter = spawn_named(f"bench-receipts-w{window}", ReceiptCounter)
    actor = ChannelActor.remote(channel, f"bench-receipts-w{window}")  # type: ignore[attr-defined]
    port = RemoteChannel(actor)
    try:
        await actor.ensure_running.remote()
        warm = await port.submit(_messages(5, f"warm{window}"))  # binds
        warm_accepted = sum(r.accepted for r in warm.results)
        cell = Cell("smpp", "ray", window, n, 0.0, None, 0, 0, 0, 0)
        chunks = _batches(_messages(n, f"r{window}"), batch)
        started = time.time()
        in_flight: set[asyncio.Future[Any]] = set()
        for chunk in chunks:  # two calls in flight, as a dispatcher with a backlog keeps it
            if len(in_flight) >= 2:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for d in done:
                    _tally(cell, d.result().results)
            in_flight.add(asyncio.ensure_future(port.submit(chunk)))
        for d in asyncio.as_completed(in_flight):
            _tally(cell, (await d).results)
        cell.seconds_to_last_submit = time.time() - started
        deadline = time.time() + 30.0
        count, last = await counter.seen.remote()
        while count < cell.accepted + warm_accepted and time.time() < deadline:
            await asyncio.sleep(0.05)
            count, last = await counter.seen.remote()
        cell.receipts = count - warm_accepted
        cell.seconds_to_last_receipt = last - started
        health = await actor.health.remote()
        cell.notes = {"circuit": health.circuit.value, "bad_receipts": health.bad_receipts}
        return cell
    finally:
        ray.kill(actor)  # the actor has no close(): the SMSC sees the connection drop
        ray.kill(counter)


# --- a disconnect in the middle of a burst ---------------------------------------------------


async def _disconnect_cell(smsc: NodeSmsc, n: int, batch: int) -> Cell:
    smsc.set(drop_after=n // 2, track_bodies=True)
    channel = SmppChannel(
        "bench-drop", _settings(smsc, "drop"), PASSWORD, window=50, rng=np.random.default_rng(2)
    )
    await channel.connect(5.0)
    cell = Cell("smpp", "inproc-disconnect", 50, n, 0.0, None, 0, 0, 0, 0)
    results: list[SubmitResult] = []
    started = time.perf_counter()
    for chunk in _batches(_messages(n, "d"), batch):
        results += await channel.submit(chunk)
    cell.seconds_to_last_submit = time.perf_counter() - started
    _tally(cell, results)
    accepted = Counter(r.provider_id for r in results if r.accepted)
    receipts: Counter[str] = Counter()
    last = started
    deadline = time.perf_counter() + 30.0
    stats = smsc.stats()
    while sum(receipts.values()) < stats["accepted"] and time.perf_counter() < deadline:
        got = await channel.receipts(10_000, 0.2)
        if got:
            receipts.update(r.provider_id for r in got)
            last = time.perf_counter()
    await channel.close()
    smsc.set(drop_after=0, track_bodies=False)
    kinds = Counter(
        "accepted" if r.accepted else "unknown" if r.error and r.error.outcome_unknown
        else "throttled" if r.error and r.error.throttled else "not_sent" if r.error else "?"
        for r in results
    )  # fmt: skip
    cell.receipts = sum(receipts.values())
    cell.seconds_to_last_receipt = last - started
    cell.notes = {
        "outcomes": dict(kinds),
        "accepted_twice": sum(1 for c in accepted.values() if c > 1),
        "reached_smsc_twice": sum(1 for c in stats["bodies"].values() if c > 1),
        "accepted_without_receipt": sum(1 for pid in accepted if pid not in receipts),
        "receipts_repeated_by_smsc": sum(c - 1 for c in receipts.values() if c > 1),
        "smsc_accepted": stats["accepted"],
        "rebinds": channel.transmitter.binds - 1,
    }
    return cell


def disconnect_verdict(cell: Cell) -> tuple[bool, str]:
    n = cell.notes
    ok = (n["accepted_twice"] == 0 and n["reached_smsc_twice"] == 0 and n["accepted_without_receipt"] == 0
          and sum(n["outcomes"].values()) == cell.messages and "?" not in n["outcomes"])  # fmt: skip
    return ok, (
        f"{cell.messages} messages, outcomes {n['outcomes']}; accepted twice {n['accepted_twice']}, "
        f"reached the SMSC twice {n['reached_smsc_twice']}, accepted without receipt "
        f"{n['accepted_without_receipt']}, rebinds {n['rebinds']}"
    )


# --- sections --------------------------------------------------------------------------------


def smpp_section(budget: Budget, console: Console) -> list[Cell]:
    cells: list[Cell] = []
    with NodeSmsc(receipt_delay_ms=RECEIPT_DELAY_MS) as smsc, tempfile.TemporaryDirectory() as tmp:
        password_file = Path(tmp) / "password"
        password_file.write_text(PASSWORD)
        for window in WINDOWS:
            cell = asyncio.run(_inproc_cell(smsc, window, budget.count(window), budget.batch))
            console.print(f"  smpp inproc window {window}: {cell.submits_per_s:,.0f} submits/s")
            cells.append(cell)
        for window in WINDOWS:
            cell = asyncio.run(_ray_cell(smsc, window, budget.count(window), budget.batch, password_file))
            console.print(f"  smpp ray window {window}: {cell.submits_per_s:,.0f} submits/s")
            cells.append(cell)
        cells.append(asyncio.run(_disconnect_cell(smsc, budget.disconnect_messages, budget.batch)))
    return cells


def http_section(budget: Budget, console: Console) -> list[Cell]:
    """The HTTP channel in-process against the fake aggregator (a child process): submits/s."""
    from benchmarks.channels_http import measure_http  # noqa: PLC0415

    share = {"twilio_like": budget.messages // 4, "infobip_like": budget.messages * 2}
    cells = []
    for figure in measure_http(messages=share):
        console.print(f"  http {figure.mapping}: {figure.submits_per_s:,.0f} submits/s")
        cell = Cell(
            "http", f"inproc {figure.mapping}", figure.max_connections, figure.messages, figure.seconds,
            None, figure.accepted, 0, figure.messages - figure.accepted, 0,
            {"requests": figure.requests, "batch_size": figure.batch_size},
        )  # fmt: skip
        cells.append(cell)
    return cells


# Each section measures one channel kind and returns its cells; they are tabled and written together.
SECTIONS: list[Section] = [smpp_section, http_section]


def table(cells: Sequence[Cell]) -> Table:
    t = Table(title="Channel throughput (messages per second)")
    for name in ("section", "mode", "window", "messages", "submits/s", "receipts/s", "accepted", "throttled",
                 "errors", "receipts"):  # fmt: skip
        t.add_column(name, justify="left" if name in ("section", "mode") else "right")
    for c in cells:
        rps = c.receipts_per_s
        t.add_row(c.section, c.mode, str(c.window), f"{c.messages:,}", f"{c.submits_per_s:,.0f}",
                  "-" if rps is None else f"{rps:,.0f}", f"{c.accepted:,}", f"{c.throttled:,}",
                  f"{c.errors:,}", f"{c.receipts:,}")  # fmt: skip
    return t


def _peer_version() -> str:
    package = json.loads((Path(__file__).parents[1] / "tests" / "peers" / "package.json").read_text())
    return str(package["dependencies"]["smpp"])


def document(cells: Sequence[Cell], verdicts: dict[str, Any], budget: Budget, quick: bool) -> dict[str, Any]:
    return {
        "benchmark": "channels",
        "quick": quick,
        "budget": asdict(budget),
        "receipt_delay_ms": RECEIPT_DELAY_MS,
        "cells": [c.as_json() for c in cells],
        "verdicts": verdicts,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": os.getloadavg()[0],
            "smpp34": version("smpp34"),
            "ray": version("ray"),
            "peer": f"node-smpp {_peer_version()}",
        },
    }  # fmt: skip


def verdicts_of(cells: Sequence[Cell]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("ray", "inproc"):
        at50 = [c for c in cells if c.section == "smpp" and c.mode == mode and c.window == 50]
        if at50:
            c = at50[0]
            out[f"smpp_{mode}_window50_submits_per_s"] = {
                "value": round(c.submits_per_s), "target": TARGET_SUBMITS_PER_S,
                "met": c.submits_per_s >= TARGET_SUBMITS_PER_S and c.receipts >= c.accepted > 0,
            }  # fmt: skip
    drops = [c for c in cells if c.mode == "inproc-disconnect"]
    if drops:
        ok, line = disconnect_verdict(drops[0])
        out["smpp_disconnect_mid_burst_no_loss_no_duplicate"] = {"met": ok, "detail": line}
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer messages (well under a minute)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=160)
    logging.basicConfig(level=logging.WARNING)
    budget = Budget.of(args.quick)
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False, configure_logging=True)  # fmt: skip
    try:
        cells = [cell for section in SECTIONS for cell in section(budget, console)]
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
    console.print(table([c for c in cells if c.mode != "inproc-disconnect"]))
    verdicts = verdicts_of(cells)
    for name, verdict in verdicts.items():
        mark = "[green]met[/green]" if verdict["met"] else "[red]not met[/red]"
        detail = verdict.get("detail") or f"{verdict['value']:,}/s (target {verdict['target']:,.0f}/s)"
        console.print(f"{name}: {mark}: {detail}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document(cells, verdicts, budget, args.quick), indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
