"""Garbage-collector settings for a long-running engine process (an actor, the API)."""

from __future__ import annotations

import gc

# Objects allocated between two young collections. Python's default (700) made a dispatcher
# collect about every 7 messages of a batch, and a young collection walks every young object still
# alive: a batch's records, choices and changes, again and again until the batch is done. At 50,000
# a batch of 1,000 messages is collected about twice, and a dispatcher at batch 1,000 spent 8-10 %
# less CPU per message (benchmarks/pipeline, CPU by process). The older generations' thresholds
# count young collections, so they are raised less.
YOUNG = 50_000
MIDDLE = 20
OLD = 100


def settle_heap() -> None:
    """Keep what start-up made out of every later collection, and collect the young less often.

    A Ray worker holds about 125,000 long-lived objects (modules, Ray's state, the actor itself);
    each full collection walked them all, a third of the receipt actor's CPU under load (measured).
    Frozen objects are never collected, which is what they are. Call it once start-up is done.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
