"""Value objects that cross Ray calls come back equal from pickling (they pickle by field values)."""

from __future__ import annotations

import pickle

import pytest

from engine.domain.enums import ErrorClass, Lane
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult
from engine.domain.types import Destination
from engine.routing.service import Choice

ERROR = ChannelError(
    "throttled", "0x58", ErrorClass.NETWORK, permanent=False, throttled=True, outcome_unknown=True
)
VALUES = [
    OutboundMessage("m1", "+2348031234567", "ACME", "héllo 👋", Lane.MARKETING, 3, 120.0),
    OutboundMessage("m2", "+447700900123", "ACME", "hi", Lane.OTP),
    ERROR,
    SubmitResult("m1", "abc,abd"),
    SubmitResult("m2", None, ERROR),
    Receipt("smsc", "1f", ReceiptStatus.UNDELIVERED, 12.5, "E1", "id:1f stat:UNDELIV", "m1"),
    Destination("NG", "621-20"),
    Destination("GB"),
    Choice("c1", 3, 0.012, 0.25, 0.9, True, "NG/621-20", (("c1", 0.012), ("c2", 0.01))),
    Choice(None, -1, 0.0, 1.0, 0.0, False, "NG/*", ()),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_value_objects_survive_pickling(value: object) -> None:
    back = pickle.loads(pickle.dumps(value, protocol=5))
    assert back == value
    assert type(back) is type(value)
