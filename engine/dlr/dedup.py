"""Dropping duplicate receipts before they reach the router.

HTTP aggregators retry webhooks and SMSCs resend deliver_sm: the same final receipt often arrives
twice. Counting it twice would make a route look better (or worse) than it is, so only the first
final receipt per message is fed to the policy.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class SeenReceipts(Protocol):
    """Remembers which messages already had their final receipt."""

    def first(self, messages: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Mark the messages as reported; True where this is the first receipt (also within the batch)."""
        ...


class BitmapReceipts:
    """For dense integer message ids (simulations): one bit per message.

    >>> seen = BitmapReceipts(10)
    >>> seen.first(np.array([3, 3, 4])).tolist()
    [True, False, True]
    >>> seen.first(np.array([4])).tolist()
    [False]
    """

    def __init__(self, capacity: int) -> None:
        self._seen = np.zeros(capacity, dtype=bool)
        self.duplicates = 0

    def first(self, messages: NDArray[np.int64]) -> NDArray[np.bool_]:
        fresh = np.zeros(len(messages), dtype=bool)
        _, first_idx = np.unique(messages, return_index=True)
        fresh[first_idx] = True
        fresh &= ~self._seen[messages]
        self._seen[messages] = True
        self.duplicates += int(len(messages) - fresh.sum())
        return fresh
