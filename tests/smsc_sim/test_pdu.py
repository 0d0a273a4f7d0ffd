"""The PDU codec: round trips, defensive decoding of hostile bytes, and stream framing."""

from __future__ import annotations

import doctest
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.smpp import pdu

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)


def cstrings(max_length: int) -> st.SearchStrategy[str]:
    # Latin-1 without NUL, shorter than the field's maximum (which counts the NUL).
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=max_length - 1)


tlvs = st.lists(st.builds(pdu.Tlv, st.integers(0x1400, 0x3FFF), st.binary(max_size=40)), max_size=3).map(
    tuple
)
header = {"sequence_number": u32, "command_status": u32}
short_message = {
    "service_type": cstrings(6),
    "source_addr_ton": u8,
    "source_addr_npi": u8,
    "source_addr": cstrings(21),
    "dest_addr_ton": u8,
    "dest_addr_npi": u8,
    "destination_addr": cstrings(21),
    "esm_class": u8,
    "protocol_id": u8,
    "priority_flag": u8,
    "schedule_delivery_time": cstrings(17),
    "validity_period": cstrings(17),
    "registered_delivery": u8,
    "replace_if_present_flag": u8,
    "data_coding": u8,
    "sm_default_msg_id": u8,
    "short_message": st.binary(max_size=254),
    "tlvs": tlvs,
    **header,
}
pdus = st.one_of(
    st.builds(
        pdu.Bind, mode=st.sampled_from(pdu.BindMode), system_id=cstrings(16), password=cstrings(9),
        system_type=cstrings(13), interface_version=u8, addr_ton=u8, addr_npi=u8,
        address_range=cstrings(41), **header,
    ),
    st.builds(pdu.BindResp, mode=st.sampled_from(pdu.BindMode), system_id=cstrings(16), tlvs=tlvs, **header),
    st.builds(pdu.SubmitSm, **short_message),
    st.builds(pdu.DeliverSm, **short_message),
    st.builds(pdu.SubmitSmResp, message_id=cstrings(65), **header),
    st.builds(pdu.DeliverSmResp, message_id=cstrings(65), **header),
    *(
        st.builds(kind, **header)
        for kind in (pdu.EnquireLink, pdu.EnquireLinkResp, pdu.Unbind, pdu.UnbindResp, pdu.GenericNack)
    ),
)  # fmt: skip


def test_doctests() -> None:
    assert doctest.testmod(pdu).failed == 0


@given(pdus)
def test_encode_then_decode_is_identity(message: pdu.Pdu) -> None:
    assert pdu.decode(pdu.encode(message)) == message


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_pdu_error(data: bytes) -> None:
    _decode_or_error(data)  # anything else than PduError fails the test


@given(pdus, st.data())
def test_damaged_pdus_raise_only_pdu_error(message: pdu.Pdu, data: st.DataObject) -> None:
    # Random bytes rarely get past the header check; damage real PDUs to reach the body decoders.
    wire = bytearray(pdu.encode(message))
    cut = data.draw(st.integers(pdu.HEADER_LENGTH, len(wire)))
    del wire[cut:]
    for _ in range(data.draw(st.integers(0, 3))):
        if len(wire) > pdu.HEADER_LENGTH:
            wire[data.draw(st.integers(pdu.HEADER_LENGTH, len(wire) - 1))] = data.draw(u8)
    struct.pack_into(">I", wire, 0, len(wire))  # a consistent length, so the body decoder is reached
    error = _decode_or_error(bytes(wire))
    assert error is None or error.sequence_number == message.sequence_number


@given(st.lists(pdus, min_size=1, max_size=5), st.lists(st.integers(1, 50), min_size=1))
def test_splitter_reassembles_any_chunking(messages: list[pdu.Pdu], sizes: list[int]) -> None:
    stream = b"".join(pdu.encode(message) for message in messages)
    splitter, frames, position = pdu.FrameSplitter(), [], 0
    for size in sizes * (len(stream) // len(sizes) + 1):
        frames += splitter.feed(stream[position : position + size])
        position += size
    assert [pdu.decode(frame) for frame in frames] == messages
    assert splitter.buffered == 0


def _decode_or_error(data: bytes) -> pdu.PduError | None:
    try:
        pdu.decode(data)
    except pdu.PduError as exc:
        return exc
    return None


def _frame(command_id: int, body: bytes, sequence: int = 9) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (_frame(pdu.CommandId.SUBMIT_SM, b"\x00\x01\x01447"), pdu.ESME_RINVSRCADR),  # source_addr without NUL
        (
            _frame(pdu.CommandId.BIND_TRANSCEIVER, b"esme\x00"),
            pdu.ESME_RINVPASWD,
        ),  # truncated after system_id
        (
            _frame(pdu.CommandId.BIND_TRANSCEIVER, b"a" * 20 + b"\x00"),
            pdu.ESME_RINVSYSID,
        ),  # system_id too long
        (_frame(0x00000103, b""), pdu.ESME_RINVCMDID),  # data_sm: not supported
        (_frame(pdu.CommandId.ENQUIRE_LINK, b"extra"), pdu.ESME_RINVCMDLEN),  # body where none belongs
        (_frame(pdu.CommandId.SUBMIT_SM_RESP, b"no-nul"), pdu.ESME_RINVCMDLEN),
    ],
)
def test_malformed_bodies_name_their_status(frame: bytes, status: int) -> None:
    with pytest.raises(pdu.PduError) as raised:
        pdu.decode(frame)
    assert (raised.value.status, raised.value.sequence_number) == (status, 9)


