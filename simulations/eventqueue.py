"""Future events (receipts) in columnar form, popped in time order tick by tick.

New events land in small unsorted chunks; they are merged into one sorted run once a few chunks
have accumulated, so a tick costs a binary search plus a scan of the recent chunks instead of a
Python-level heap operation per receipt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Columns = dict[str, NDArray[Any]]


class EventQueue:
    def __init__(self, merge_at: int = 8) -> None:
        self._merge_at = merge_at
        self._sorted: Columns = {}
        self._cursor = 0
        self._fresh: list[Columns] = []

    def push(self, at: NDArray[np.float64], **columns: NDArray[Any]) -> None:
        if len(at):
            self._fresh.append({"at": at, **columns})

    def _merge(self) -> None:
        parts = [{k: v[self._cursor :] for k, v in self._sorted.items()}] if self._sorted else []
        parts += self._fresh
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.argsort(merged["at"], kind="stable")
        self._sorted = {k: v[order] for k, v in merged.items()}
        self._cursor, self._fresh = 0, []

    def pop_until(self, t: float) -> Columns | None:
        """Every event with ``at <= t`` (in no particular order), or None."""
        if len(self._fresh) >= self._merge_at:
            self._merge()
        out: list[Columns] = []
        if self._sorted:
            end = int(np.searchsorted(self._sorted["at"], t, side="right"))
            if end > self._cursor:
                out.append({k: v[self._cursor : end] for k, v in self._sorted.items()})
                self._cursor = end
        keep: list[Columns] = []
        for chunk in self._fresh:
            due = chunk["at"] <= t
            if due.all():
                out.append(chunk)
            elif due.any():
                out.append({k: v[due] for k, v in chunk.items()})
                keep.append({k: v[~due] for k, v in chunk.items()})
            else:
                keep.append(chunk)
        self._fresh = keep
        if not out:
            return None
        return {k: np.concatenate([c[k] for c in out]) for k in out[0]}
