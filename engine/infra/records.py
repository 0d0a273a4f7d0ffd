"""How a message is laid out in its Redis hash, and how a hash is read back as a flat record.

What never changes after acceptance (number, sender, body, lane, times, tenant...) is one JSON field,
``m``; what the dispatcher decides and learns from the submit (channel, price, decision, provider
ids...) is another, ``r``, always rewritten whole; the status and what receipts add are fields of
their own, so a status change rewrites a few small fields and never the body. One field instead of
a dozen halves what Redis spends accepting a message (measured: 14.5 → 8 µs of redis-server CPU per
message with the tenant index batched too), since a script pays per argument to parse, store and
append to the AOF.
``callback`` stays a field of its own: scripts check it (``IFHAS``) to emit callback events.

Readers never see the layout: :func:`read_record` gives the flat ``dict[str, str]`` every module
works with.

History entries the record already tells are implied rather than written to the history list:
every message's first two (``accepted`` and ``queued`` or ``scheduled``, both at ``created_at``),
and on the usual path, a message sent on its first try (see :data:`IMPLIED_SENDING_AT`), its ``sending``,
``sent`` and ``delivered`` entries. Each entry written costs Redis a list (a key per
message) and a command; the usual path now writes none (see :func:`full_history`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from engine.domain.enums import MessageStatus
from engine.domain.messages import NewMessage

Record = dict[str, str]
IMMUTABLE = "m"
ROUTE = "r"  # the dispatcher's decision and the submit's outcome, always written whole and together
PACKED = (IMMUTABLE, ROUTE)

# The text of a time (or a duration) as records keep it: its repr, exact. Cached, because a batch's
# records share a handful of them (a channel answers a whole submit at one time, an arrival stamps
# all its receipts alike, every message has the same validity) and a float's repr costs 0.4 µs,
# the cache's answer 0.07. ``typed``: 1 and 1.0 are one key otherwise. Not for -0.0, which the
# cache takes for 0.0.
time_text = functools.lru_cache(maxsize=1024, typed=True)(repr)


def first_status(m: NewMessage) -> MessageStatus:
    return MessageStatus.QUEUED if m.send_at is None else MessageStatus.SCHEDULED


def stored_fields(m: NewMessage) -> list[str]:
    """The new message's hash as a flat ``[field, value, ...]`` list for HSET."""
    immutable = {
        "id": m.id, "tenant": m.tenant, "to": m.to, "from": m.sender, "body": m.body,
        "lane": m.lane.label, "validity_s": time_text(m.validity_s), "created_at": time_text(m.created_at),
    }  # fmt: skip
    # Optional fields are absent rather than empty.
    if m.client_ref:
        immutable["client_ref"] = m.client_ref
    if m.metadata:
        immutable["metadata"] = m.metadata
    if m.send_at is not None:
        immutable["send_at"] = repr(m.send_at)
    if m.max_price is not None:
        immutable["max_price"] = repr(m.max_price)
    fields = [IMMUTABLE, orjson.dumps(immutable).decode(), "status", first_status(m).value]
    if m.callback:
        fields += ["callback", m.callback]
    return fields


def lane_entry(m: NewMessage, stored: Sequence[str]) -> list[str]:
    """A lane entry's fields: the id and, so the dispatcher need not read the record back, the
    message as accepted (``stored`` is its :func:`stored_fields`)."""
    return ["id", m.id, *stored]


def carried_record(fields: Mapping[str, str]) -> Record | None:
    """The record a fresh lane entry carries (still ``queued``: nothing else has touched it), or
    None for an entry that only names its message (a release from the schedule, a requeue)."""
    if IMMUTABLE not in fields:
        return None
    return read_record(fields)  # its "id" is the message's, as in the immutable part


def packed_route(fields: Mapping[str, str]) -> dict[str, str]:
    """The routing fields of a message (channel, arm, price, decision, provider ids...) as the one
    field they are stored in: a dozen fields cost a script a dozen pairs of arguments to parse,
    store and append to the AOF. Always the whole set: a write replaces what the last one packed."""
    return {ROUTE: orjson.dumps(fields).decode()}


def read_record(raw: Sequence[str] | Mapping[str, str]) -> Record | None:
    """A hash as HGETALL answers it (a map over RESP3; ``[field, value, ...]`` inside a script or
    over RESP2) as one flat record."""
    if not raw:
        return None
    fields = dict(raw) if isinstance(raw, Mapping) else dict(zip(raw[::2], raw[1::2], strict=True))
    record: Record = {}
    for name in PACKED:
        packed = fields.pop(name, None)
        if packed is not None:
            record.update(orjson.loads(packed))
    record.update(fields)
    return record


# What correlating receipts reads of a record (see :func:`read_fields`): the packed routing outcome,
# the status, what receipts added, and whether the sender wants callbacks. Never the accepted
# message, whose body is most of a record.
RECEIPT_FIELDS = (ROUTE, "status", "part_status", "part_errors", "callback")


