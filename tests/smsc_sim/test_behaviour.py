"""The simulator's decisions without sockets: settings, statuses, ids, receipts and their text."""

from __future__ import annotations

import doctest
import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from adapters.smpp import pdu, smsc_behaviour, smsc_receipts, smsc_settings
from adapters.smpp.smsc_behaviour import SmscBehaviour
from adapters.smpp.smsc_receipts import PlannedReceipt, build_receipt, message_text, receipt_text
from adapters.smpp.smsc_settings import IdFormat, Mode, SmscSettings
from engine.domain.clock import ManualClock


def behaviour(clock: ManualClock | None = None, seed: int = 3, **settings: Any) -> SmscBehaviour:
    return SmscBehaviour(SmscSettings(**settings), np.random.default_rng(seed), clock or ManualClock(1e9))


def submit(destination: str = "447700900123", text: bytes = b"hello", **fields: Any) -> pdu.SubmitSm:
    return pdu.SubmitSm(source_addr="ACME", destination_addr=destination, short_message=text, **fields)


def receipt_of(smsc: SmscBehaviour) -> PlannedReceipt:
    receipt = smsc.decide(submit(registered_delivery=1)).receipt
    assert receipt is not None
    return receipt


@pytest.mark.parametrize("module", [smsc_behaviour, smsc_receipts, smsc_settings])
def test_doctests(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"delivery_probability": 1.5},
        {"throttle_fraction": -0.1},
        {"reject_fraction": math.nan},
        {"throttle_tps": 0.0},
        {"throttle_tps": math.inf},
        {"receipt_delay_median_s": -1.0},
        {"port": 70000},
        {"password": "longer-than-8"},
        {"system_id": "a" * 16},
        {"max_queued_receipts": -1},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SmscSettings(**bad)


def test_presets_name_the_modes_and_overrides_replace_their_trigger() -> None:
    assert SmscSettings.preset(Mode.STALL).stall
    assert SmscSettings.preset(Mode.BLACK_HOLE).black_hole
    only_prefixes = SmscSettings.preset(Mode.REJECT, reject_prefixes=("44",))
    assert (only_prefixes.reject_fraction, only_prefixes.reject_prefixes) == (0.0, ("44",))
    only_fraction = SmscSettings.preset(Mode.THROTTLE, throttle_fraction=0.5)
    assert only_fraction.throttle_tps is None
    assert SmscSettings.preset(Mode.HEALTHY) == SmscSettings()


def test_healthy_accepts_with_increasing_ids_and_plans_a_receipt() -> None:
    smsc = behaviour()
    first, second = smsc.decide(submit(registered_delivery=1)), smsc.decide(submit(registered_delivery=1))
    assert (first.status, first.answer) == (pdu.ESME_ROK, True)
    assert int(second.message_id) == int(first.message_id) + 1
    assert first.receipt is not None
    assert first.receipt.delivered
    assert first.receipt.message_id == first.receipt.text_id == first.message_id


def test_same_seed_same_decisions() -> None:
    def run() -> list[smsc_behaviour.Decision]:
        smsc = behaviour(seed=11, reject_fraction=0.3, delivery_probability=0.5)
        return [smsc.decide(submit(registered_delivery=1)) for _ in range(50)]

    first = run()
    assert first == run()
    assert {decision.status for decision in first} == {pdu.ESME_ROK, pdu.ESME_RINVDSTADR}


def test_throttle_counts_accepted_submits_in_a_sliding_second() -> None:
    clock = ManualClock(1000.0)
    smsc = behaviour(clock, throttle_tps=3)
    assert [smsc.decide(submit()).status for _ in range(5)] == [0, 0, 0, 0x58, 0x58]
    clock.advance(0.5)
    assert smsc.decide(submit()).status == pdu.ESME_RTHROTTLED
    clock.advance(0.6)  # the first three left the window
    assert [smsc.decide(submit()).status for _ in range(4)] == [0, 0, 0, 0x58]


def test_throttle_fraction() -> None:
    smsc = behaviour(throttle_fraction=0.25)
    statuses = [smsc.decide(submit()).status for _ in range(4000)]
    assert statuses.count(pdu.ESME_RTHROTTLED) / 4000 == pytest.approx(0.25, abs=0.03)


def test_reject_by_prefix_and_fraction() -> None:
    smsc = behaviour(reject_prefixes=("+4477",))
    assert smsc.decide(submit("+447700900123")).status == pdu.ESME_RINVDSTADR
    assert smsc.decide(submit("447700900123")).status == pdu.ESME_RINVDSTADR
    assert smsc.decide(submit("33612345678")).status == pdu.ESME_ROK
    everything = behaviour(reject_fraction=1.0)
    assert everything.decide(submit("33612345678")).status == pdu.ESME_RINVDSTADR


