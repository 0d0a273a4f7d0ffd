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
from dataclasses import dataclass

import numpy as np

from engine.dlr.ids import id_forms
from engine.domain.enums import MessageStatus
from engine.domain.messages import Receipt, ReceiptStatus
from engine.domain.values import value_object
from engine.policies.batches import FeedbackBatch, FeedbackKind

_STATUS = {
    ReceiptStatus.DELIVERED: MessageStatus.DELIVERED,
    ReceiptStatus.UNDELIVERED: MessageStatus.UNDELIVERED,
    ReceiptStatus.EXPIRED: MessageStatus.EXPIRED,
    ReceiptStatus.REJECTED: MessageStatus.UNDELIVERED,
    ReceiptStatus.DELETED: MessageStatus.UNDELIVERED,
    ReceiptStatus.UNKNOWN: MessageStatus.UNDELIVERED,
}


# Enum members as module constants: ``MessageStatus.DELIVERED`` costs an enum attribute lookup each time.
_DELIVERED, _RECEIPT_DELIVERED = MessageStatus.DELIVERED, ReceiptStatus.DELIVERED
_UNKNOWN = MessageStatus.UNKNOWN
_FINAL_RECEIPT = frozenset(s for s in ReceiptStatus if s.is_final)
# Shared one-part tuples: fewer small objects per receipt for the garbage collector.
_ONE_STATUS: dict[ReceiptStatus, tuple[ReceiptStatus | None, ...]] = {s: (s,) for s in ReceiptStatus}
_NO_ERROR: tuple[str | None, ...] = (None,)
# A message in one of these statuses takes no further receipt; ``unknown`` still can be corrected.
_SETTLED = frozenset(s for s in MessageStatus if s.is_final and s is not MessageStatus.UNKNOWN)


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
        parts = self.parts
        if parts < 1:
            raise ValueError(f"{self.message_id}: parts must be at least 1, got {parts}")
        if not self.part_status:
            object.__setattr__(self, "part_status", (None,) * parts)
        if not self.part_errors:
            object.__setattr__(self, "part_errors", (None,) * parts)
        if (
            len(self.provider_ids) != parts
            or len(self.part_status) != parts
            or len(self.part_errors) != parts
        ):
            raise ValueError(f"{self.message_id}: need one provider id, status and error per part")

    @staticmethod
    def unchecked(  # noqa: PLR0917 (positional: it replaces __init__ in hot loops)
        message_id: str,
        channel: str,
        provider_ids: tuple[str, ...],
        arm: int,
        submitted_at: float,
        part_status: tuple[ReceiptStatus | None, ...],
        status: MessageStatus,
        part_errors: tuple[str | None, ...],
    ) -> SentRecord:
        """A record built without ``__init__`` and its checks, for hot loops whose caller guarantees
        them: at least one provider id, and exactly one status and one error per provider id
        (``parts`` is their number). About a third of the dataclass ``__init__``'s cost.

        >>> SentRecord.unchecked("m1", "smsc", ("1A",), 2, 10.0, (None,), MessageStatus.SENT, (None,)) == (
        ...     SentRecord("m1", "smsc", ("1A",), arm=2, submitted_at=10.0))
        True
        """
        record = _new(SentRecord)
        _set_message_id(record, message_id)
        _set_channel(record, channel)
        _set_provider_ids(record, provider_ids)
        _set_arm(record, arm)
        _set_submitted_at(record, submitted_at)
        _set_parts(record, len(provider_ids))
        _set_part_status(record, part_status)
        _set_status(record, status)
        _set_part_errors(record, part_errors)
        return record

    def part_of(self, provider_id: str) -> int | None:
        """Which part a receipt's provider id belongs to: a canonical match first, then any form."""
        pids = self.provider_ids
        if len(pids) == 1 and pids[0] == provider_id:  # the usual case: the id exactly as submitted
            return 0 if provider_id.strip() else None  # only a blank id has no forms
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
        return self._evolve(tuple(status), tuple(errors), self.status)

    def _evolve(
        self,
        part_status: tuple[ReceiptStatus | None, ...],
        part_errors: tuple[str | None, ...],
        status: MessageStatus,
    ) -> SentRecord:
        """This record with new per-part statuses and errors (as many as before) and message status:
        ``dataclasses.replace`` without its generic field walk and re-validation."""
        return SentRecord.unchecked(
            self.message_id, self.channel, self.provider_ids, self.arm, self.submitted_at,
            part_status, status, part_errors,
        )  # fmt: skip


