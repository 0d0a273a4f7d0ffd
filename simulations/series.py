"""Time series for the report: route shares around an outage and cumulative regret."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations.runner import Run
from simulations.scenario import EventKind
from simulations.traffic import Traffic
from simulations.world import World

BEFORE_S = 1800.0
AFTER_S = 3600.0
MINUTE = 60.0


def outage_window(world: World, traffic: Traffic) -> tuple[int, float, float] | None:
    """The first black-hole event: its index, start and the end of the window to plot."""
    end_of_run = traffic.ticks * traffic.tick_s
    for i, event in enumerate(world.events):
        if event.kind is EventKind.BLACKHOLE and event.start_s < end_of_run:
            return i, event.start_s, min(event.end_s + AFTER_S, end_of_run)
    return None


def route_shares(world: World, traffic: Traffic, run: Run) -> pd.DataFrame:
    """Per minute around the first outage: each channel's share of the affected contexts' traffic.

    Columns: policy, seed, minute (relative to the outage start), channel, share, dead (whether
    the channel is the black-holed one).
    """
    window = outage_window(world, traffic)
    if window is None:
        return pd.DataFrame(columns=["policy", "seed", "minute", "channel", "share", "dead"])
    index, t0, t_end = window
    dead_arms = np.flatnonzero(world.targets(index))
    contexts = np.unique(world.arms.context[dead_arms])
    dead_channel = int(world.arms.channel[dead_arms[0]]) if len(dead_arms) else -1
    t = traffic.time()
    pick = np.isin(traffic.context, contexts) & (t >= t0 - BEFORE_S) & (t < t_end) & (run.arm >= 0)
    minute = np.floor((t[pick] - t0) / MINUTE).astype(int)
    channel = world.arms.channel[run.arm[pick]]
    frame = pd.DataFrame({"minute": minute, "channel": channel})
    counts = frame.groupby(["minute", "channel"]).size().rename("n").reset_index()
    counts["share"] = counts["n"] / counts.groupby("minute")["n"].transform("sum")
    counts["dead"] = counts["channel"] == dead_channel
    counts["channel"] = [world.channel_names[c] for c in counts["channel"]]
    counts.insert(0, "seed", run.seed)
    counts.insert(0, "policy", run.policy)
    return counts.drop(columns="n")


def cumulative_regret(traffic: Traffic, run: Run, oracle: Run) -> pd.DataFrame:
    """Per minute: cumulative regret in USD against the oracle. Columns: policy, seed, minute, regret."""
    minute = np.floor(traffic.time() / MINUTE).astype(int)
    gap = np.bincount(minute, weights=oracle.utility.astype(float) - run.utility.astype(float))
    return pd.DataFrame(
        {
            "policy": run.policy,
            "seed": run.seed,
            "minute": np.arange(len(gap)),
            "regret": np.cumsum(gap),
        }
    )
