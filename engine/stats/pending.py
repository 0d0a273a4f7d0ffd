"""Messages submitted but not yet reported, bucketed by submit time.

A black-holed route accepts every submit and never reports: a learner that counts only arrived DLRs
barely notices. The ledger lets a learner treat silence as evidence: per (arm, submit-time slot) it
keeps how many messages were sent and how many are still silent, so that silence beyond what is
normal at that age can be counted as failure. Counts live in a ring of fixed-width time slots per
arm covering ``timeout_s``, so every update is a handful of vectorised operations whatever the
traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Expired:
    """Slots that reached the timeout: of ``sent`` messages of ``arm``, ``silent`` never reported."""

    arm: NDArray[np.int64]
    silent: NDArray[np.float64]
    sent: NDArray[np.float64]
    at: NDArray[np.float64]


def _nothing() -> Expired:
    empty = np.empty(0)
    return Expired(empty.astype(np.int64), empty, empty, empty)


class PendingLedger:
    """Sent and still-silent counts per (arm, submit-time slot) over a window of ``timeout_s``.

    :meth:`mass` is computed in full once per slot; in between, submits and receipts update only
    the cells they touch, so a router deciding every millisecond pays for it once per slot.
    """

    def __init__(self, arms: int, timeout_s: float, slot_s: float = 5.0) -> None:
        if not (timeout_s > 0 and slot_s > 0):
            raise ValueError("timeout_s and slot_s must be positive")
        self.timeout_s = timeout_s
        self.slot_s = slot_s
        self._slots = math.ceil(timeout_s / slot_s)
        self._silent = np.zeros((arms, self._slots))
        self._sent = np.zeros((arms, self._slots))
        self._head: int | None = None  # absolute index of the newest slot still in the window
        # Cached once per slot: the normal silence share per cell, the excess per cell, its row sums.
        self._normal: NDArray[np.float64] | None = None
        self._excess = np.zeros((arms, self._slots))
        self._mass: NDArray[np.float64] | None = None  # [memories, arms]
        self._fade = np.ones((1, self._slots))  # [memories, ring]: how much each slot still counts

    def grow(self, arms: int) -> None:
        extra = arms - self._silent.shape[0]
        if extra > 0:
            self._silent = np.vstack([self._silent, np.zeros((extra, self._slots))])
            self._sent = np.vstack([self._sent, np.zeros((extra, self._slots))])
            self._mass = self._normal = None

    def _slot_of(self, t: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.floor(t / self.slot_s).astype(np.int64)

    def advance(self, now: float) -> Expired:
        """Move the window to ``now``; return the slots that fell out of it."""
        head = math.floor(now / self.slot_s)
        if self._head is None:
            self._head = head
        if head <= self._head:
            return _nothing()
        self._mass = self._normal = None
        # Absolute slots leaving the window: those no newer than head - slots.
        first = self._head - self._slots + 1
        last = min(head - self._slots, self._head)
        self._head = head
        if last < first:
            return _nothing()
        leaving = np.arange(first, last + 1, dtype=np.int64)
        ring = leaving % self._slots
        silent, sent = self._silent[:, ring], self._sent[:, ring]
        self._silent[:, ring] = 0.0
        self._sent[:, ring] = 0.0
        arm, j = np.nonzero(sent)
        at = (leaving[j] + 1) * self.slot_s + self.timeout_s
        return Expired(arm.astype(np.int64), silent[arm, j], sent[arm, j], at.astype(np.float64))

    def _live(self, slots: NDArray[np.int64]) -> NDArray[np.bool_]:
        if self._head is None:
            return np.ones(len(slots), dtype=bool)
        return (slots > self._head - self._slots) & (slots <= self._head)

    def submit(self, arms: NDArray[np.int64], t: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Record submits; returns which were recorded (a submit older than the window is not)."""
        slots = self._slot_of(t)
        live = self._live(slots)
        idx = (arms[live], slots[live] % self._slots)
        np.add.at(self._silent, idx, 1.0)
        np.add.at(self._sent, idx, 1.0)
        self._touch(*idx)
        return live

    def resolve(self, arms: NDArray[np.int64], submitted_at: NDArray[np.float64]) -> NDArray[np.bool_]:
        """A receipt ended the silence; returns which were still in the window (False: expired)."""
        slots = self._slot_of(submitted_at)
        live = self._live(slots)
        arms, ring = arms[live], slots[live] % self._slots
        np.subtract.at(self._silent, (arms, ring), 1.0)
        # A report for a message the ledger never saw (restart, duplicate) must not go negative.
        self._silent[arms, ring] = np.maximum(self._silent[arms, ring], 0.0)
        self._touch(arms, ring)
        return live

    def _touch(self, arms: NDArray[np.int64], ring: NDArray[np.int64]) -> None:
        """Bring the cached excess of the changed cells up to date."""
        if self._mass is None or self._normal is None or len(arms) == 0:
            return
        cells = np.unique(arms * self._slots + ring)
        a, r = cells // self._slots, cells % self._slots
        new = np.maximum(self._silent[a, r] - self._sent[a, r] * self._normal[a, r], 0.0)
        for memory in range(len(self._mass)):
            np.add.at(self._mass[memory], a, (new - self._excess[a, r]) * self._fade[memory, r])
        self._excess[a, r] = new

    def expired_at(self, submitted_at: NDArray[np.float64]) -> NDArray[np.float64]:
        """When :meth:`advance` let messages submitted at these times out of the window."""
        slots = self._slot_of(submitted_at).astype(np.float64)
        return (slots + 1.0) * self.slot_s + self.timeout_s

    def mass(
        self,
        now: float,
        normal: Callable[[NDArray[np.float64]], NDArray[np.float64]],
        half_lives: tuple[float, ...] = (math.inf,),
    ) -> NDArray[np.float64]:
        """Per arm, how many messages are silent beyond normal: the failure weight of silence.

        ``normal(ages)`` gives, for every arm (rows) and each of ``ages`` (columns, aligned with the
        ring), the share of messages that a healthy route leaves silent at that age. The silence of
        a message is evidence about the moment it was sent, so it fades with the message's age like
        all other evidence: one row of the result per ``half_lives`` entry. Call :meth:`advance`
        first.
        """
        if self._head is None:
            return np.zeros((len(half_lives), self._silent.shape[0]))
        if self._mass is None or self._normal is None or len(self._mass) != len(half_lives):
            ring = np.arange(self._slots, dtype=np.int64)
            # The absolute slot in the window that occupies each ring position.
            absolute = self._head - ((self._head - ring) % self._slots)
            ages = np.maximum(now - (absolute + 0.5) * self.slot_s, 0.0)
            self._normal = normal(ages)
            self._excess = np.maximum(self._silent - self._sent * self._normal, 0.0)
            self._fade = np.exp2(-ages[None, :] / np.asarray(half_lives)[:, None])
            self._mass = self._fade @ self._excess.T
        return self._mass

    def in_flight(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self._silent.sum(axis=1)
        return result
