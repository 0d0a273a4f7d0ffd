"""Receipts that arrived before we knew their provider id.

An SMSC may send the receipt before the submit_sm_resp that tells us the id (on another bind, or
simply faster), so a receipt the index does not know yet is parked and looked up again on the next
round, until ``grace_s`` after it was first parked; then it is given up as an orphan (logged and
counted, never fed to the router).

The loop, once per round (receipts that matched are simply not parked again):

>>> from engine.domain.messages import ReceiptStatus
>>> parked = ParkedReceipts(grace_s=30.0)
>>> r = Receipt("smsc", "7F", ReceiptStatus.DELIVERED, at=1.0)
>>> parked.park([r], now=1.0)      # correlate() could not place it
>>> parked.retry(now=2.0) == [r]   # look these up again with the new receipts
True
>>> parked.park([r], now=2.0)      # still unknown: keeps its first parking time
>>> parked.expire(now=31.0) == [r]  # an orphan now
True
>>> len(parked)
0
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.domain.messages import Receipt


class ParkedReceipts:
    """Receipts waiting for their submit response, each remembered with when it was first parked."""

    def __init__(self, grace_s: float) -> None:
        if grace_s < 0:
            raise ValueError(f"grace_s must be >= 0, got {grace_s}")
        self.grace_s = grace_s
        self._parked: list[tuple[Receipt, float]] = []
        self._retrying: dict[Receipt, float] = {}  # handed out by the last retry()

    def __len__(self) -> int:
        return len(self._parked)

    def park(self, receipts: Iterable[Receipt], now: float) -> None:
        """Keep ``receipts`` for a later lookup; one handed out by the last retry keeps its first time."""
        for r in receipts:
            self._parked.append((r, self._retrying.get(r, now)))

    def retry(self, now: float) -> list[Receipt]:
        """Hand out every parked receipt to look up again (they leave the parking until re-parked).

        ``now`` is unused today; it keeps the three verbs alike for a future rate limit.
        """
        self._retrying = {}
        for r, since in self._parked:
            self._retrying[r] = min(since, self._retrying.get(r, since))
        out = [r for r, _ in self._parked]
        self._parked = []
        return out

    def expire(self, now: float) -> list[Receipt]:
        """Give up on the receipts parked ``grace_s`` ago or longer; they leave the parking."""
        keep: list[tuple[Receipt, float]] = []
        gone: list[Receipt] = []
        for r, since in self._parked:
            if now - since >= self.grace_s:
                gone.append(r)
            else:
                keep.append((r, since))
        self._parked = keep
        return gone
