"""Receipts an adapter has received, waiting for the channel actor's pump to take them.

The pump calls :meth:`ReceiptInbox.take` in a loop: it waits up to a timeout for the first receipt
and never waits once the inbox is closed, so a closing channel never holds its pump up. Receipts
that arrived before ``close`` can still be drained.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable

from engine.domain.messages import Receipt


class ReceiptInbox:
    def __init__(self) -> None:
        self._ready: deque[Receipt] = deque()
        self._arrived = asyncio.Event()
        self.closed = False
        self.received = 0  # receipts put in, ever

    def put(self, receipts: Iterable[Receipt]) -> int:
        """Add receipts (ignored once closed); how many were added."""
        if self.closed:
            return 0
        before = len(self._ready)
        self._ready.extend(receipts)
        added = len(self._ready) - before
        self.received += added
        if added:
            self._arrived.set()
        return added

    async def take(self, max_items: int, timeout_s: float) -> list[Receipt]:
        """Up to ``max_items`` receipts, waiting up to ``timeout_s`` for the first."""
        if max_items <= 0:
            return []
        if not self._ready and not self.closed and timeout_s > 0.0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
        return [self._ready.popleft() for _ in range(min(max_items, len(self._ready)))]

    def close(self) -> None:
        """No more receipts; wake a waiting reader."""
        self.closed = True
        self._arrived.set()