# Slot setters of the frozen SentRecord, for SentRecord.unchecked (a frozen dataclass refuses setattr).
_new = object.__new__
_set_message_id = SentRecord.__dict__["message_id"].__set__
_set_channel = SentRecord.__dict__["channel"].__set__
_set_provider_ids = SentRecord.__dict__["provider_ids"].__set__
_set_arm = SentRecord.__dict__["arm"].__set__
_set_submitted_at = SentRecord.__dict__["submitted_at"].__set__
_set_parts = SentRecord.__dict__["parts"].__set__
_set_part_status = SentRecord.__dict__["part_status"].__set__
_set_status = SentRecord.__dict__["status"].__set__
_set_part_errors = SentRecord.__dict__["part_errors"].__set__


@value_object
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
    delivered_kind, undelivered_kind = FeedbackKind.DELIVERED, FeedbackKind.UNDELIVERED
    for receipt, found in zip(receipts, records, strict=True):
        if found is None or found.channel != receipt.channel:
            unmatched.append(receipt)
            continue
        message_id = found.message_id
        record = working.get(message_id)
        if record is None:
            record = working[message_id] = found
        part = record.part_of(receipt.provider_id)
        if part is None and receipt.message_ref == message_id and record.parts == 1:
            part = 0  # found by our own id, echoed back; with one part there is no doubt which
        if part is None:
            unmatched.append(receipt)
            continue
        if receipt.status not in _FINAL_RECEIPT:
            intermediate += 1
            continue
        if record.status in _SETTLED or record.part_status[part] is not None:
            duplicates += 1
            continue
        # record.with_receipt(part, receipt), then its outcome(), built once and without replace().
        if record.parts == 1:
            receipt_status = receipt.status
            error = receipt.error_code
            part_status: tuple[ReceiptStatus | None, ...] = _ONE_STATUS[receipt_status]
            part_errors: tuple[str | None, ...] = _NO_ERROR if error is None else (error,)
            if receipt_status is _RECEIPT_DELIVERED:
                status, error = _DELIVERED, None
            else:
                status = message_status(receipt_status)
        else:
            new = record.with_receipt(part, receipt)
            part_status, part_errors = new.part_status, new.part_errors
            outcome = new.outcome()
            if outcome is None:  # other parts still out: keep this part's receipt
                working[message_id] = new
                changed[message_id] = None
                continue
            status, error = outcome
        correction = record.status is _UNKNOWN
        record = record._evolve(part_status, part_errors, status)
        updates.append(StatusUpdate(message_id, status, receipt.at, error, receipt.raw, correction))
        if record.arm >= 0:  # messages sent outside the router (arm -1) teach it nothing
            kinds.append(delivered_kind if status is _DELIVERED else undelivered_kind)
            arms.append(record.arm)
            submitted.append(record.submitted_at)
            reported.append(receipt.at)
        working[message_id] = record
        changed[message_id] = None
    feedback = FeedbackBatch(
        now,
        np.array(kinds, dtype=np.int64),
        np.array(arms, dtype=np.int64),
        np.array(submitted, dtype=np.float64),
        np.array(reported, dtype=np.float64),
    )
    return Correlation(updates, [working[m] for m in changed], feedback, unmatched, duplicates, intermediate)
