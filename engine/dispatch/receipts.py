"""The receipt processor: I/O around the pure correlation core.

Fetch what the index knows about each receipt, let :func:`engine.dlr.correlate` decide, write the
new statuses back, and feed the router. Receipts that arrive before their submit response are parked
and looked up again; after a grace period they are logged and counted as orphans. Messages past
their receipt deadline become ``unknown``; a late receipt still corrects them.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

from engine.dispatch.ports import Outcome, OutcomeHook, RouterPort
from engine.dlr import ParkedReceipts, SentRecord, StatusUpdate, correlate, expired
from engine.domain.clock import Clock
from engine.domain.enums import MessageStatus
from engine.domain.messages import Receipt, ReceiptStatus
from engine.infra.records import STATE_FIELDS, Record, SentView, history_implied
from engine.infra.store import Change, Conversion, Inbound, MessageStore
from engine.policies.batches import FeedbackBatch, FeedbackKind

log = logging.getLogger(__name__)


# Enum lookups by value without Enum.__call__ (a hot path); unknown values still raise as before.
_MESSAGE_STATUS = {s.value: s for s in MessageStatus}


def sent_record(record: Record) -> SentRecord | None:
    """The correlation view of a stored message (None if it was never submitted)."""
    view = route_view(record)
    return None if view is None else viewed_record(record["id"], record["channel"], view, record)


def route_view(record: Record) -> SentView | None:
    """What the provider-id index would say of a stored message (None if it was never submitted)."""
    provider_ids = record.get("provider_ids")
    if not provider_ids:
        return None
    pids = tuple(provider_ids.split(",")) if "," in provider_ids else (provider_ids,)
    arm, submitted_at = int(record.get("arm", "-1")), float(record.get("submitted_at", "0"))
    return SentView(arm, submitted_at, history_implied(record), pids)


def viewed_record(message_id: str, channel: str, view: SentView, state: Record) -> SentRecord:
    """The correlation view of a sent message from what the index says of it and its ``state``
    (:data:`~engine.infra.records.STATE_FIELDS`). A message has one part per provider id: a channel
    that answered one id for a multi-part message reports on it as one part."""
    pids = view.provider_ids
    parts = len(pids)
    stored_status = state["status"]
    status = _MESSAGE_STATUS.get(stored_status) or MessageStatus(stored_status)
    part_status, part_errors = state.get("part_status"), state.get("part_errors")
    if part_status is None and part_errors is None:
        # Nothing reported per part yet (always so for a one-part message): one id, status and error
        # per part by construction, so SentRecord's checks can be skipped.
        nothing = (None,) * parts
        return SentRecord.unchecked(
            message_id, channel, pids, view.arm, view.submitted_at, nothing, status, nothing
        )
    statuses = json.loads(part_status if part_status is not None else "null") or [None] * parts
    errors = json.loads(part_errors if part_errors is not None else "null") or [None] * parts
    return SentRecord(
        message_id=message_id,
        channel=channel,
        provider_ids=pids,
        arm=view.arm,
        submitted_at=view.submitted_at,
        parts=parts,
        part_status=tuple(ReceiptStatus(s) if s else None for s in statuses),
        status=status,
        part_errors=tuple(errors),
    )


def _parts(record: SentRecord) -> dict[str, str]:
    """Per-part statuses, kept while a multi-part message waits for its other parts' receipts. A
    one-part message needs none: its own status tells a duplicate from a first receipt."""
    if record.parts == 1:
        return {}
    return {
        "part_status": json.dumps([s.value if s else None for s in record.part_status]),
        "part_errors": json.dumps(list(record.part_errors)),
    }


def _change(update: StatusUpdate, record: SentRecord | None, implied_ids: AbstractSet[str]) -> Change:
    """``implied_ids``: ids of messages whose history is implied up to now (status `sent`, see
    :data:`engine.infra.records.IMPLIED_SENDING_AT`): a `delivered` is implied too. Nothing changes a
    `delivered` message's status again, while an `undelivered` one may yet be corrected by a
    conversion, whose entry would follow an entry no list holds."""
    fields = {"error_code": update.error_code or ""}
    if record is not None and record.parts != 1:
        fields.update(_parts(record))
    if update.correction:
        return Change(
            update.message_id, update.at, update.status, fields, "late receipt corrected the timeout",
            MessageStatus.UNKNOWN,
        )  # fmt: skip
    implied = update.status is MessageStatus.DELIVERED and update.message_id in implied_ids
    return Change(update.message_id, update.at, update.status, fields, "", None, implied)


def _with_callback(records: Iterable[Record | None]) -> set[str]:
    """Ids of the records that asked for status callbacks (so Redis need not check each)."""
    return {r["id"] for r in records if r is not None and r.get("callback")}


class ReceiptProcessor:
    def __init__(
        self,
        store: MessageStore,
        router: RouterPort,
        clock: Clock,
        *,
        receipt_timeout_s: float,
        grace_s: float = 60.0,
        on_outcome: OutcomeHook | None = None,
        consumer: str = "receipts",
        feedback_every_s: float = 0.25,
    ) -> None:
        self.store, self.router, self.clock = store, router, clock
        self.inbound = Inbound(store.client, store.keys)
        self.consumer = consumer
        self.receipt_timeout_s = receipt_timeout_s
        self.parked = ParkedReceipts(grace_s)
        self.counts: Counter[str] = Counter()
        self.on_outcome = on_outcome
        # What receipts taught the router, handed on at most every `feedback_every_s` (and at
        # every tick): receipts come in many small batches, and each hand-over is a router call
        # (about 1 ms of CPU). A quarter of a second is nothing to a router that learns over minutes,
        # and it keeps receipts behind the dispatchers' submits, which reach the router at once.
        self.feedback_every_s = feedback_every_s
        self._feedback: list[FeedbackBatch] = []
        self._fed_at = -math.inf

    async def ingest(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        now = self.clock.now()
        records, implied, callbacks = await self._find(receipts)
        result = correlate(receipts, records, now)
        self.parked.park(result.unmatched, now)
        by_id = {r.message_id: r for r in result.records}
        changes = [_change(u, by_id.get(u.message_id), implied) for u in result.updates]
        # Parts that reported while others are still out: keep their statuses (in the same write).
        settled = {u.message_id for u in result.updates}
        changes += [
            Change(r.message_id, now, fields=_parts(r)) for r in result.records if r.message_id not in settled
        ]
        await self.store.apply(changes, callbacks)
        if self.on_outcome is not None:
            submitted = {r.message_id: r.submitted_at for r in result.records}
            self.on_outcome(
                [Outcome(u.message_id, u.at, u.status, latency_s=u.at - submitted[u.message_id]
                         if u.message_id in submitted else None, error_code=u.error_code)
                 for u in result.updates]
            )  # fmt: skip
        if len(result.feedback):
            self._feedback.append(result.feedback)
        await self._feed(now)
        self.counts.update(
            ingests=1, receipts=len(receipts), duplicates=result.duplicates, intermediate=result.intermediate,
            settled=len(result.updates), corrections=sum(u.correction for u in result.updates),
        )  # fmt: skip

    async def _find(self, receipts: Sequence[Receipt]) -> tuple[list[SentRecord | None], set[str], set[str]]:
        """The message each receipt reports on as :func:`correlate` takes it (None where none is
        found), and the ids among them whose history is implied up to now (see :func:`_change`) and
        that asked for status callbacks.

        The index tells most of what correlating needs (:class:`SentView`): those messages are read
        for their state alone; the others (indexed before it did, or found by our id echoed back in
        the receipt) are read whole.
        """
        hits = await self.store.lookup_sent([(r.channel, r.provider_id) for r in receipts])
        views: dict[str, tuple[str, SentView]] = {}  # message id -> (channel, view)
        whole: set[str] = set()
        for receipt, hit in zip(receipts, hits, strict=True):
            if hit is None:
                if receipt.message_ref:  # our id echoed back: trusted below for its own channel only
                    whole.add(receipt.message_ref)
            elif hit[1] is None:
                whole.add(hit[0])
            else:
                views[hit[0]] = (receipt.channel, hit[1])
        wholes = sorted(whole - views.keys())
        states = await self.store.fetch_for_receipts(list(views), fields=STATE_FIELDS)
        described: list[tuple[str, str, SentView | None, Record | None]] = [
            (mid, channel, view, state)
            for (mid, (channel, view)), state in zip(views.items(), states, strict=True)
        ]
        for mid, stored in zip(wholes, await self.store.fetch_for_receipts(wholes), strict=True):
            described.append(
                (mid, stored["channel"], route_view(stored), stored) if stored else (mid, "", None, None)
            )
        messages: dict[str, SentRecord | None] = {}
        implied: set[str] = set()
        callbacks: set[str] = set()
        for mid, channel, view, state in described:
            if view is None or state is None:  # gone, or never submitted
                messages[mid] = None
                continue
            record = messages[mid] = viewed_record(mid, channel, view, state)
            if view.implied and record.status is MessageStatus.SENT:
                implied.add(mid)
            if state.get("callback"):
                callbacks.add(mid)
        records: list[SentRecord | None] = []
        for receipt, hit in zip(receipts, hits, strict=True):
            if hit is not None:
                records.append(messages.get(hit[0]))
                continue
            by_ref = messages.get(receipt.message_ref) if receipt.message_ref else None
            records.append(by_ref if by_ref is not None and by_ref.channel == receipt.channel else None)
        return records, implied, callbacks

    async def tick(self) -> None:
        """Take webhook receipts and conversions, release scheduled messages, look parked receipts
        up again, give up on old ones, and time out silent messages."""
        entries, items = await self.inbound.read(self.consumer)
        await self.ingest([i for i in items if not isinstance(i, Conversion)])
        await self.convert([i for i in items if isinstance(i, Conversion)])
        await self.inbound.ack(entries)
        now = self.clock.now()
        self.counts["released"] += await self.store.release_due(now)
        await self.ingest(self.parked.retry(now))
        await self._feed(now, due=True)
        orphans = self.parked.expire(now)
        if orphans:
            self.counts["orphans"] += len(orphans)
            log.warning("%d receipts matched no message (first: %s/%s)", len(orphans),
                        orphans[0].channel, orphans[0].provider_id)  # fmt: skip
        overdue = await self.store.overdue(now)
        if not overdue.tokens:
            return
        fetched = await self.store.fetch_for_receipts(overdue.message_ids, status=MessageStatus.SENT)
        records = [r for r in (sent_record(f) for f in fetched if f) if r is not None]
        updates = expired(records, now, self.receipt_timeout_s)
        # Conditional in Redis: a receipt ingested since the records were read wins.
        timed_out = set(
            await self.store.time_out([(u.message_id, u.at) for u in updates], _with_callback(fetched))
        )
        await self.store.settle(overdue)
        if self.on_outcome is not None:
            self.on_outcome(
                [Outcome(u.message_id, u.at, u.status) for u in updates if u.message_id in timed_out]
            )
        self.counts["timeouts"] += len(timed_out)

    async def flush(self) -> None:
        """Hand the buffered feedback to the router now (before a stop: it is not kept anywhere)."""
        await self._feed(self.clock.now(), due=True)

    async def _feed(self, now: float, *, due: bool = False) -> None:
        """Hand the buffered feedback to the router if it is ``due`` or old enough."""
        if not self._feedback or not (due or now - self._fed_at >= self.feedback_every_s):
            return
        parts, self._feedback = self._feedback, []
        try:
            await self.router.feedback(FeedbackBatch.concat(now, parts))
        except BaseException:
            self._feedback[:0] = parts  # the router is away (restarting): next time
            raise
        self._fed_at = now

    async def convert(self, conversions: Sequence[Conversion]) -> None:
        """A conversion proves delivery: it settles the message as ``delivered`` (correcting
        ``unknown`` or a false ``undelivered``) and tells the router, once per message."""
        if not conversions:
            return
        records = await self.store.fetch([c.message_id for c in conversions])
        changes: list[Change] = []
        arms: list[int] = []
        submitted: list[float] = []
        seen: set[str] = set()
        for conversion, record in zip(conversions, records, strict=True):
            if record is None or record.get("converted_at") or not record.get("submitted_at"):
                continue  # unknown, already counted, or never sent: nothing to learn
            if conversion.message_id in seen:  # reported twice in one batch
                continue
            seen.add(conversion.message_id)
            status = MessageStatus(record["status"])
            fields = {"converted_at": repr(conversion.at)}
            if status is MessageStatus.DELIVERED:
                changes.append(Change(conversion.message_id, conversion.at, fields=fields))
                continue
            replaces = status if status.is_final else None
            note = "conversion reported by the sender"
            changes.append(
                Change(conversion.message_id, conversion.at, MessageStatus.DELIVERED, fields, note, replaces)
            )
            arms.append(int(record.get("arm", "-1")))
            submitted.append(float(record["submitted_at"]))
        await self.store.apply(changes, _with_callback(records))
        self.counts["conversions"] += len(changes)
        if arms:
            now = self.clock.now()
            kind = np.full(len(arms), FeedbackKind.DELIVERED, dtype=np.int64)
            reported = np.full(len(arms), now)
            feedback = FeedbackBatch(now, kind, np.array(arms, dtype=np.int64), np.array(submitted), reported)
            await self.router.feedback(feedback)

    def stats(self) -> dict[str, int]:
        return dict(self.counts)
