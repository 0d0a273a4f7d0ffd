"""DLR core: provider id forms, correlation, parking, timeouts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.dlr import (
    ParkedReceipts,
    SentRecord,
    StatusUpdate,
    canonical_id,
    correlate,
    expired,
    id_forms,
    message_status,
)
from engine.domain.enums import MessageStatus
from engine.domain.messages import Receipt, ReceiptStatus
from engine.policies.batches import FeedbackKind

D = ReceiptStatus.DELIVERED
U = ReceiptStatus.UNDELIVERED


def receipt(pid: str, status: ReceiptStatus = D, at: float = 20.0, error: str | None = None) -> Receipt:
    return Receipt("smsc", pid, status, at, error, raw=f"id:{pid} stat:{status.value}")


def sent(*pids: str, arm: int = 3, message_id: str = "m1") -> SentRecord:
    return SentRecord(message_id, "smsc", pids, arm=arm, submitted_at=10.0, parts=len(pids))


# ids


def test_id_forms_of_a_padded_hex_id() -> None:
    assert id_forms("0001A2") == ("1A2", "418")


def test_id_forms_of_a_decimal_id_include_its_hex_form() -> None:
    assert id_forms("418") == ("418", "1048", "1A2")


def test_id_forms_ignore_case_and_whitespace() -> None:
    assert id_forms(" 00ff\n") == id_forms("FF") == ("FF", "255")


def test_opaque_and_blank_ids() -> None:
    assert id_forms("AbC-123") == ("AbC-123",)
    assert id_forms("  ") == ()
    assert id_forms("000") == ("0",)
    assert canonical_id("00aB") == "AB"


@given(st.one_of(st.text(), st.text("0123456789abcdefABCDEF \t", max_size=80)))
def test_the_canonical_id_is_the_first_form(provider_id: str) -> None:
    assert canonical_id(provider_id) == (id_forms(provider_id) or ("",))[0]


def test_overlong_numeric_id_keeps_only_its_canonical_form() -> None:
    assert id_forms("0" + "1" * 80) == ("1" * 80,)


@given(st.integers(min_value=0, max_value=2**200))
def test_hex_and_decimal_spellings_of_a_number_meet(n: int) -> None:
    assert set(id_forms(format(n, "X"))) & set(id_forms(str(n)))
    assert set(id_forms(format(n, "x").zfill(12))) & set(id_forms(str(n)))


# correlation


def test_single_part_delivered_updates_record_and_feeds_the_router() -> None:
    c = correlate([receipt("1A")], [sent("1A")], now=25.0)
    assert c.updates == [StatusUpdate("m1", MessageStatus.DELIVERED, 20.0, None, "id:1A stat:delivered")]
    assert [r.status for r in c.records] == [MessageStatus.DELIVERED]
    assert c.records[0].part_status == (D,)
    fb = c.feedback
    assert fb.now == 25.0
    assert fb.kind.tolist() == [FeedbackKind.DELIVERED]
    assert fb.arm.tolist() == [3]
    assert fb.submitted_at.tolist() == [10.0]
    assert fb.reported_at.tolist() == [20.0]
    assert (c.unmatched, c.duplicates, c.intermediate) == ([], 0, 0)


def test_receipt_in_decimal_for_a_hex_submit_id_correlates() -> None:
    c = correlate([receipt("418")], [sent("0001A2")], now=25.0)
    assert [u.status for u in c.updates] == [MessageStatus.DELIVERED]


def test_receipt_in_hex_for_a_decimal_submit_id_correlates() -> None:
    c = correlate([receipt("1a2")], [sent("418")], now=25.0)
    assert [u.status for u in c.updates] == [MessageStatus.DELIVERED]


def test_parts_prefer_a_canonical_match_over_another_base() -> None:
    # "16" read as hex is 22, "10" read as hex is 16: the receipt "16" is part 1, not part 0
    record = sent("10", "16")
    assert record.part_of("16") == 1
    assert record.part_of("0010") == 0
    assert record.part_of("99") is None


def test_an_unchecked_record_equals_the_checked_one() -> None:
    checked = SentRecord("m1", "smsc", ("1A", "1B"), arm=2, submitted_at=10.0, parts=2)
    fast = SentRecord.unchecked(
        "m1", "smsc", ("1A", "1B"), 2, 10.0, (None, None), MessageStatus.SENT, (None, None)
    )
    assert fast == checked
    assert fast.parts == 2
    assert replace(fast, arm=3).arm == 3  # still a dataclass like any other


def test_a_blank_id_matches_no_part_even_when_submitted_blank() -> None:
    assert sent(" ").part_of(" ") is None
    assert sent("1A").part_of("1A") == 0


def test_one_part_records_keep_their_receipt_whatever_the_error() -> None:
    c = correlate(
        [receipt("1A", U, error="0x0B"), receipt("1B")], [sent("1A"), sent("1B", message_id="m2")], 25.0
    )
    assert [(r.part_status, r.part_errors) for r in c.records] == [((U,), ("0x0B",)), ((D,), (None,))]
    assert [(u.status, u.error_code) for u in c.updates] == [
        (MessageStatus.UNDELIVERED, "0x0B"),
        (MessageStatus.DELIVERED, None),
    ]


@pytest.mark.parametrize(
    ("status", "expected", "kind"),
    [
        (ReceiptStatus.DELIVERED, MessageStatus.DELIVERED, FeedbackKind.DELIVERED),
        (ReceiptStatus.UNDELIVERED, MessageStatus.UNDELIVERED, FeedbackKind.UNDELIVERED),
        (ReceiptStatus.EXPIRED, MessageStatus.EXPIRED, FeedbackKind.UNDELIVERED),
        (ReceiptStatus.REJECTED, MessageStatus.UNDELIVERED, FeedbackKind.UNDELIVERED),
        (ReceiptStatus.DELETED, MessageStatus.UNDELIVERED, FeedbackKind.UNDELIVERED),
        (ReceiptStatus.UNKNOWN, MessageStatus.UNDELIVERED, FeedbackKind.UNDELIVERED),
    ],
)
def test_final_receipt_statuses_map_to_message_statuses(
    status: ReceiptStatus, expected: MessageStatus, kind: FeedbackKind
) -> None:
    c = correlate([receipt("7", status, error="0x0B")], [sent("7")], now=25.0)
    assert message_status(status) is expected
    assert [(u.status, u.error_code) for u in c.updates] == [
        (expected, None if expected is MessageStatus.DELIVERED else "0x0B")
    ]
    assert c.feedback.kind.tolist() == [kind]


def test_enroute_is_intermediate_and_changes_nothing() -> None:
    c = correlate([receipt("7", ReceiptStatus.ENROUTE)], [sent("7")], now=25.0)
    assert (c.updates, c.records, len(c.feedback), c.intermediate) == ([], [], 0, 1)
    with pytest.raises(ValueError, match="not a final"):
        message_status(ReceiptStatus.ENROUTE)


def test_multipart_is_final_only_when_every_part_reported() -> None:
    first = correlate([receipt("A1")], [sent("A1", "A2")], now=25.0)
    assert first.updates == []
    assert len(first.feedback) == 0
    [record] = first.records
    assert (record.status, record.part_status) == (MessageStatus.SENT, (D, None))
    second = correlate([receipt("A2", at=21.0)], [record], now=26.0)
    assert [(u.status, u.at) for u in second.updates] == [(MessageStatus.DELIVERED, 21.0)]
    assert second.records[0].part_status == (D, D)
    assert second.feedback.reported_at.tolist() == [21.0]


def test_multipart_takes_the_first_failing_part_in_part_order() -> None:
    receipts = [
        receipt("A3", ReceiptStatus.EXPIRED, error="e3"),
        receipt("A1"),
        receipt("A2", U, error="e2"),
    ]
    record = sent("A1", "A2", "A3")
    c = correlate(receipts, [record] * 3, now=25.0)
    assert [(u.status, u.error_code) for u in c.updates] == [(MessageStatus.UNDELIVERED, "e2")]
    assert c.records[0].part_status == (D, U, ReceiptStatus.EXPIRED)
    assert c.feedback.kind.tolist() == [FeedbackKind.UNDELIVERED]


def test_receipts_of_one_message_in_one_batch_apply_in_order_to_one_record() -> None:
    record = sent("A1", "A2")
    receipts = [receipt("A1"), receipt("A1"), receipt("A2", ReceiptStatus.ENROUTE), receipt("A2")]
    c = correlate(receipts, [record] * 4, now=25.0)
    assert len(c.records) == 1
    assert (len(c.updates), c.duplicates, c.intermediate) == (1, 1, 1)


def test_duplicate_final_receipts_are_counted_not_applied() -> None:
    done = replace(sent("7"), part_status=(D,), status=MessageStatus.DELIVERED)
    c = correlate([receipt("7", U), receipt("7")], [done, done], now=25.0)
    assert (c.updates, c.records, len(c.feedback), c.duplicates) == ([], [], 0, 2)


def test_late_receipt_corrects_unknown() -> None:
    timed_out = replace(sent("7"), status=MessageStatus.UNKNOWN)
    c = correlate([receipt("7", at=900.0), receipt("7", at=901.0)], [timed_out] * 2, now=905.0)
    assert [(u.status, u.correction) for u in c.updates] == [(MessageStatus.DELIVERED, True)]
    assert c.records[0].status is MessageStatus.DELIVERED
    assert c.feedback.reported_at.tolist() == [900.0]
    assert c.duplicates == 1


def test_late_last_part_corrects_an_unknown_multipart_message() -> None:
    half = replace(sent("A1", "A2"), part_status=(D, None), status=MessageStatus.UNKNOWN)
    early = correlate([receipt("A1")], [half], now=900.0)
    assert (early.updates, early.duplicates) == ([], 1)
    late = correlate([receipt("A2", U, error="e")], [half], now=900.0)
    assert [(u.status, u.error_code, u.correction) for u in late.updates] == [
        (MessageStatus.UNDELIVERED, "e", True)
    ]


def test_unknown_ids_wrong_channels_and_foreign_parts_are_unmatched() -> None:
    stranger = Receipt("other", "7", D, 20.0)
    receipts = [receipt("7"), stranger, receipt("8")]
    c = correlate(receipts, [None, sent("7"), sent("7")], now=25.0)
    assert c.unmatched == receipts
    assert (c.updates, c.records, len(c.feedback)) == ([], [], 0)


def test_messages_without_an_arm_update_status_but_skip_feedback() -> None:
    c = correlate([receipt("7")], [sent("7", arm=-1)], now=25.0)
    assert len(c.updates) == 1
    assert len(c.feedback) == 0


def test_correlate_needs_one_lookup_per_receipt() -> None:
    with pytest.raises(ValueError, match="lookups"):
        correlate([receipt("7")], [], now=0.0)


def test_record_validates_its_parts() -> None:
    with pytest.raises(ValueError, match="per part"):
        SentRecord("m", "smsc", ("1", "2"), arm=0, submitted_at=0.0, parts=1)
    with pytest.raises(ValueError, match="at least 1"):
        SentRecord("m", "smsc", (), arm=0, submitted_at=0.0, parts=0)


# parking


def test_receipt_before_submit_response_is_parked_then_correlated() -> None:
    parked = ParkedReceipts(grace_s=30.0)
    early = receipt("1A2")
    first = correlate([early], [None], now=1.0)  # submit_sm_resp not processed yet
    parked.park(first.unmatched, now=1.0)
    assert len(parked) == 1
    retry = parked.retry(now=2.0)
    again = correlate(retry, [sent("418")], now=2.0)  # now indexed (in decimal)
    parked.park(again.unmatched, now=2.0)
    assert [u.status for u in again.updates] == [MessageStatus.DELIVERED]
    assert len(parked) == 0
    assert parked.expire(now=100.0) == []


def test_reparked_receipts_keep_their_first_time_and_expire() -> None:
    parked = ParkedReceipts(grace_s=30.0)
    old, new = receipt("1"), receipt("2")
    parked.park([old], now=0.0)
    parked.park(parked.retry(now=20.0), now=20.0)
    parked.park([new], now=20.0)
    assert parked.expire(now=29.0) == []
    assert parked.expire(now=30.0) == [old]
    assert parked.retry(now=31.0) == [new]
    assert len(parked) == 0


def test_matched_receipts_are_forgotten_by_the_next_retry() -> None:
    parked = ParkedReceipts(grace_s=30.0)
    r = receipt("1")
    parked.park([r], now=0.0)
    parked.retry(now=5.0)  # matched: not parked again
    parked.retry(now=6.0)
    parked.park([r], now=40.0)  # the same receipt resent much later starts afresh
    assert parked.expire(now=60.0) == []


def test_parking_rejects_a_negative_grace() -> None:
    with pytest.raises(ValueError, match="grace_s"):
        ParkedReceipts(-1.0)


# timeouts


def test_only_sent_messages_past_their_deadline_become_unknown() -> None:
    records = [
        sent("1", message_id="late"),
        replace(sent("2", message_id="fresh"), submitted_at=500.0),
        replace(sent("3", message_id="done"), status=MessageStatus.DELIVERED),
        replace(sent("4", message_id="already"), status=MessageStatus.UNKNOWN),
    ]
    updates = expired(records, now=610.0, timeout_s=600.0)
    assert updates == [StatusUpdate("late", MessageStatus.UNKNOWN, 610.0)]
    assert not updates[0].correction


def test_timeout_then_late_receipt_round_trip() -> None:
    record = sent("7")
    [update] = expired([record], now=700.0, timeout_s=600.0)
    timed_out = replace(record, status=update.status)
    c = correlate([receipt("7", U, at=800.0)], [timed_out], now=800.0)
    assert [(u.status, u.correction) for u in c.updates] == [(MessageStatus.UNDELIVERED, True)]
    assert c.feedback.kind.tolist() == [FeedbackKind.UNDELIVERED]


def test_a_receipt_naming_our_own_id_settles_a_one_part_message() -> None:
    record = SentRecord("m1", "agg", ("SM1",), arm=1, submitted_at=1.0)
    echoed = Receipt("agg", "", ReceiptStatus.DELIVERED, at=3.0, message_ref="m1")
    stranger = Receipt("agg", "", ReceiptStatus.DELIVERED, at=3.0, message_ref="m2")
    assert [u.status for u in correlate([echoed], [record], now=4.0).updates] == [MessageStatus.DELIVERED]
    assert correlate([stranger], [record], now=4.0).unmatched == [stranger]