def test_short_message_longer_than_its_body() -> None:
    good = pdu.encode(pdu.SubmitSm(destination_addr="1", short_message=b"hello"))
    with pytest.raises(pdu.PduError) as raised:
        pdu.decode(struct.pack(">I", len(good) - 2) + good[4:-2])
    assert raised.value.status == pdu.ESME_RINVMSGLEN


def test_bad_tlvs() -> None:
    base = pdu.encode(pdu.SubmitSm(destination_addr="1"))
    for tail, status in ((b"\x04\x27\x00\x02\x02\x02", pdu.ESME_RINVPARLEN), (b"\x14\x00\x00\x09ab", 0xC0)):
        wire = struct.pack(">I", len(base) + len(tail)) + base[4:] + tail
        with pytest.raises(pdu.PduError) as raised:
            pdu.decode(wire)
        assert raised.value.status == status


def test_length_field_must_match_the_frame() -> None:
    wire = pdu.encode(pdu.EnquireLink(sequence_number=3))
    with pytest.raises(pdu.PduError, match="command_length"):
        pdu.decode(wire + b"\x00")
    with pytest.raises(pdu.PduError, match="header"):
        pdu.decode(wire[:10])


def test_failed_responses_may_come_without_a_body() -> None:
    bare = struct.pack(">IIII", 16, pdu.CommandId.SUBMIT_SM_RESP, pdu.ESME_RTHROTTLED, 5)
    assert pdu.decode(bare) == pdu.SubmitSmResp(command_status=pdu.ESME_RTHROTTLED, sequence_number=5)
    bare = struct.pack(">IIII", 16, pdu.CommandId.BIND_TRANSCEIVER_RESP, pdu.ESME_RBINDFAIL, 1)
    assert pdu.decode(bare) == pdu.BindResp(
        mode=pdu.BindMode.TRANSCEIVER, command_status=0x0D, sequence_number=1
    )


@pytest.mark.parametrize(
    "message",
    [
        pdu.SubmitSm(destination_addr="1" * 21),  # over the field's 20 characters
        pdu.SubmitSm(destination_addr="1\x002"),
        pdu.SubmitSm(source_addr="Ω"),  # not Latin-1
        pdu.SubmitSm(short_message=bytes(255)),
        pdu.SubmitSm(esm_class=256),
        pdu.EnquireLink(sequence_number=2**32),
        pdu.SubmitSm(tlvs=(pdu.Tlv(0x1400, bytes(70_000)),)),
    ],
)
def test_encode_refuses_what_the_format_cannot_carry(message: pdu.Pdu) -> None:
    with pytest.raises(pdu.PduError):
        pdu.encode(message)


@pytest.mark.parametrize("length", [0, 15, pdu.MAX_PDU_LENGTH + 1, 0xFFFFFFFF])
def test_splitter_rejects_absurd_lengths_for_good(length: int) -> None:
    splitter = pdu.FrameSplitter()
    good = pdu.encode(pdu.EnquireLink(sequence_number=1))
    bad = struct.pack(">IIII", length, pdu.CommandId.ENQUIRE_LINK, 0, 77)
    with pytest.raises(pdu.FrameError) as raised:
        splitter.feed(good + bad)
    assert (raised.value.status, raised.value.sequence_number) == (pdu.ESME_RINVCMDLEN, 77)
    with pytest.raises(pdu.FrameError):
        splitter.feed(good)  # nothing after a broken frame can be trusted


def test_splitter_waits_for_a_whole_header_and_body() -> None:
    splitter = pdu.FrameSplitter()
    wire = pdu.encode(pdu.SubmitSm(destination_addr="447700900123", short_message=b"x" * 100))
    assert splitter.feed(wire[:3]) == []
    assert splitter.feed(wire[3:20]) == []
    assert splitter.feed(wire[20:]) == [wire]


def test_tlv_helpers() -> None:
    tlvs = (pdu.Tlv.cstring(pdu.TLV_RECEIPTED_MESSAGE_ID, "ab12"), pdu.Tlv.u8(pdu.TLV_MESSAGE_STATE, 2))
    found = pdu.find_tlv(tlvs, pdu.TLV_RECEIPTED_MESSAGE_ID)
    assert found is not None
    assert (found.as_str(), found.value) == ("ab12", b"ab12\x00")
    state = pdu.find_tlv(tlvs, pdu.TLV_MESSAGE_STATE)
    assert state is not None
    assert state.as_int() == pdu.MessageState.DELIVERED
    assert pdu.find_tlv(tlvs, pdu.TLV_MESSAGE_PAYLOAD) is None