# What a receipt reads of its message once the provider-id index has given the rest (see
# :class:`SentView`): its status, what receipts added, whether the sender wants callbacks.
STATE_FIELDS = ("status", "part_status", "part_errors", "callback")


class SentView(NamedTuple):
    """What the provider-id index keeps of a sent message, besides its id, for correlating its
    receipts: the value under each of its provider ids is ``"<message id> <arm> <submitted_at>
    <implied 1|0> <provider ids, comma-joined>"``.

    With it a receipt reads only the message's :data:`STATE_FIELDS`, not its routing outcome: that
    was the larger part of the receipt path's Python (a JSON decode and a dict per receipt). A
    NamedTuple, not a dataclass: one is made per receipt.
    """

    arm: int
    submitted_at: float
    implied: bool  # its history is implied up to `sent` (see IMPLIED_SENDING_AT)
    provider_ids: tuple[str, ...]


def index_value(
    message_id: str, arm: int, submitted_at: float, implied: bool, provider_ids: Sequence[str]
) -> str:
    """The provider-id index's value for a sent message (see :class:`SentView`).

    >>> index_value("m1", 2, 10.5, True, ["a b", "c"])
    'm1 2 10.5 1 a b,c'
    """
    return f"{message_id} {arm} {time_text(submitted_at)} {int(implied)} {','.join(provider_ids)}"


def read_index_value(value: str) -> tuple[str, SentView | None]:
    """The message id an index value names, and its :class:`SentView`; None for an entry written
    before the index kept one (the message id alone): such a message is read whole.

    >>> read_index_value("m1 2 10.5 1 a b,c")
    ('m1', SentView(arm=2, submitted_at=10.5, implied=True, provider_ids=('a b', 'c')))
    >>> read_index_value("m1")
    ('m1', None)
    """
    if " " not in value:
        return value, None
    mid, arm, submitted_at, implied, pids = value.split(" ", 4)  # provider ids last: they may hold spaces
    return mid, SentView(int(arm), float(submitted_at), implied == "1", tuple(pids.split(",")))


def read_fields(message_id: str, names: Sequence[str], values: Sequence[str | None]) -> Record | None:
    """Some fields of a message's hash (HMGET's answer for ``names``) as one flat record with its
    ``id``, as :func:`read_record` reads the whole hash; None if it has none of them.

    >>> read_fields("m1", ("r", "status", "callback"), ['{"arm":"1","channel":"c"}', "sent", None])
    {'arm': '1', 'channel': 'c', 'status': 'sent', 'id': 'm1'}
    """
    record: Record = {}
    plain: Record = {}
    for name, value in zip(names, values, strict=True):
        if value is not None:
            if name in PACKED:
                record.update(orjson.loads(value))
            else:
                plain[name] = value
    if not record and not plain:
        return None
    record.update(plain)
    record["id"] = message_id
    return record


# Set in the routing field of a message sent on its first try, never routed before and never
# scheduled, to when it was decided: its history list was empty then, so its `sending` entry (at
# this time) and `sent` entry (at ``submitted_at``) are implied, and so is a `delivered` that follows
# them directly (at ``status_at``). Anything else after `sent` (another receipt status, a timeout, a
# late correction, a conversion) is written to the list as before. No other path sets it.
IMPLIED_SENDING_AT = "sending_at"


def history_implied(record: Record) -> bool:
    """Whether ``record``'s history up to `sent` is implied (see :data:`IMPLIED_SENDING_AT`)."""
    return IMPLIED_SENDING_AT in record


def quietly_sent(record: Record) -> bool:
    """Whether ``record`` may take the implied path when it is sent now (see :data:`IMPLIED_SENDING_AT`)."""
    return "attempts" not in record and "send_at" not in record


def full_history(record: Record, logged: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's whole history, oldest first: the implied entries around ``logged``, the entries
    written to its list."""
    at = float(record["created_at"])
    first = MessageStatus.SCHEDULED if record.get("send_at") else MessageStatus.QUEUED
    entries: list[dict[str, Any]] = [
        {"status": MessageStatus.ACCEPTED.value, "at": at},
        {"status": first.value, "at": at},
    ]
    if not history_implied(record):
        return entries + list(logged)
    sending_at, sent_at = float(record[IMPLIED_SENDING_AT]), float(record["submitted_at"])
    entries += [
        {"status": MessageStatus.SENDING.value, "at": sending_at, "note": f"via {record['channel']}"},
        {"status": MessageStatus.SENT.value, "at": sent_at},
        *logged,
    ]
    if not logged and record["status"] == MessageStatus.DELIVERED.value:
        entries.append({"status": MessageStatus.DELIVERED.value, "at": float(record["status_at"])})
    return entries
