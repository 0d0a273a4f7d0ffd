"""Messages submitted but not yet reported, bucketed by submit time.

A black-holed route accepts every submit and never reports: a learner that counts only arrived DLRs
barely notices. The ledger lets a learner count each in-flight message as ``F(age)`` of a failure
(``F`` from :class:`~engine.stats.delay.DelayModel`) and as a whole failure once it is older than
the timeout. Counts live in a ring of fixed-width time slots per arm, so every update is a handful
of vectorised operations whatever the traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Expired:
    """Counts that reached the timeout: ``count`` messages of ``arm`` became failures at ``at``."""

    arm: NDArray[np.int64]
    count: NDArray[np.float64]
    at: NDArray[np.float64]


class PendingLedger:
    """In-flight counts per (arm, submit-time slot) over a sliding window of ``timeout_s``.

    :meth:`mass` is recomputed in full once per slot; between slot boundaries submits and reports
    adjust it in place, so a router deciding every few milliseconds pays for it once per slot.
    """

    def __init__(self, arms: int, timeout_s: float, slot_s: float = 5.0) -> None:
        if not (timeout_s > 0 and slot_s > 0):
            raise ValueError("timeout_s and slot_s must be positive")
        self.timeout_s = timeout_s
        self.slot_s = slot_s
        self._slots = math.ceil(timeout_s / slot_s)
        self._counts = np.zeros((arms, self._slots), dtype=np.float64)
        self._head: int | None = None  # absolute index of the newest slot still in the window
        self._weight: NDArray[np.float64] | None = None  # F(age) per (arm, ring position)
        self._mass: NDArray[np.float64] | None = None

    def grow(self, arms: int) -> None:
        extra = arms - self._counts.shape[0]
        if extra > 0:
            self._counts = np.vstack([self._counts, np.zeros((extra, self._slots))])
            self._mass = self._weight = None

    def _slot_of(self, t: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.floor(t / self.slot_s).astype(np.int64)

    def advance(self, now: float) -> Expired:
        """Move the window to ``now``; return what fell out of it (to be counted as failures)."""
        nothing = Expired(np.empty(0, np.int64), np.empty(0), np.empty(0))
        head = math.floor(now / self.slot_s)
        if self._head is None:
            self._head = head
        if head <= self._head:
            return nothing
        self._mass = self._weight = None
        # Absolute slots leaving the window: those no newer than head - slots.
        first = self._head - self._slots + 1
        last = min(head - self._slots, self._head)
        self._head = head
        if last < first:
            return nothing
        leaving = np.arange(first, last + 1, dtype=np.int64)
        block = self._counts[:, leaving % self._slots]
        self._counts[:, leaving % self._slots] = 0.0
        arm, j = np.nonzero(block)
        at = (leaving[j] + 1) * self.slot_s + self.timeout_s
        return Expired(arm.astype(np.int64), block[arm, j], at.astype(np.float64))

    def _live(self, slots: NDArray[np.int64]) -> NDArray[np.bool_]:
        if self._head is None:
            return np.ones(len(slots), dtype=bool)
        return (slots > self._head - self._slots) & (slots <= self._head)

    def _change(self, arms: NDArray[np.int64], t: NDArray[np.float64], sign: float) -> NDArray[np.bool_]:
        slots = self._slot_of(t)
        live = self._live(slots)
        arms, ring = arms[live], slots[live] % self._slots
        np.add.at(self._counts, (arms, ring), sign)
        if sign < 0:
            # A report for a message the ledger never saw (restart, duplicate) must not go negative.
            self._counts[arms, ring] = np.maximum(self._counts[arms, ring], 0.0)
        if self._mass is not None and self._weight is not None:
            np.add.at(self._mass, arms, sign * self._weight[arms, ring])
        return live

    def submit(self, arms: NDArray[np.int64], t: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Record submits; returns which were recorded (a submit older than the window is not)."""
        return self._change(arms, t, 1.0)

    def resolve(self, arms: NDArray[np.int64], submitted_at: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Remove reported messages; returns which were still pending (False: already expired)."""
        return self._change(arms, submitted_at, -1.0)

    def expired_at(self, submitted_at: NDArray[np.float64]) -> NDArray[np.float64]:
        """When :meth:`advance` turned messages submitted at these times into failures."""
        result: NDArray[np.float64] = (self._slot_of(submitted_at) + 1) * self.slot_s + self.timeout_s
        return result

    def mass(
        self, now: float, weight: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Per arm, the sum over its pending messages of ``F(age)``: the failure weight of silence.

        ``weight(ages)`` returns ``F`` for every arm (rows) at each of ``ages`` (columns); ``ages``
        are aligned with the ring positions. Call :meth:`advance` first.
        """
        if self._head is None:
            return np.zeros(self._counts.shape[0])
        if self._mass is None or self._weight is None:
            ring = np.arange(self._slots, dtype=np.int64)
            # The absolute slot in the window that occupies each ring position.
            absolute = self._head - ((self._head - ring) % self._slots)
            ages = np.maximum(now - (absolute + 0.5) * self.slot_s, 0.0)
            self._weight = weight(ages)
            self._mass = (self._counts * self._weight).sum(axis=1)
        return self._mass

    def total(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self._counts.sum(axis=1)
        return result
