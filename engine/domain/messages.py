"""Messages, submit results and delivery receipts as they cross the channel boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.domain.enums import ErrorClass, Lane
from engine.domain.values import value_object


@value_object
@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a channel is asked to send. ``id`` is ours and never changes across failover."""

    id: str
    to: str  # E.164
    sender: str
    body: str
    lane: Lane
    parts: int = 1
    validity_s: float = 86_400.0


@value_object
@dataclass(frozen=True, slots=True)
class ChannelError:
    """Why a channel refused a submit, mapped at the adapter boundary.

    ``throttled`` means "slow down, try again" (SMPP 0x58 / 0x14, HTTP 429): the dispatcher backs off
    or fails over without counting it against the route's quality. ``outcome_unknown`` means the
    request left but its answer never came (a response timeout, a connection lost mid-submit): the
    message may have been sent, so it becomes ``unknown`` and is never resent blindly. ``raw`` is the
    channel's own code.
    """

    code: str
    raw: str
    error_class: ErrorClass = ErrorClass.OPERATOR
    permanent: bool = False
    throttled: bool = False
    outcome_unknown: bool = False


@value_object
@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The channel's answer to one submit: accepted with its own id, or an error."""

    message_id: str
    provider_id: str | None = None
    error: ChannelError | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


class ReceiptStatus(StrEnum):
    """Delivery report states (SMPP ``stat:`` values, normalised)."""

    DELIVERED = "delivered"  # DELIVRD
    UNDELIVERED = "undelivered"  # UNDELIV
    EXPIRED = "expired"  # EXPIRED
    REJECTED = "rejected"  # REJECTD
    DELETED = "deleted"  # DELETED
    UNKNOWN = "unknown"  # UNKNOWN
    ENROUTE = "enroute"  # ENROUTE / ACCEPTD: not final

    @property
    def is_final(self) -> bool:
        return self is not ReceiptStatus.ENROUTE


@value_object
@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery report from a channel, correlated later by ``(channel, provider_id)``."""

    channel: str
    provider_id: str
    status: ReceiptStatus
    at: float
    error_code: str | None = None
    raw: str = field(default="", repr=False)
    # Our own message id when the channel echoes it back (an HTTP aggregator's client reference):
    # the fallback key when ``provider_id`` is blank or unknown to the index.
    message_ref: str = ""


@value_object
@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message as accepted from a sender, before routing."""

    id: str
    tenant: str
    to: str
    sender: str
    body: str
    lane: Lane
    created_at: float
    client_ref: str = ""
    validity_s: float = 86_400.0
    callback: str = ""  # the customer's status_callback URL
    metadata: str = ""  # the customer's metadata, as JSON text
    send_at: float | None = None  # scheduled: enters its lane at this time
    max_price: float | None = None  # per message, all parts: routes above it are not used
    idempotency: tuple[str, str] | None = None  # (key, fingerprint of the request)

    def outbound(self, parts: int = 1) -> OutboundMessage:
        return OutboundMessage(self.id, self.to, self.sender, self.body, self.lane, parts, self.validity_s)


def new_message_id(now: float, entropy: bytes) -> str:
    """Time-ordered id: milliseconds in hex, then random hex (``entropy`` from ``secrets``).

    >>> new_message_id(1.5, bytes(6))
    '0000000005dc000000000000'
    """
    return f"{int(now * 1000):012x}{entropy.hex()}"
