"""Correlating delivery receipts with the messages they report on.

The live engine looks every receipt up in its index (by channel and :func:`~engine.dlr.ids.id_forms`),
calls :func:`correlate` with what it found, writes back the records and status updates it returns
and sends the feedback to the router. Receipts it could not place are parked
(:class:`~engine.dlr.parking.ParkedReceipts`): a receipt can beat its submit response.

Receipt status -> message status (one receipt per part):

============  ===============  =============================================================
receipt       message          why
============  ===============  =============================================================
DELIVERED     DELIVERED
UNDELIVERED   UNDELIVERED
EXPIRED       EXPIRED          the validity period ran out at the SMSC
REJECTED      UNDELIVERED      the operator refused it (``REJECTED`` is our own policy's verdict)
DELETED       UNDELIVERED      removed at the SMSC before delivery
UNKNOWN       UNDELIVERED      a final receipt that does not confirm delivery
ENROUTE       (unchanged)      intermediate: counted, nothing else
============  ===============  =============================================================

A message is final once every part has its final receipt: delivered if all parts were, otherwise
the status and error of the first failing part (in part order). The router hears DELIVERED for a
delivered message and UNDELIVERED for every other final outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.dlr.ids import id_forms
from engine.domain.enums import MessageStatus
from engine.domain.messages import Receipt, ReceiptStatus
from engine.policies.batches import FeedbackBatch, FeedbackKind

_STATUS = {
    ReceiptStatus.DELIVERED: MessageStatus.DELIVERED,
    ReceiptStatus.UNDELIVERED: MessageStatus.UNDELIVERED,
    ReceiptStatus.EXPIRED: MessageStatus.EXPIRED,
    ReceiptStatus.REJECTED: MessageStatus.UNDELIVERED,
    ReceiptStatus.DELETED: MessageStatus.UNDELIVERED,
    ReceiptStatus.UNKNOWN: MessageStatus.UNDELIVERED,
}


def message_status(receipt: ReceiptStatus) -> MessageStatus:
    """The message status a final receipt status stands for (see the module's table).

    >>> message_status(ReceiptStatus.REJECTED)
    <MessageStatus.UNDELIVERED: 'undelivered'>
    """
    try:
        return _STATUS[receipt]
    except KeyError:
        raise ValueError(f"{receipt!r} is not a final receipt status") from None


@dataclass(frozen=True, slots=True)
class SentRecord:
    """What the status store keeps about a submitted message, for correlating its receipts.

    ``provider_ids[j]`` is the channel's id for part ``j``, ``part_status[j]`` its final receipt
    status (None until one arrives) and ``part_errors[j]`` that receipt's error code.
    ``part_status`` and ``part_errors`` default to "nothing reported yet".
    """

    message_id: str
    channel: str
    provider_ids: tuple[str, ...]
    arm: int
    submitted_at: float
    parts: int = 1
    part_status: tuple[ReceiptStatus | None, ...] = ()
    status: MessageStatus = MessageStatus.SENT
    part_errors: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if self.parts < 1:
            raise ValueError(f"{self.message_id}: parts must be at least 1, got {self.parts}")
        if not self.part_status:
            object.__setattr__(self, "part_status", (None,) * self.parts)
        if not self.part_errors:
            object.__setattr__(self, "part_errors", (None,) * self.parts)
        lengths = {len(self.provider_ids), len(self.part_status), len(self.part_errors)}
        if lengths != {self.parts}:
            raise ValueError(f"{self.message_id}: need one provider id, status and error per part")

    def part_of(self, provider_id: str) -> int | None:
        """Which part a receipt's provider id belongs to: a canonical match first, then any form."""
        wanted = id_forms(provider_id)
        if not wanted:
            return None
        forms = [id_forms(p) for p in self.provider_ids]
        for j, f in enumerate(forms):
            if f and f[0] == wanted[0]:
                return j
        for j, f in enumerate(forms):
            if not set(f).isdisjoint(wanted):
                return j
        return None

    def outcome(self) -> tuple[MessageStatus, str | None] | None:
        """The message's final status and error once every part reported, else None."""
        if any(s is None for s in self.part_status):
            return None
        for s, error in zip(self.part_status, self.part_errors, strict=True):
            if s is not ReceiptStatus.DELIVERED and s is not None:
                return message_status(s), error
        return MessageStatus.DELIVERED, None

    def with_receipt(self, part: int, receipt: Receipt) -> SentRecord:
        """This record with ``receipt`` as part ``part``'s final receipt."""
        status = list(self.part_status)
        errors = list(self.part_errors)
        status[part], errors[part] = receipt.status, receipt.error_code
        return replace(self, part_status=tuple(status), part_errors=tuple(errors))


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A message's new status, for its history. ``correction``: a late receipt overrode ``unknown``."""

    message_id: str
    status: MessageStatus
    at: float
    error_code: str | None = None
    raw: str = ""
    correction: bool = False


@dataclass(frozen=True, slots=True)
class Correlation:
    """What one batch of receipts changed.

    ``records`` holds one updated record per message whose record changed (to write back);
    ``unmatched`` the receipts to park; ``duplicates`` the final receipts dropped because their
    part (or message) already had one; ``intermediate`` the ENROUTE-like receipts.
    """

    updates: list[StatusUpdate]
    records: list[SentRecord]
    feedback: FeedbackBatch
    unmatched: list[Receipt]
    duplicates: int
    intermediate: int


def correlate(receipts: Sequence[Receipt], records: Sequence[SentRecord | None], now: float) -> Correlation:
    """Apply ``receipts`` in order; ``records[i]`` is what the index found for ``receipts[i]``.

    Several receipts for one message are applied one after another to the same working record
    (the index hands each of them the same stale copy).

    >>> rec = SentRecord("m1", "smsc", ("1A",), arm=2, submitted_at=10.0)
    >>> c = correlate([Receipt("smsc", "26", ReceiptStatus.DELIVERED, at=14.0)], [rec], now=15.0)
    >>> c.updates[0].status, c.feedback.arm.tolist(), c.feedback.reported_at.tolist()
    (<MessageStatus.DELIVERED: 'delivered'>, [2], [14.0])
    """
    if len(receipts) != len(records):
        raise ValueError(f"{len(receipts)} receipts but {len(records)} lookups")
    working: dict[str, SentRecord] = {}
    changed: dict[str, None] = {}  # an ordered set: first-touch order
    updates: list[StatusUpdate] = []
    unmatched: list[Receipt] = []
    kinds: list[int] = []
    arms: list[int] = []
    submitted: list[float] = []
    reported: list[float] = []
    duplicates = intermediate = 0
    for receipt, found in zip(receipts, records, strict=True):
        if found is None or found.channel != receipt.channel:
            unmatched.append(receipt)
            continue
        record = working.setdefault(found.message_id, found)
        part = record.part_of(receipt.provider_id)
        if part is None and receipt.message_ref == record.message_id and record.parts == 1:
            part = 0  # found by our own id, echoed back; with one part there is no doubt which
        if part is None:
            unmatched.append(receipt)
            continue
        if not receipt.status.is_final:
            intermediate += 1
            continue
        settled = record.status.is_final and record.status is not MessageStatus.UNKNOWN
        if settled or record.part_status[part] is not None:
            duplicates += 1
            continue
        record = record.with_receipt(part, receipt)
        outcome = record.outcome()
        if outcome is not None:
            status, error = outcome
            correction = record.status is MessageStatus.UNKNOWN
            record = replace(record, status=status)
            updates.append(
                StatusUpdate(record.message_id, status, receipt.at, error, receipt.raw, correction)
            )
            if record.arm >= 0:  # messages sent outside the router (arm -1) teach it nothing
                delivered = status is MessageStatus.DELIVERED
                kinds.append(FeedbackKind.DELIVERED if delivered else FeedbackKind.UNDELIVERED)
                arms.append(record.arm)
                submitted.append(record.submitted_at)
                reported.append(receipt.at)
        working[record.message_id] = record
        changed[record.message_id] = None
    feedback = FeedbackBatch(
        now,
        np.array(kinds, dtype=np.int64),
        np.array(arms, dtype=np.int64),
        np.array(submitted, dtype=np.float64),
        np.array(reported, dtype=np.float64),
    )
    return Correlation(updates, [working[m] for m in changed], feedback, unmatched, duplicates, intermediate)
