"""The receipt parser: the forms SMSCs really send, and never an exception."""

from __future__ import annotations

import doctest
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import adapters.smpp.receipts
from adapters.smpp.receipts import STATS, parse_date, parse_receipt
from engine.domain.messages import ReceiptStatus

STANDARD = (
    b"id:1234567890 sub:001 dlvrd:001 submit date:2501021504 done date:2501021506 stat:DELIVRD err:000 "
    b"text:Your code is 1234"
)


def test_the_standard_text_form() -> None:
    r = parse_receipt(STANDARD)
    assert r is not None
    assert (r.message_id, r.status, r.error_code) == ("1234567890", ReceiptStatus.DELIVERED, None)
    assert (r.submitted_at, r.done_at) == (datetime(2025, 1, 2, 15, 4), datetime(2025, 1, 2, 15, 6))
    assert r.fields["text"] == "Your code is 1234"
    assert r.fields["sub"] == "001"


@pytest.mark.parametrize(
    ("stat", "status"),
    [("DELIVRD", ReceiptStatus.DELIVERED), ("UNDELIV", ReceiptStatus.UNDELIVERED),
     ("EXPIRED", ReceiptStatus.EXPIRED), ("REJECTD", ReceiptStatus.REJECTED),
     ("DELETED", ReceiptStatus.DELETED), ("UNKNOWN", ReceiptStatus.UNKNOWN),
     ("ACCEPTD", ReceiptStatus.ENROUTE), ("ENROUTE", ReceiptStatus.ENROUTE),
     ("delivrd", ReceiptStatus.DELIVERED), ("Undeliv", ReceiptStatus.UNDELIVERED)],
)  # fmt: skip
def test_every_stat_value_maps_in_any_case(stat: str, status: ReceiptStatus) -> None:
    r = parse_receipt(f"id:9 stat:{stat} err:045".encode())
    assert r is not None
    assert r.status is status
    assert r.error_code == (None if status is ReceiptStatus.DELIVERED else "045")


def test_any_case_field_names_missing_fields_and_underscored_dates() -> None:
    r = parse_receipt(b"ID:ab12 SUBMIT_DATE:250102150405 Stat:UNDELIV")
    assert r is not None
    assert (r.message_id, r.status, r.error_code) == ("ab12", ReceiptStatus.UNDELIVERED, None)
    assert r.submitted_at == datetime(2025, 1, 2, 15, 4, 5)
    assert r.done_at is None


def test_dates_are_read_by_their_length() -> None:
    assert parse_date("2501021504") == datetime(2025, 1, 2, 15, 4)
    assert parse_date("250102150459") == datetime(2025, 1, 2, 15, 4, 59)
    for bad in (
        "25010215",
        "25010215045",
        "2501021504599",
        "25013215xx",
        "2513021504",
        "",
        "\uff12\uff1501021504",
    ):
        assert parse_date(bad) is None


def test_ids_are_passed_through_as_given_hex_or_decimal() -> None:
    assert [
        r.message_id if r else None
        for r in (parse_receipt(f"id:{i} stat:DELIVRD".encode()) for i in ("0A1B2C", "000123", "7f3e", "12"))
    ] == ["0A1B2C", "000123", "7f3e", "12"]


def test_tlvs_win_over_the_text() -> None:
    tlvs = {0x001E: b"FF00\x00", 0x0427: bytes([8])}
    r = parse_receipt(b"id:123 stat:DELIVRD err:000", tlvs)
    assert r is not None
    assert (r.message_id, r.status) == ("FF00", ReceiptStatus.REJECTED)
    only_tlvs = parse_receipt(b"", {0x001E: b"abc\x00", 0x0427: bytes([2])})
    assert only_tlvs is not None
    assert (only_tlvs.message_id, only_tlvs.status) == (
        "abc",
        ReceiptStatus.DELIVERED,
    )


def test_network_error_code_tlv_fills_a_missing_err() -> None:
    r = parse_receipt(b"", {0x001E: b"1\x00", 0x0427: bytes([5]), 0x0423: bytes([3, 0x00, 0x22])})
    assert r is not None
    assert r.error_code == "3:34"


def test_text_after_text_colon_is_not_taken_for_fields() -> None:
    r = parse_receipt(b"id:5 stat:DELIVRD text:stat:UNDELIV id:6")
    assert r is not None
    assert (r.message_id, r.status) == ("5", ReceiptStatus.DELIVERED)


def test_ucs2_receipts_are_read() -> None:
    r = parse_receipt("id:77 stat:EXPIRED".encode("utf-16-be"), data_coding=0x08)
    assert r is not None
    assert (r.message_id, r.status) == ("77", ReceiptStatus.EXPIRED)


@pytest.mark.parametrize(
    "text",
    [b"", b"hello", b"stat:DELIVRD", b"id: stat:DELIVRD", b"id:5", b"id:5 stat:MAYBE", b"id:5 stat:",
     b"\xff\xfe\x00\x01", b"id:\x00 stat:DELIVRD"],
)  # fmt: skip
def test_receipts_without_an_id_or_a_known_status_are_unparseable(text: bytes) -> None:
    assert parse_receipt(text) is None


def test_every_known_stat_word_is_covered() -> None:
    assert {s for s in STATS if len(s) == 7} >= {
        "DELIVRD",
        "UNDELIV",
        "EXPIRED",
        "REJECTD",
        "DELETED",
        "UNKNOWN",
        "ACCEPTD",
        "ENROUTE",
    }


@given(
    st.binary(max_size=400),
    st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=20), max_size=4),
    st.integers(0, 255),
)
def test_the_parser_never_raises_on_bytes(data: bytes, tlvs: dict[int, bytes], dcs: int) -> None:
    parse_receipt(data, tlvs, dcs)


@given(st.text(max_size=300))
def test_the_parser_never_raises_on_text_and_keeps_ids_as_given(text: str) -> None:
    r = parse_receipt(("id:x1 stat:DELIVRD text:" + text).encode("utf-8", errors="replace"))
    assert r is not None
    assert r.message_id == "x1"
    parse_receipt(text.encode("utf-8", errors="replace"))


def test_docstring_examples_run() -> None:
    result = doctest.testmod(adapters.smpp.receipts)
    assert result.attempted > 0
    assert result.failed == 0