def test_stall_swallows_and_black_hole_keeps_receipts() -> None:
    assert not behaviour(stall=True).decide(submit()).answer
    hole = behaviour(black_hole=True).decide(submit(registered_delivery=1))
    assert (hole.status, hole.receipt) == (pdu.ESME_ROK, None)


@pytest.mark.parametrize(
    ("registered", "delivered", "wanted"), [(0, 1.0, False), (1, 1.0, True), (2, 1.0, False), (2, 0.0, True)]
)
def test_registered_delivery_decides_if_a_receipt_is_sent(
    registered: int, delivered: float, wanted: bool
) -> None:
    decision = behaviour(delivery_probability=delivered).decide(submit(registered_delivery=registered))
    assert (decision.receipt is not None) == wanted


def test_delivery_probability() -> None:
    smsc = behaviour(delivery_probability=0.8)
    receipts = [smsc.decide(submit(registered_delivery=1)).receipt for _ in range(3000)]
    assert sum(r is not None and r.delivered for r in receipts) / 3000 == pytest.approx(0.8, abs=0.03)


def test_receipt_delays_are_lognormal_around_the_median() -> None:
    smsc = behaviour(receipt_delay_median_s=2.0, receipt_delay_sigma=0.5, receipt_delay_max_s=5.0)
    delays = np.array([receipt_of(smsc).delay_s for _ in range(4000)])
    assert np.median(delays) == pytest.approx(2.0, rel=0.05)
    assert delays.max() <= 5.0
    assert receipt_of(behaviour(receipt_delay_median_s=0.0)).delay_s == 0.0


def test_hex_ids_and_a_receipt_text_in_another_base() -> None:
    smsc = behaviour(message_id_format=IdFormat.HEX, receipt_text_id_format=IdFormat.DECIMAL)
    decision = smsc.decide(submit(registered_delivery=1))
    assert decision.receipt is not None
    assert len(decision.message_id) >= 8
    assert int(decision.receipt.text_id) == int(decision.message_id, 16)


def test_message_text_skips_the_udh_and_decodes_ucs2() -> None:
    udh = bytes([5, 0, 3, 0x2A, 2, 1])
    assert message_text(submit(text=udh + b"first part", esm_class=0x40)) == "first part"
    assert message_text(submit(text="Привет".encode("utf-16-be"), data_coding=8)) == "??????"
    payload = pdu.Tlv(pdu.TLV_MESSAGE_PAYLOAD, b"x" * 300)
    assert message_text(submit(text=b"", tlvs=(payload,))) == "x" * 20
    assert message_text(submit(text=b"line\nbreak")) == "line?break"


@pytest.mark.parametrize("text", [b"", bytes([9, 0, 3])])
def test_a_udh_that_does_not_fit_is_refused(text: bytes) -> None:
    decision = behaviour().decide(submit(text=text, esm_class=0x40))
    assert decision.status == pdu.ESME_RINVESMCLASS


def test_receipt_pdu() -> None:
    original = submit(dest_addr_ton=1, dest_addr_npi=1, source_addr_ton=5)
    planned = PlannedReceipt("0000002a", "42", False, 1_700_000_000.0, 0.0, "hello", original)
    receipt = build_receipt(planned, done_at=1_700_000_090.0, sequence_number=4)
    assert (receipt.source_addr, receipt.destination_addr) == ("447700900123", "ACME")
    assert (receipt.source_addr_ton, receipt.dest_addr_ton, receipt.esm_class) == (1, 5, 0x04)
    assert receipt.short_message.decode() == receipt_text(planned, 1_700_000_090.0)
    assert receipt.short_message.startswith(
        b"id:42 sub:001 dlvrd:000 submit date:2311142213 done date:2311142214"
    )
    assert b"stat:UNDELIV err:001 text:hello" in receipt.short_message
    receipted = pdu.find_tlv(receipt.tlvs, pdu.TLV_RECEIPTED_MESSAGE_ID)
    state = pdu.find_tlv(receipt.tlvs, pdu.TLV_MESSAGE_STATE)
    assert receipted is not None
    assert state is not None
    assert (receipted.as_str(), state.as_int()) == ("0000002a", pdu.MessageState.UNDELIVERABLE)
    assert pdu.decode(pdu.encode(receipt)) == receipt
