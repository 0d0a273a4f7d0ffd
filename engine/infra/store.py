"""Message records, their history, the lanes (Redis Streams) and the receipt index.

Every write that belongs together goes in one :class:`~engine.infra.batch.Batch`: one round trip,
applied atomically, since a Redis round trip (and redis-py's work per command) costs far more than
the commands themselves. Reads that go together are one pipelined round trip.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from engine.dlr.ids import canonical_id, id_forms
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage, Receipt, ReceiptStatus
from engine.infra.batch import Batch, Runner
from engine.infra.keys import DISPATCH_GROUP, INBOUND_GROUP, Keys
from engine.infra.records import (
    RECEIPT_FIELDS,
    Record,
    SentView,
    carried_record,
    full_history,
    index_value,
    lane_entry,
    read_fields,
    read_index_value,
    read_record,
    stored_fields,
    time_text,
)

# redis-py's reply types are unions of every possible shape; clients here decode to str, so replies
# are taken as Any at the call and given their real shape right away.
Reply = Any
PROVIDER_ID_TTL_S = 3 * 86_400
MAX_ARGS = 4_000  # per command, even and below Lua's unpack limit (8,000 values)
IDEMPOTENCY_TTL_S = 86_400  # as long as Stripe's and Twilio's: a client retries within a day


@dataclass(frozen=True, slots=True)
class Overdue:
    """Batches of sent messages whose receipt deadline has passed: their tokens and message ids."""

    tokens: list[str]
    message_ids: list[str]


class SentEntry(NamedTuple):
    """A message just sent, to index for correlating its receipts (see :meth:`MessageStore.lookup_sent`)."""

    channel: str
    provider_ids: Sequence[str]
    message_id: str
    deadline: float  # for its receipt
    arm: int
    submitted_at: float
    implied: bool  # its history is implied (see records.IMPLIED_SENDING_AT)


@dataclass(slots=True)
class Change:
    """Fields to set on a message; a new ``status`` is also appended to its history at ``at``,
    unless the record implies that entry (``implied``; see :func:`records.full_history`).

    Not frozen, though never changed once made: one or two are made per message sent and per
    receipt, and a frozen dataclass's constructor costs five times as much (it sets each field
    through ``object.__setattr__``; 0.8 against 0.16 µs, about 5 % of a dispatcher's CPU).
    """

    message_id: str
    at: float
    status: MessageStatus | None = None
    fields: Mapping[str, str] | None = None
    note: str = ""
    replaces: MessageStatus | None = None  # a final status this one corrects (a late receipt)
    implied: bool = False


# Enum lookups as dicts: a property call per change otherwise (a hot path).
_VALUES = {s: s.value for s in MessageStatus}
_FINAL = frozenset(s for s in MessageStatus if s.is_final)


def _event(status: MessageStatus, at: float, note: str = "") -> str:
    """One history entry as JSON (formatted by hand: json.dumps per event cost 10 % of the pipeline)."""
    tail = f',"note":{orjson.dumps(note).decode()}' if note else ""
    return f'{{"status":"{status.value}","at":{at!r}{tail}}}'  # status values are plain words


def connect(url: str) -> aioredis.Redis:
    """An asyncio client that decodes replies to str (every module here expects str).

    Never retried by the client: a write whose reply was lost may have been applied, and running a
    batch twice could enqueue a message twice. Callers recover at their own level instead (stream
    entries stay pending until acknowledged; the API answers 5xx and the sender retries with its
    idempotency key).
    """
    return aioredis.Redis.from_url(url, decode_responses=True, retry=Retry(NoBackoff(), 0))


class MessageStore:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.batches = Runner(client)

    async def accept(self, messages: Sequence[NewMessage]) -> list[str | None]:
        """Record and enqueue (or schedule) messages in one atomic batch; durable once this returns.

        A message with an idempotency key already used by its tenant is not written again: its
        entry in the answer is what the key holds (``"<message id> <fingerprint>"``), else None.
        """
        batch = Batch()
        counts: Counter[str] = Counter()
        indexed: dict[str, list[str]] = {}  # the tenant index, one ZADD per tenant per batch
        replied: list[int | None] = []  # where a message's idempotency reply is, if it has a key
        for m in messages:
            if m.idempotency is not None:  # a repeat skips its writes, counter and index included
                key, fingerprint = m.idempotency
                idem = self.keys.idempotency(m.tenant, key)
                replied.append(len(batch))
                batch.add_unless(idem, 5)
                batch.add("SET", idem, f"{m.id} {fingerprint}", "EX", str(IDEMPOTENCY_TTL_S))
                batch.add("HINCRBY", self.keys.counters(), f"accepted:{m.lane.label}", "1")
                batch.add("ZADD", self.keys.tenant_messages(m.tenant), repr(m.created_at), m.id)
            else:
                replied.append(None)
                counts[f"accepted:{m.lane.label}"] += 1
                indexed.setdefault(m.tenant, []).extend((repr(m.created_at), m.id))
            stored = stored_fields(m)
            batch.add("HSET", self.keys.message(m.id), *stored)
            if m.send_at is None:
                batch.add("XADD", self.keys.lane(m.lane), "*", *lane_entry(m, stored))
            else:
                batch.add("ZADD", self.keys.scheduled(), repr(m.send_at), m.id)
        for tenant, pairs in indexed.items():
            for i in range(0, len(pairs), MAX_ARGS):
                batch.add("ZADD", self.keys.tenant_messages(tenant), *pairs[i : i + MAX_ARGS])
        for name, count in counts.items():
            batch.add("HINCRBY", self.keys.counters(), name, str(count))
        replies = await self.batches.run(batch, replies=any(r is not None for r in replied))
        return [None if at is None else replies[at] for at in replied]

    async def fetch(self, ids: Sequence[str], *, status: MessageStatus | None = None) -> list[Record | None]:
        """The records, None for a missing one (and, given ``status``, for one not in that status)."""
        batch = Batch()
        for mid in ids:
            key = self.keys.message(mid)
            if status is None:
                batch.add("HGETALL", key)
            else:
                batch.add_if_equal(key, "status", status.value, "HGETALL", key)
        rows = await self.batches.read(batch)
        return [read_record(row) if row else None for row in rows]

    async def history(self, record: Record) -> list[dict[str, object]]:
        return (await self.histories([record]))[0]

    async def histories(self, records: Sequence[Record]) -> list[list[dict[str, object]]]:
        """Each message's timestamped status history, oldest first."""
        batch = Batch()
        for record in records:
            batch.add("LRANGE", self.keys.history(record["id"]), "0", "-1")
        rows = await self.batches.read(batch)
        return [
            full_history(record, [orjson.loads(item) for item in row])
            for record, row in zip(records, rows, strict=True)
        ]

    async def apply(
        self,
        changes: Sequence[Change],
        callbacks: AbstractSet[str] | None = None,
        *,
        sent: Sequence[SentEntry] = (),
        sending_done: tuple[Lane, str] | None = None,
    ) -> None:
        """Write changes; status changes also become callback events for messages that asked.

        ``callbacks``: the ids among ``changes`` known to have a ``status_callback`` (a caller that
        holds the records knows); None makes Redis check each record. Successive changes of one
        message are written as one HSET and one RPUSH. ``sent``: messages now sent, indexed for
        correlation (see :meth:`lookup_sent`) after the changes. ``sending_done`` clears that
        ``(lane, consumer)``'s :meth:`mark_sending` journal in the same script: the outcomes and the
        end of the journal are one atomic write.
        """
        batch = Batch()
        finals: Counter[MessageStatus] = Counter()
        merged: dict[str, tuple[dict[str, str], list[str]]] = {}
        for c in changes:
            found = merged.get(c.message_id)
            if found is None:
                fields, events = merged[c.message_id] = ({}, [])
            else:
                fields, events = found
            if c.fields:
                fields.update(c.fields)
            status = c.status
            if status is not None:
                fields["status"] = _VALUES[status]
                fields["status_at"] = time_text(c.at)
                if not c.implied:
                    events.append(_event(status, c.at, c.note))
                if callbacks is None:
                    self._notify(batch, c.message_id, status, c.at)
                elif c.message_id in callbacks:
                    self._notify(batch, c.message_id, status, c.at, known=True)
                if status in _FINAL:
                    finals[status] += 1
                if c.replaces is not None:  # a message is counted under one final status only
                    finals[c.replaces] -= 1
        message = self.keys.message
        for message_id, (fields, events) in merged.items():
            if events:
                batch.add("RPUSH", self.keys.history(message_id), *events)
            if fields:
                batch.add("HSET", message(message_id), *[item for pair in fields.items() for item in pair])
        for final, count in finals.items():  # one counter update per status, not per message
            batch.add("HINCRBY", self.keys.counters(), f"final:{final.value}", str(count))
        self._index(batch, sent)
        if sending_done is not None:
            lane, consumer = sending_done
            batch.add("HDEL", self.keys.sending(lane), consumer)
        await self.batches.run(batch)

    async def time_out(self, silent: Sequence[tuple[str, float]], callbacks: AbstractSet[str]) -> list[str]:
        """``(message_id, at)``: those still ``sent`` become ``unknown``; the ids that did.

        Each is checked inside the script, so a receipt written after they were read wins: a
        message never ends both ``delivered`` and ``unknown``. ``callbacks``: ids with a callback.
        """
        batch = Batch()
        unknown, sent = MessageStatus.UNKNOWN, MessageStatus.SENT.value
        status_writes: list[int] = []  # where each message's status change is in the batch
        for mid, at in silent:
            key = self.keys.message(mid)
            batch.add_if_equal(key, "status", sent, "RPUSH", self.keys.history(mid), _event(unknown, at))
            if mid in callbacks:
                batch.add_if_equal(key, "status", sent, *self._callback_event(mid, unknown, at))
            batch.add_if_equal(key, "status", sent, "HINCRBY", self.keys.counters(), "final:unknown", "1")
            # Last: the checks above read the status this changes.
            status_writes.append(len(batch))
            status = ("status", unknown.value, "status_at", repr(at), "error_code", "")
            batch.add_if_equal(key, "status", sent, "HSET", key, *status)
        replies = await self.batches.run(batch, replies=True)
        return [mid for (mid, _), at in zip(silent, status_writes, strict=True) if replies[at] is not None]

    async def mark_sending(self, lane: Lane, consumer: str, message_ids: Sequence[str]) -> None:
        """Journal the messages a dispatcher is about to hand to channels: one write per batch.

        Until :meth:`apply` with ``sending_done`` records their outcomes, a message listed here and
        found again (the dispatcher died mid-submit) may have been sent: see :meth:`in_flight`.
        Their history shows ``sending`` once the outcome is written with it.
        """
        await self.client.hset(self.keys.sending(lane), consumer, ",".join(message_ids))

    async def clear_sending(self, lane: Lane, consumer: str) -> None:
        await self.client.hdel(self.keys.sending(lane), consumer)

    async def in_flight(self, lane: Lane) -> set[str]:
        """Ids journaled as being submitted by any dispatcher of the lane and not settled since."""
        journals: Reply = await self.client.hvals(self.keys.sending(lane))
        return {mid for ids in journals for mid in str(ids).split(",") if mid}

    def _index(self, batch: Batch, entries: Sequence[SentEntry]) -> None:
        ttl = str(PROVIDER_ID_TTL_S)
        for e in entries:
            value = index_value(e.message_id, e.arm, e.submitted_at, e.implied, e.provider_ids)
            for pid in e.provider_ids:  # one form indexed; a lookup tries every form of the receipt's id
                batch.add("SET", self.keys.provider_id(e.channel, canonical_id(pid)), value, "EX", ttl)
        if entries:
            # One deadline for the batch (its latest), not one per message: a sorted-set insert and
            # removal per message cost more Redis time than the whole record. When it comes, the
            # messages still `sent` are looked at (see `overdue`); the others need no removal.
            token = secrets.token_hex(8)
            batch.add("SET", self.keys.deadline_batch(token), ",".join(e.message_id for e in entries))
            batch.add("ZADD", self.keys.deadlines(), repr(max(e.deadline for e in entries)), token)

    async def lookup_sent(self, refs: Sequence[tuple[str, str]]) -> list[tuple[str, SentView | None] | None]:
        """Our message id for each ``(channel, provider_id)`` and what the index keeps of the message
        (see :func:`~engine.infra.records.read_index_value`), trying every form of the id in order.

        The canonical forms are looked up first, and the other forms only for the ids not found
        so: most receipts give the id as it was submitted, and every form costs a key.
        """
        key = self.keys.provider_id
        forms = [id_forms(pid) for _, pid in refs]
        out: list[tuple[str, SentView | None] | None] = [None] * len(refs)
        todo = [i for i, f in enumerate(forms) if f]
        canonical = await self._get_many([key(refs[i][0], forms[i][0]) for i in todo])
        others: list[int] = []  # ids not found under their canonical form, with other forms
        for i, hit in zip(todo, canonical, strict=True):
            if hit is not None:
                out[i] = read_index_value(hit)
            elif len(forms[i]) > 1:
                others.append(i)
        if others:
            found = iter(await self._get_many([key(refs[i][0], f) for i in others for f in forms[i][1:]]))
            for i in others:
                hits = [next(found) for _ in forms[i][1:]]
                out[i] = next((read_index_value(h) for h in hits if h is not None), None)
        return out

    async def _get_many(self, keys: Sequence[str]) -> list[Reply]:
        """MGET, packed by the batch runner (redis-py packs each key in Python)."""
        batch = Batch()
        for i in range(0, len(keys), MAX_ARGS):
            batch.add("MGET", *keys[i : i + MAX_ARGS])
        replies = await self.batches.read(batch)
        return [value for reply in replies for value in reply]

    async def fetch_for_receipts(
        self,
        ids: Sequence[str],
        *,
        status: MessageStatus | None = None,
        fields: Sequence[str] = RECEIPT_FIELDS,
    ) -> list[Record | None]:
        """As :meth:`fetch`, but only what correlating receipts reads of each record: ``fields``,
        by default :data:`~engine.infra.records.RECEIPT_FIELDS` (the accepted message is not read
        nor decoded); :data:`~engine.infra.records.STATE_FIELDS` where the index told the rest."""
        batch = Batch()
        for mid in ids:
            key = self.keys.message(mid)
            if status is None:
                batch.add("HMGET", key, *fields)
            else:
                batch.add_if_equal(key, "status", status.value, "HMGET", key, *fields)
        rows = await self.batches.read(batch)
        return [read_fields(mid, fields, row) if row else None for mid, row in zip(ids, rows, strict=True)]

    async def overdue(self, now: float, limit: int = 20) -> Overdue:
        """Batches of sent messages past their receipt deadline (at most ``limit``)."""
        raw: Reply = await self.client.zrangebyscore(self.keys.deadlines(), "-inf", now, start=0, num=limit)
        tokens = [str(t) for t in raw]
        if not tokens:
            return Overdue([], [])
        lists: list[Reply] = await self.client.mget([self.keys.deadline_batch(t) for t in tokens])
        return Overdue(tokens, [mid for ids in lists if ids for mid in str(ids).split(",")])

    async def settle(self, overdue: Overdue) -> None:
        """Those batches are dealt with."""
        batch = Batch()
        batch.add("ZREM", self.keys.deadlines(), *overdue.tokens)
        batch.add("DEL", *(self.keys.deadline_batch(t) for t in overdue.tokens))
        await self.batches.run(batch)

    async def release_due(self, now: float, limit: int = 1000) -> int:
        """Move scheduled messages whose ``send_at`` has come into their lanes; how many moved.

        Each move is conditional on the message still being ``scheduled`` inside the script, so a
        cancel racing with the release either wins or finds the message queued, never both.
        """
        due: Reply = await self.client.zrangebyscore(self.keys.scheduled(), "-inf", now, start=0, num=limit)
        if not due:
            return 0
        batch = Batch()
        scheduled = MessageStatus.SCHEDULED.value
        for mid, record in zip(due, await self.fetch(due), strict=True):
            if record is not None and record.get("status") == scheduled:
                key = self.keys.message(mid)
                lane = Lane.parse(record["lane"])
                event = _event(MessageStatus.QUEUED, now, "send_at reached")
                batch.add_if_equal(key, "status", scheduled, "RPUSH", self.keys.history(mid), event)
                batch.add_if_equal(key, "status", scheduled, "XADD", self.keys.lane(lane), "*", "id", mid)
                batch.add_if_equal(
                    key, "status", scheduled, "HSET", key, "status", "queued", "status_at", repr(now)
                )
            batch.add("ZREM", self.keys.scheduled(), mid)
        replies = await self.batches.run(batch, replies=True)
        return sum(
            1 for cmd, reply in zip(batch.commands, replies, strict=True) if cmd[4:5] == ("XADD",) and reply
        )

    async def cancel(self, message_id: str, now: float) -> bool:
        """Cancel a message that is still ``scheduled``; False if it is past that."""
        key, scheduled = self.keys.message(message_id), MessageStatus.SCHEDULED.value
        batch = Batch()
        event = _event(MessageStatus.CANCELED, now)
        batch.add_if_equal(key, "status", scheduled, "RPUSH", self.keys.history(message_id), event)
        batch.add_if_equal(key, "status", scheduled, "HINCRBY", self.keys.counters(), "final:canceled", "1")
        batch.add_if_equal(
            key, "status", scheduled, "HSET", key, "status", "canceled", "status_at", repr(now)
        )
        batch.add("ZREM", self.keys.scheduled(), message_id)
        replies = await self.batches.run(batch, replies=True)
        if not replies[2]:
            return False
        notify = Batch()
        self._notify(notify, message_id, MessageStatus.CANCELED, now)
        await self.batches.run(notify)
        return True

    def _notify(
        self, batch: Batch, message_id: str, status: MessageStatus, at: float, *, known: bool = False
    ) -> None:
        """A callback event, for messages that asked for status callbacks (checked unless ``known``)."""
        if known:
            batch.add(*self._callback_event(message_id, status, at))
        else:
            batch.add_if(
                self.keys.message(message_id), "callback", *self._callback_event(message_id, status, at)
            )

    def _callback_event(self, message_id: str, status: MessageStatus, at: float) -> tuple[str, ...]:
        return (
            "XADD", self.keys.callback_events(), "*", "id", message_id, "status", status.value, "at", repr(at)
        )  # fmt: skip

    async def counters(self) -> dict[str, int]:
        """Engine-wide counters; ``accepted`` is the sum of the per-lane ``accepted:<lane>``."""
        raw: Reply = await self.client.hgetall(self.keys.counters())
        counters = {str(k): int(v) for k, v in raw.items()}
        counters["accepted"] = sum(v for k, v in counters.items() if k.startswith("accepted:"))
        return counters


