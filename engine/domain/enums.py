"""Enumerations shared by every layer."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Lane(IntEnum):
    """Traffic class. Each lane is its own queue; OTP is worth most and must be fastest.

    Integer-valued so batches carry lanes as compact numpy arrays.
    """

    OTP = 0
    TRANSACTIONAL = 1
    MARKETING = 2

    @classmethod
    def parse(cls, name: str) -> Lane:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            known = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown traffic type {name!r}; expected one of {known}") from None

    @property
    def label(self) -> str:
        return _LANE_LABELS[self]  # a lookup: this is on every message's path, several times


_LANE_LABELS = {lane: lane.name.lower() for lane in Lane}


class MessageStatus(StrEnum):
    """Message lifecycle: accepted -> queued -> sending -> sent -> a final status."""

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no DLR within the timeout; a late DLR still corrects it
    FAILED = "failed"  # channel refused the submit after failover was exhausted
    REJECTED = "rejected"  # policy: opt-out, country, fraud, spend limit
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.UNKNOWN,
        MessageStatus.FAILED,
        MessageStatus.REJECTED,
        MessageStatus.CANCELED,
    }
)


class Outcome(IntEnum):
    """What a delivery report says about one submitted message (compact for batches)."""

    DELIVERED = 1
    UNDELIVERED = 0


class Encoding(StrEnum):
    """SMS character encodings: GSM 03.38 septets or UCS-2 (UTF-16)."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


class ErrorClass(StrEnum):
    """Where a delivery error comes from."""

    HANDSET = "handset"
    OPERATOR = "operator"
    NETWORK = "network"
    PLATFORM = "platform"
    POLICY = "policy"
