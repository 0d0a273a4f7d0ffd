"""Messages whose receipt never came: ``sent`` for too long becomes ``unknown``.

The router hears nothing about them: its pending-aware statistics already treat a long silence as
evidence, and a late receipt still corrects the status (and then reaches the router) through
:func:`engine.dlr.correlate.correlate`. The caller applies each update to its record, e.g.
``dataclasses.replace(record, status=MessageStatus.UNKNOWN)``, so that correction can happen.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.dlr.correlate import SentRecord, StatusUpdate
from engine.domain.enums import MessageStatus


def expired(records: Sequence[SentRecord], now: float, timeout_s: float) -> list[StatusUpdate]:
    """An ``unknown`` update, timestamped ``now``, for each record still ``sent`` at or past its deadline.

    >>> r = SentRecord("m1", "smsc", ("1",), arm=0, submitted_at=0.0)
    >>> [u.status.value for u in expired([r], now=600.0, timeout_s=600.0)]
    ['unknown']
    >>> expired([r], now=599.0, timeout_s=600.0)
    []
    """
    if timeout_s < 0:
        raise ValueError(f"timeout_s must be >= 0, got {timeout_s}")
    return [
        StatusUpdate(r.message_id, MessageStatus.UNKNOWN, now)
        for r in records
        if r.status is MessageStatus.SENT and now >= r.submitted_at + timeout_s
    ]
