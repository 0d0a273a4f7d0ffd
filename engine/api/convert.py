"""Between the wire and the domain: a request becomes a NewMessage, a stored record a MessagePublic."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from engine.api.problems import InvalidParam, Problem
from engine.api.schemas import ErrorPublic, HistoryEntry, MessageCreate, MessagePublic, RoutingPublic
from engine.destinations.resolver import DestinationResolver
from engine.domain.enums import ErrorClass, Lane
from engine.domain.messages import NewMessage, new_message_id
from engine.errors import InvalidNumberError
from engine.text.segments import part_count, split

SENDER = re.compile(r"^(\+?[0-9]{3,15}|[A-Za-z0-9 ._&-]{1,11})$")  # a number, or an 11-character ID
MAX_SCHEDULE_S = 30 * 86_400
ID_ENTROPY = 6  # random bytes per message id
DEFAULT_VALIDITY_S = {Lane.OTP: 600.0, Lane.TRANSACTIONAL: 86_400.0, Lane.MARKETING: 86_400.0}
# Error codes the platform itself sets, and whose fault they are; anything else came from a channel.
OWN_ERRORS = {
    "invalid_number": (ErrorClass.POLICY, True), "validity_expired": (ErrorClass.PLATFORM, True),
    "no_route": (ErrorClass.PLATFORM, False), "circuit_open": (ErrorClass.PLATFORM, False),
}  # fmt: skip


def to_new_message(
    item: MessageCreate, *, tenant: str, now: float, resolver: DestinationResolver, max_parts: int,
    prefix: str = "", idempotency: tuple[str, str] | None = None, entropy: bytes | None = None,
) -> NewMessage:  # fmt: skip
    """Validate what the schema cannot (the number, the length in parts, the schedule).

    ``entropy``: 6 random bytes for the id (a batch draws them all at once: a getrandom call per
    message was a fifth of a batch's CPU).
    """
    problems: list[InvalidParam] = []
    try:
        resolver.resolve(item.to)
    except InvalidNumberError as exc:
        problems.append(InvalidParam(f"{prefix}to", exc.reason))
    if not SENDER.match(item.from_):
        reason = "a number or an alphanumeric sender ID of 1-11 characters"
        problems.append(InvalidParam(f"{prefix}from", reason))
    parts = part_count(item.body)
    if parts > max_parts:
        problems.append(InvalidParam(f"{prefix}body", f"{parts} parts; at most {max_parts} are sent"))
    send_at = item.send_at.timestamp() if item.send_at is not None else None
    if send_at is not None and send_at > now + MAX_SCHEDULE_S:
        problems.append(InvalidParam(f"{prefix}send_at", "at most 30 days ahead"))
    if problems:
        raise Problem(422, "invalid_request", "; ".join(f"{p.name}: {p.reason}" for p in problems), problems)
    lane = Lane.parse(item.traffic_type)
    return NewMessage(
        id=new_message_id(now, entropy or secrets.token_bytes(ID_ENTROPY)), tenant=tenant, to=item.to,
        sender=item.from_, body=item.body, lane=lane, created_at=now, client_ref=item.client_ref or "",
        validity_s=float(item.validity_s or DEFAULT_VALIDITY_S[lane]), callback=item.status_callback or "",
        metadata=json.dumps(item.metadata) if item.metadata else "",
        send_at=send_at if send_at is not None and send_at > now else None,  # past: send now
        max_price=item.max_price, idempotency=idempotency,
    )  # fmt: skip


def _float(value: str | None) -> float | None:
    return float(value) if value else None


def _error(record: dict[str, str]) -> ErrorPublic | None:
    code = record.get("error_code")
    if not code:
        return None
    error_class, permanent = OWN_ERRORS.get(code, (ErrorClass.OPERATOR, False))
    return ErrorPublic(
        code=code, error_class=error_class.value, permanent=permanent, retryable=not permanent,
        channel_code=record.get("raw_error") or None,
    )  # fmt: skip


def _routing(record: dict[str, str]) -> RoutingPublic | None:
    raw = record.get("decision")
    if not raw:
        return None
    decision: dict[str, Any] = json.loads(raw)
    return RoutingPublic(
        channel=decision.get("channel"), score=decision.get("score"), explored=decision.get("explored"),
        propensity=decision.get("propensity"), attempt=decision.get("attempt"),
        alternatives=list(decision.get("alternatives") or []),
    )  # fmt: skip


def to_public(record: dict[str, str], history: Sequence[dict[str, object]] = ()) -> MessagePublic:
    segmentation = split(record.get("body", ""))
    return MessagePublic(
        id=record["id"], status=record["status"], to=record["to"], from_=record["from"],
        traffic_type=record["lane"], client_ref=record.get("client_ref") or None,
        metadata=json.loads(record["metadata"]) if record.get("metadata") else None,
        created_at=float(record["created_at"]), send_at=_float(record.get("send_at")),
        validity_s=float(record["validity_s"]), segments=segmentation.count,
        encoding=segmentation.encoding.value, price=_float(record.get("price")), error=_error(record),
        routing=_routing(record), history=[HistoryEntry.model_validate(h) for h in history],
    )  # fmt: skip


def from_new(message: NewMessage) -> dict[str, str]:
    """The record a just-accepted message has (to answer 202 without reading it back)."""
    return {
        "id": message.id, "status": "queued" if message.send_at is None else "scheduled", "to": message.to,
        "from": message.sender, "lane": message.lane.label, "client_ref": message.client_ref,
        "metadata": message.metadata, "created_at": repr(message.created_at),
        "send_at": "" if message.send_at is None else repr(message.send_at),
        "validity_s": repr(message.validity_s), "body": message.body,
    }  # fmt: skip
