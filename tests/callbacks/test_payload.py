"""The event a customer receives, and the delivery record around it."""

from __future__ import annotations

import doctest
import json
import re
from types import ModuleType

import pytest

from engine.callbacks import backoff, delivery, payload, settings, signing
from engine.callbacks.delivery import Delivery, Verdict, judge, url_problem
from engine.callbacks.payload import StatusEvent, new_event_id

RECORD = {
    "id": "m1", "tenant": "acme", "to": "+447700900123", "from": "ACME", "lane": "otp",
    "client_ref": "order-42", "callback": "https://example.com/h", "status": "undelivered",
    "channel": "agg-eu", "price": "0.0123", "parts": "1", "metadata": '{"order": 42}',
    "error_code": "E_ABSENT", "raw_error": "DELIV:001",
}  # fmt: skip


def _event(status: str = "undelivered", record: dict[str, str] = RECORD) -> dict[str, object]:
    return StatusEvent.from_record(record, event_id="evt_1", status=status, at=12.5, sequence=3).to_dict()


def test_event_carries_the_documented_fields() -> None:
    assert _event() == {
        "id": "evt_1", "type": "message.status", "message_id": "m1", "status": "undelivered", "at": 12.5,
        "sequence": 3, "client_ref": "order-42", "to": "+447700900123", "channel": "agg-eu",
        "price": 0.0123, "error": {"code": "E_ABSENT", "raw": "DELIV:001"}, "metadata": {"order": 42},
    }  # fmt: skip


def test_error_only_with_a_status_it_explains() -> None:
    assert "error" not in _event("sending")
    assert "error" not in _event("delivered")
    assert "error" in _event("failed")


def test_absent_fields_are_null_or_left_out() -> None:
    bare = {"id": "m1", "to": "+447700900123"}
    event = _event("sent", bare)
    assert (event["client_ref"], event["channel"], event["price"]) == (None, None, None)
    assert "metadata" not in event
    assert "error" not in _event("failed", bare)


def test_metadata_that_is_not_json_is_passed_as_text() -> None:
    assert _event(record={**RECORD, "metadata": "not json"})["metadata"] == "not json"


def test_body_is_compact_json() -> None:
    text = StatusEvent.from_record(RECORD, event_id="evt_1", status="sent", at=1.0, sequence=1).to_json()
    assert " " not in text.replace("+447700900123", "")
    assert json.loads(text)["sequence"] == 1


def test_event_ids_are_unique_and_time_ordered() -> None:
    a, b = new_event_id(1.0, b"\x00" * 8), new_event_id(2.0, b"\x00" * 8)
    assert re.fullmatch(r"evt_[0-9a-f]{28}", a)
    assert a < b
    assert new_event_id(1.0, b"\x01" * 8) != a


@pytest.mark.parametrize(
    ("code", "verdict"),
    [(200, Verdict.DELIVERED), (299, Verdict.DELIVERED), (410, Verdict.GONE), (404, Verdict.RETRY),
     (500, Verdict.RETRY), (302, Verdict.RETRY), (429, Verdict.RETRY)],
)  # fmt: skip
def test_http_answers(code: int, verdict: Verdict) -> None:
    assert judge(code) is verdict


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://example.com/h", True), ("http://10.0.0.1:8080/x?y=1", True), ("HTTPS://EXAMPLE.COM", True),
     ("ftp://example.com/h", False), ("file:///etc/passwd", False), ("javascript:alert(1)", False),
     ("https:///nohost", False), ("http://[::1", False), ("", False)],
)  # fmt: skip
def test_only_http_urls_with_a_host(url: str, ok: bool) -> None:
    assert (url_problem(url) == "") is ok


def test_delivery_round_trips_and_revives() -> None:
    d = Delivery("evt_1", "acme", "m1", 2, "https://example.com/h", '{"id":"evt_1"}', 10.0)
    failed = d.failed("HTTP 500").failed("HTTP 503")
    assert Delivery.from_json(failed.to_json()) == failed
    assert (failed.attempts, failed.last_error) == (2, "HTTP 503")
    dead = failed.dead(99.0, "gave up")
    revived = Delivery.from_json(dead.to_json()).revived(200.0)
    assert (revived.attempts, revived.first_at, revived.dead_at, revived.body) == (0, 200.0, None, d.body)
    assert dead.public()["event"] == {"id": "evt_1"}


def test_delivery_record_tolerates_fields_added_later() -> None:
    d = Delivery("evt_1", "acme", "m1", 1, "https://example.com/h", "{}", 0.0)
    assert Delivery.from_json(json.dumps({**json.loads(d.to_json()), "future": 1})) == d


@pytest.mark.parametrize("module", [backoff, delivery, payload, settings, signing])
def test_doctests(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0