class LaneStreams:
    """One stream per lane with a consumer group; entries carry message ids."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.batches = Runner(client)

    async def ensure_groups(self) -> None:
        for lane in Lane:
            try:
                await self.client.xgroup_create(self.keys.lane(lane), DISPATCH_GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    @staticmethod
    def _entries(raw: Reply) -> list[tuple[str, str]]:
        return [(str(eid), str(fields["id"])) for eid, fields in raw if fields]

    async def read_carried(
        self, lane: Lane, consumer: str, count: int, block_ms: int | None
    ) -> tuple[list[tuple[str, str]], list[Record | None]]:
        """New entries for this consumer, and the record each carries (None if it carries none)."""
        block = () if block_ms is None else ("BLOCK", str(block_ms))
        reply: Reply = await self.batches.call(
            "XREADGROUP", "GROUP", DISPATCH_GROUP, consumer, "COUNT", str(count), *block,
            "STREAMS", self.keys.lane(lane), ">",
        )  # fmt: skip
        if not reply:
            return [], []
        # One stream asked for: a map of one over RESP3, a list of one [name, entries] over RESP2.
        raw = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        entries = [(eid, dict(zip(flat[::2], flat[1::2], strict=True))) for eid, flat in raw if flat]
        return [(eid, fields["id"]) for eid, fields in entries], [carried_record(f) for _, f in entries]

    async def own_pending(self, lane: Lane, consumer: str, count: int) -> list[tuple[str, str]]:
        """Entries delivered to this consumer before and never acknowledged (after a restart)."""
        reply: Reply = await self.client.xreadgroup(
            DISPATCH_GROUP, consumer, {self.keys.lane(lane): "0"}, count=count
        )
        return self._entries(reply[0][1]) if reply else []

    async def claim(self, lane: Lane, consumer: str, min_idle_ms: int, count: int) -> list[tuple[str, str]]:
        """Take over entries another (dead) consumer left unacknowledged for ``min_idle_ms``."""
        reply: Reply = await self.client.xautoclaim(
            self.keys.lane(lane), DISPATCH_GROUP, consumer, min_idle_ms, start_id="0-0", count=count
        )
        return self._entries(reply[1])

    async def ack(self, lane: Lane, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self.batches.call("XACK", self.keys.lane(lane), DISPATCH_GROUP, *entry_ids)

    async def requeue(self, lane: Lane, entries: Sequence[tuple[str, str]]) -> None:
        """Put ``(entry_id, message_id)`` back at the tail of the lane as new entries.

        The new entries and the acknowledgement of the old ones are one transaction: a message is
        never in the lane twice (it could be sent twice) nor dropped from it.
        """
        if not entries:
            return
        key = self.keys.lane(lane)
        pipe = self.client.pipeline(transaction=True)
        for _, message_id in entries:
            pipe.xadd(key, {"id": message_id})
        pipe.xack(key, DISPATCH_GROUP, *[entry for entry, _ in entries])
        await pipe.execute()

    async def depth(self, lane: Lane) -> int:
        return int(await self.client.xlen(self.keys.lane(lane)))

    async def trim(self, lane: Lane) -> int:
        """Drop the entries every dispatcher is done with; how many went.

        Acknowledged entries stay in a stream until deleted: without this a lane holds every
        message ever sent (memory, and longer AOF rewrites). Kept: entries still pending (a
        dispatcher may die and leave them to a peer) and those not yet delivered to any.
        """
        key = self.keys.lane(lane)
        groups: Reply = await self.client.xinfo_groups(key)
        last = next((g["last-delivered-id"] for g in groups if g["name"] == DISPATCH_GROUP), None)
        if last is None or last == "0-0":
            return 0
        pending: Reply = await self.client.xpending(key, DISPATCH_GROUP)
        floor = pending["min"] if pending["pending"] else last  # MINID keeps ids >= floor
        return int(await self.client.xtrim(key, minid=floor, approximate=False))


@dataclass(frozen=True, slots=True)
class Conversion:
    """The sender says the message was used (an OTP typed in): proof that it was delivered."""

    message_id: str
    at: float


class Inbound:
    """Receipts from HTTP aggregators' webhooks and conversions, from the API to the receipt actor.

    The API only appends (fast, durable, idempotent downstream); the receipt actor reads through a
    consumer group and acknowledges after processing, so nothing is lost if it restarts midway.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.batches = Runner(client)

    async def push(self, items: Sequence[Receipt | Conversion]) -> None:
        batch = Batch()
        for item in items:
            if isinstance(item, Conversion):
                fields = ["kind", "conversion", "id", item.message_id, "at", repr(item.at)]
            else:
                fields = [
                    "kind", "receipt", "channel", item.channel, "provider_id", item.provider_id,
                    "status", item.status.value, "at", repr(item.at), "error_code", item.error_code or "",
                    "raw", item.raw[:1000], "message_ref", item.message_ref,
                ]  # fmt: skip
            batch.add("XADD", self.keys.inbound(), "*", *fields)
        await self.batches.run(batch)

    async def read(self, consumer: str, count: int = 1000) -> tuple[list[str], list[Receipt | Conversion]]:
        """Entries not yet processed (this consumer's unacknowledged ones first, after a restart)."""
        await self._ensure_group()
        entries: list[tuple[str, dict[str, str]]] = []
        for start in ("0", ">"):
            reply: Reply = await self.client.xreadgroup(
                INBOUND_GROUP, consumer, {self.keys.inbound(): start}, count=count
            )
            entries += [(str(eid), fields) for eid, fields in (reply[0][1] if reply else []) if fields]
            if entries:
                break
        return [eid for eid, _ in entries], [_inbound(fields) for _, fields in entries]

    async def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            pipe = self.client.pipeline(transaction=False)
            pipe.xack(self.keys.inbound(), INBOUND_GROUP, *entry_ids)
            pipe.xdel(self.keys.inbound(), *entry_ids)
            await pipe.execute()

    async def _ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.keys.inbound(), INBOUND_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _inbound(fields: Mapping[str, str]) -> Receipt | Conversion:
    if fields.get("kind") == "conversion":
        return Conversion(fields["id"], float(fields["at"]))
    return Receipt(
        fields["channel"], fields["provider_id"], ReceiptStatus(fields["status"]), float(fields["at"]),
        fields.get("error_code") or None, fields.get("raw", ""), fields.get("message_ref", ""),
    )  # fmt: skip
