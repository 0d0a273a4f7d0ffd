"""What a run is worth next to the oracle's run on the same traffic and truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.domain.enums import Lane
from simulations.runner import Run
from simulations.scenario import EventKind
from simulations.traffic import Traffic
from simulations.world import World

PRE_WINDOW_S = 900.0  # how a context used the route before the outage
BIN_S = 60.0
MIN_PRE_MESSAGES = 10  # contexts that sent less to the route had nothing to shift
AWAY_FRACTION = 0.1  # "shifted away": the route's share fell below 10 % of what it was ...
AWAY_WINDOW_BINS = 5  # ... over the following five minutes (later probes of the route are fine)
BACK_FRACTION = 0.5  # "came back": half of the former share again
BACK_HORIZON_S = 3600.0


@dataclass(frozen=True)
class Shift:
    """Per affected (context, route): seconds to move off a dead route and back (inf: never)."""

    away_s: NDArray[np.float64]
    back_s: NDArray[np.float64]
    outage_messages: int


def _bins_share(
    t: NDArray[np.float64], on_arm: NDArray[np.bool_], start: float, end: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per BIN_S bin in [start, end): bin end times and the route's share (NaN: no traffic)."""
    edges = np.arange(start, end + BIN_S, BIN_S)
    idx = np.searchsorted(edges, t, side="right") - 1
    keep = (idx >= 0) & (idx < len(edges) - 1)
    total = np.bincount(idx[keep], minlength=len(edges) - 1).astype(float)
    hits = np.bincount(idx[keep], weights=on_arm[keep], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return edges[1:], hits / total


def _first_low_window(t: NDArray[np.float64], on: NDArray[np.bool_], threshold: float) -> float:
    """Start of the first AWAY_WINDOW_BINS-minute window whose share is at most ``threshold``."""
    idx = (t // BIN_S).astype(np.int64)
    bins = int(idx.max()) + 1 if len(idx) else 0
    total = np.bincount(idx, minlength=bins).astype(float)
    hits = np.bincount(idx, weights=on, minlength=bins)
    if bins < AWAY_WINDOW_BINS:
        return math.inf
    kernel = np.ones(AWAY_WINDOW_BINS)
    window_hits = np.convolve(hits, kernel, mode="valid")
    window_total = np.convolve(total, kernel, mode="valid")
    low = np.flatnonzero((window_total > 0) & (window_hits <= threshold * window_total))
    return float(low[0] * BIN_S) if len(low) else math.inf


def shifts(world: World, traffic: Traffic, run: Run) -> Shift:
    times = traffic.time()
    end_of_run = traffic.ticks * traffic.tick_s
    away: list[float] = []
    back: list[float] = []
    lost = 0
    for i, event in enumerate(world.events):
        if event.kind is not EventKind.BLACKHOLE:
            continue
        t0, t1 = event.start_s, min(event.end_s, end_of_run)
        for arm in np.flatnonzero(world.targets(i)):
            mine = traffic.context == world.arms.context[arm]
            t, on = times[mine], run.arm[mine] == arm
            during = (t >= t0) & (t < t1)
            lost += int(on[during].sum())
            pre = (t >= t0 - PRE_WINDOW_S) & (t < t0)
            if on[pre].sum() < MIN_PRE_MESSAGES:
                continue
            pre_share = float(on[pre].mean())
            away.append(_first_low_window(t[during] - t0, on[during], AWAY_FRACTION * pre_share))
            if math.isfinite(event.end_s) and event.end_s < end_of_run:
                ends, share = _bins_share(t, on, t1, min(t1 + BACK_HORIZON_S, end_of_run))
                again = np.flatnonzero(share >= BACK_FRACTION * pre_share)
                back.append(float(ends[again[0]] - t1) if len(again) else math.inf)
    return Shift(np.array(away), np.array(back), lost)


def _quantile(values: NDArray[np.float64], q: float) -> float | None:
    """A quantile that tolerates inf (never) without interpolating into NaN; None if undefined."""
    if len(values) == 0:
        return None
    value = float(np.quantile(values, q, method="inverted_cdf"))
    return value if math.isfinite(value) else None


def summarize(world: World, traffic: Traffic, run: Run, oracle: Run) -> dict[str, Any]:
    """One summary record (the keys of ``summary.json``)."""
    n = len(traffic)
    delivered, o_delivered = int(run.delivered.sum()), int(oracle.delivered.sum())
    utility, o_utility = float(run.utility.sum()), float(oracle.utility.sum())
    cost, o_cost = float(run.cost.sum()), float(oracle.cost.sum())
    otp = traffic.lane == Lane.OTP
    sla = world.scenario.economics.sla_array[Lane.OTP]
    otp_ok = run.delivered[otp] & (run.latency_s[otp] <= sla)
    shift = shifts(world, traffic, run)
    cpd = cost / delivered if delivered else math.nan
    o_cpd = o_cost / o_delivered if o_delivered else math.nan
    return {
        "policy": run.policy,
        "seed": run.seed,
        "messages": n,
        "delivered": delivered,
        "delivery_pct": 100.0 * delivered / n if n else math.nan,
        "delivery_pct_of_oracle": 100.0 * delivered / o_delivered if o_delivered else math.nan,
        "utility": utility,
        "utility_pct_of_oracle": 100.0 * utility / o_utility if o_utility else math.nan,
        "regret_per_1000": 1000.0 * (o_utility - utility) / n if n else math.nan,
        "cost_per_delivered": cpd,
        "cost_per_delivered_pct_of_oracle": 100.0 * cpd / o_cpd,
        "otp_within_sla_pct": 100.0 * float(otp_ok.mean()) if otp.any() else math.nan,
        "shift_away_median_s": _quantile(shift.away_s, 0.5),
        "shift_away_p90_s": _quantile(shift.away_s, 0.9),
        "shift_back_median_s": _quantile(shift.back_s, 0.5),
        "shifted_contexts": len(shift.away_s),
        "outage_messages": shift.outage_messages,
        "explored_pct": 100.0 * float(run.explored.mean()) if n else 0.0,
        "us_per_decision": 1e6 * run.decide_seconds / n if n else math.nan,
        "duplicates_dropped": run.duplicates_dropped,
    }
