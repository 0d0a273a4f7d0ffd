"""The JSON a customer receives for one status change of one message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.domain.enums import MessageStatus
from engine.domain.messages import new_message_id

EVENT_TYPE = "message.status"


def new_event_id(now: float, entropy: bytes) -> str:
    """Time-ordered, unique event id (``entropy`` from ``secrets``, never a seeded generator, so
    ids stay unique across restarts whatever the seeding).

    >>> new_event_id(1.5, bytes(6))
    'evt_0000000005dc000000000000'
    """
    return f"evt_{new_message_id(now, entropy)}"


@dataclass(frozen=True, slots=True)
class EventError:
    code: str
    raw: str


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One status change; ``sequence`` counts the message's events from 1, so a customer can order
    events that arrive out of order (retries overtake each other)."""

    id: str
    message_id: str
    status: str
    at: float
    sequence: int
    to: str
    client_ref: str | None = None
    channel: str | None = None
    price: float | None = None
    error: EventError | None = None
    metadata: Any = None  # the customer's own JSON, echoed back

    @classmethod
    def from_record(
        cls, record: Mapping[str, str], *, event_id: str, status: str, at: float, sequence: int
    ) -> StatusEvent:
        """The event for ``status`` from the message record as it is when the event is processed.

        The record may already be further along than this event (it is read later), so the error
        goes only with the failure statuses it can explain, never with e.g. a ``sending`` event.
        """
        error = None
        if _explains_error(status) and (record.get("error_code") or record.get("raw_error")):
            error = EventError(record.get("error_code", ""), record.get("raw_error", ""))
        return cls(
            id=event_id, message_id=record["id"], status=status, at=at, sequence=sequence,
            to=record.get("to", ""), client_ref=record.get("client_ref") or None,
            channel=record.get("channel") or None, price=_price(record.get("price")), error=error,
            metadata=_metadata(record.get("metadata")),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "type": EVENT_TYPE, "message_id": self.message_id, "status": self.status,
            "at": self.at, "sequence": self.sequence, "client_ref": self.client_ref, "to": self.to,
            "channel": self.channel, "price": self.price,
        }  # fmt: skip
        if self.error is not None:
            out["error"] = {"code": self.error.code, "raw": self.error.raw}
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out

    def to_json(self) -> str:
        """The raw body, compact; signed as is, so it is built once and stored with the delivery."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


_ERROR_STATUSES = frozenset(
    {MessageStatus.UNDELIVERED, MessageStatus.EXPIRED, MessageStatus.UNKNOWN, MessageStatus.FAILED,
     MessageStatus.REJECTED}
)  # fmt: skip


def _explains_error(status: str) -> bool:
    return status in _ERROR_STATUSES


def _price(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _metadata(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:  # stored by the API as JSON; should it not be, the text is still the customer's
        return text
