"""CPU time of this process and everything it started (Ray's workers, redis-server), from ``/proc``.

Linux only; elsewhere :func:`cpu_times` returns an empty mapping and the benchmarks report no CPU
split. Processes are grouped by name: a Ray actor's worker retitles itself ``ray::<ActorClass>``,
so every dispatcher actor lands in one ``ray::DispatcherActor`` group.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """``(parent pid, user + system CPU seconds)`` of a live process."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / TICKS


def _name(pid: int) -> str:
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    first = argv[0].decode(errors="replace").strip()
    if first.startswith("ray::"):
        return first.split()[0].split(".")[0]  # "ray::DispatcherActor.run" -> "ray::DispatcherActor"
    for part in argv[:3]:
        text = part.decode(errors="replace")
        for known in ("redis-server", "raylet", "gcs_server", "default_worker", "log_monitor"):
            if known in text:
                return known
    return Path(first).name or "?"


def cpu_times() -> dict[str, float]:
    """CPU seconds so far per process group, over this process and all its descendants."""
    if not PROC.is_dir():
        return {}
    stats: dict[int, tuple[int, float]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                stats[int(entry.name)] = found
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (parent, _) in stats.items():
        children[parent].append(pid)
    me = os.getpid()
    out: dict[str, float] = defaultdict(float)
    todo = [me]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if pid in stats:
            out["driver" if pid == me else _name(pid)] += stats[pid][1]
    return dict(out)


def cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores used per group between two :func:`cpu_times` readings (1.0 = one core busy)."""
    if seconds <= 0:
        return {}
    shares = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / seconds for k in after}
    return {k: round(v, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= 0.005}


def speed_probe(rounds: int = 3) -> float:
    """Milliseconds of CPU a fixed pure-Python workload takes here now (best of ``rounds``).

    The shared machines run at very different speeds from one minute to the next (the same code
    measured 290 and 510 µs of CPU per message ten minutes apart): a figure to set next to every CPU
    measurement, so that runs from different moments can be compared by their ratio to it.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i & 7
        best = min(best, time.process_time() - started)
    return best * 1000.0
