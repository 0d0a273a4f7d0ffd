"""A small SMPP 3.4 PDU codec: pure functions and frozen dataclasses, no I/O.

Only the PDUs an SMSC and an ESME need for binds, submits, receipts and keep-alives are typed;
anything else decodes to a ``PduError`` carrying ``ESME_RINVCMDID`` so a server can answer it with
``generic_nack``. Decoding is defensive: a hostile or broken peer gets a ``PduError`` (with the
command_status to answer and, when the header was readable, the sequence number), never an
IndexError or a UnicodeError.

    PduError (ValueError)     a PDU cannot be encoded or decoded; ``status`` is the ESME_* to answer
    └── FrameError            the byte stream itself is broken (absurd command_length): close it

C-octet strings are decoded as Latin-1 so every byte 0x01-0xFF survives a round trip (peers put
non-ASCII in alphanumeric senders); their spec maximum lengths, NUL included, are enforced.

>>> wire = encode(SubmitSm(source_addr="ACME", destination_addr="447700900123", short_message=b"hi",
...                        sequence_number=7))
>>> message = decode(wire)
>>> message.destination_addr, message.short_message, message.sequence_number
('447700900123', b'hi', 7)
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Final

HEADER_LENGTH: Final = 16
MAX_PDU_LENGTH: Final = 64 * 1024  # far above any real PDU; a larger length means garbage
RESPONSE_BIT: Final = 0x80000000
MAX_SHORT_MESSAGE: Final = 254


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class BindMode(IntEnum):
    """The three binds; the value is the bind request's command_id."""

    RECEIVER = CommandId.BIND_RECEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER

    @property
    def can_submit(self) -> bool:
        return self is not BindMode.RECEIVER

    @property
    def can_receive(self) -> bool:
        return self is not BindMode.TRANSMITTER


class MessageState(IntEnum):
    """Values of the message_state TLV (SMPP 3.4 section 5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


# command_status values this codec and the simulator use; adapters/smpp/status.py maps them all.
ESME_ROK: Final = 0x00
ESME_RINVMSGLEN: Final = 0x01
ESME_RINVCMDLEN: Final = 0x02
ESME_RINVCMDID: Final = 0x03
ESME_RINVBNDSTS: Final = 0x04
ESME_RALYBND: Final = 0x05
ESME_RSYSERR: Final = 0x08
ESME_RINVSRCADR: Final = 0x0A
ESME_RINVDSTADR: Final = 0x0B
ESME_RBINDFAIL: Final = 0x0D
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RMSGQFUL: Final = 0x14
ESME_RINVSERTYP: Final = 0x15
ESME_RINVESMCLASS: Final = 0x43
ESME_RTHROTTLED: Final = 0x58
ESME_RINVSCHED: Final = 0x61
ESME_RINVEXPIRY: Final = 0x62
ESME_RINVOPTPARSTREAM: Final = 0xC0
ESME_RINVPARLEN: Final = 0xC2

# Optional parameter tags.
TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_USER_MESSAGE_REFERENCE: Final = 0x0204
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F
TLV_SC_INTERFACE_VERSION: Final = 0x0210
TLV_NETWORK_ERROR_CODE: Final = 0x0423
TLV_MESSAGE_PAYLOAD: Final = 0x0424
TLV_MESSAGE_STATE: Final = 0x0427

# Tags whose value has a fixed size in the spec: a wrong size is a broken peer, not a variant.
_TLV_SIZES: Final = {
    TLV_USER_MESSAGE_REFERENCE: 2,
    TLV_SAR_MSG_REF_NUM: 2,
    TLV_SAR_TOTAL_SEGMENTS: 1,
    TLV_SAR_SEGMENT_SEQNUM: 1,
    TLV_SC_INTERFACE_VERSION: 1,
    TLV_NETWORK_ERROR_CODE: 3,
    TLV_MESSAGE_STATE: 1,
}


class PduError(ValueError):
    """A PDU that cannot be encoded or decoded.

    ``status`` is the command_status a server should answer with (in a generic_nack);
    ``sequence_number`` and ``command_id`` are set when the header could be read.
    """

    def __init__(
        self,
        message: str,
        status: int = ESME_RINVCMDLEN,
        *,
        sequence_number: int | None = None,
        command_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.sequence_number = sequence_number
        self.command_id = command_id


class FrameError(PduError):
    """The stream's framing is broken (command_length out of bounds): nothing after it can be trusted."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """An optional parameter: a 16-bit tag and its raw value."""

    tag: int
    value: bytes

    @classmethod
    def u8(cls, tag: int, value: int) -> Tlv:
        return cls(tag, _pack(">B", value))

    @classmethod
    def u16(cls, tag: int, value: int) -> Tlv:
        return cls(tag, _pack(">H", value))

    @classmethod
    def cstring(cls, tag: int, value: str) -> Tlv:
        return cls(tag, _cstring(value, 65, "tlv"))

    def as_int(self) -> int:
        return int.from_bytes(self.value, "big")

    def as_str(self) -> str:
        return self.value.rstrip(b"\x00").decode("latin-1")


def find_tlv(tlvs: tuple[Tlv, ...], tag: int) -> Tlv | None:
    """The first TLV with this tag (the spec allows each tag once)."""
    return next((tlv for tlv in tlvs if tlv.tag == tag), None)


# --- PDU types ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pdu:
    sequence_number: int = 0
    command_status: int = ESME_ROK

    def body(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(_Pdu):
    """bind_receiver / bind_transmitter / bind_transceiver, told apart by ``mode``."""

    mode: BindMode
    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    @property
    def command_id(self) -> int:
        return int(self.mode)

    def body(self) -> bytes:
        return b"".join(
            (
                _cstring(self.system_id, 16, "system_id"),
                _cstring(self.password, 9, "password"),
                _cstring(self.system_type, 13, "system_type"),
                _pack(">BBB", self.interface_version, self.addr_ton, self.addr_npi),
                _cstring(self.address_range, 41, "address_range"),
            )
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp(_Pdu):
    mode: BindMode
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()

    @property
    def command_id(self) -> int:
        return int(self.mode) | RESPONSE_BIT

    def body(self) -> bytes:
        return _cstring(self.system_id, 16, "system_id") + _encode_tlvs(self.tlvs)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage(_Pdu):
    """The body shared by submit_sm and deliver_sm."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()

    def body(self) -> bytes:
        if len(self.short_message) > MAX_SHORT_MESSAGE:
            raise PduError("short_message longer than 254 octets: use message_payload", ESME_RINVMSGLEN)
        return b"".join(
            (
                _cstring(self.service_type, 6, "service_type"),
                _pack(">BB", self.source_addr_ton, self.source_addr_npi),
                _cstring(self.source_addr, 21, "source_addr"),
                _pack(">BB", self.dest_addr_ton, self.dest_addr_npi),
                _cstring(self.destination_addr, 21, "destination_addr"),
                _pack(">BBB", self.esm_class, self.protocol_id, self.priority_flag),
                _cstring(self.schedule_delivery_time, 17, "schedule_delivery_time"),
                _cstring(self.validity_period, 17, "validity_period"),
                _pack(">BBBBB", self.registered_delivery, self.replace_if_present_flag, self.data_coding,
                      self.sm_default_msg_id, len(self.short_message)),
                self.short_message,
                _encode_tlvs(self.tlvs),
            )
        )  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessage):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessage):
    command_id: ClassVar[int] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_Pdu):
    """The message_id is the SMSC's id, the key receipts are correlated by. Empty on an error."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP
    message_id: str = ""

    def body(self) -> bytes:
        return _cstring(self.message_id, 65, "message_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_Pdu):
    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP
    message_id: str = ""  # unused by SMPP 3.4, always empty in practice

    def body(self) -> bytes:
        return _cstring(self.message_id, 65, "message_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(_Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(_Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(_Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(_Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(_Pdu):
    command_id: ClassVar[int] = CommandId.GENERIC_NACK


Pdu = (
    Bind | BindResp | SubmitSm | SubmitSmResp | DeliverSm | DeliverSmResp
    | EnquireLink | EnquireLinkResp | Unbind | UnbindResp | GenericNack
)  # fmt: skip


def encode(pdu: Pdu) -> bytes:
    """The PDU on the wire, header included. Raises PduError for values the format cannot carry."""
    body = pdu.body()
    return (
        _pack(">IIII", HEADER_LENGTH + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number)
        + body
    )


def is_response(command_id: int) -> bool:
    return bool(command_id & RESPONSE_BIT)


# --- decoding -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


def decode_header(data: bytes) -> Header:
    if len(data) < HEADER_LENGTH:
        raise PduError(f"{len(data)} octets cannot hold a 16-octet header")
    return Header(*struct.unpack_from(">IIII", data))


def decode(frame: bytes) -> Pdu:
    """One complete PDU (exactly ``command_length`` octets) into its dataclass."""
    header = decode_header(frame)
    where = {"sequence_number": header.sequence_number, "command_id": header.command_id}
    if header.command_length != len(frame):
        raise PduError(f"command_length {header.command_length} but {len(frame)} octets", **where)
    decoder = _DECODERS.get(header.command_id)
    if decoder is None:
        raise PduError(f"unsupported command_id {header.command_id:#010x}", ESME_RINVCMDID, **where)
    reader = _Reader(frame, HEADER_LENGTH)
    try:
        pdu = decoder(reader, header)
    except PduError as exc:
        raise PduError(str(exc), exc.status, **where) from None
    if reader.remaining:
        raise PduError(f"{reader.remaining} unexpected octets after the body", **where)
    return pdu


class _Reader:
    """A cursor over one PDU; every read checks its bounds and raises PduError past the end."""

    def __init__(self, data: bytes, position: int) -> None:
        self._data = data
        self._position = position

    @property
    def remaining(self) -> int:
        return len(self._data) - self._position

    def octets(self, count: int, what: str, status: int = ESME_RINVCMDLEN) -> bytes:
        if count > self.remaining:
            raise PduError(f"{what}: {count} octets wanted, {self.remaining} left", status)
        start = self._position
        self._position += count
        return self._data[start : self._position]

    def ints(self, fmt: str, what: str) -> tuple[int, ...]:
        values: tuple[int, ...] = struct.unpack(fmt, self.octets(struct.calcsize(fmt), what))
        return values

    def cstring(self, max_length: int, what: str, status: int = ESME_RINVCMDLEN) -> str:
        end = self._data.find(b"\x00", self._position, self._position + max_length)
        if end < 0:
            raise PduError(f"{what}: no NUL within {max_length} octets", status)
        text = self._data[self._position : end].decode("latin-1")
        self._position = end + 1
        return text

    def tlvs(self) -> tuple[Tlv, ...]:
        found: list[Tlv] = []
        while self.remaining:
            tag, length = self.ints(">HH", "tlv header")
            value = self.octets(length, f"tlv {tag:#06x}", ESME_RINVOPTPARSTREAM)
            size = _TLV_SIZES.get(tag)
            if size is not None and length != size:
                raise PduError(f"tlv {tag:#06x}: length {length}, expected {size}", ESME_RINVPARLEN)
            found.append(Tlv(tag, value))
        return tuple(found)


def _decode_bind(reader: _Reader, header: Header) -> Bind:
    system_id = reader.cstring(16, "system_id", ESME_RINVSYSID)
    password = reader.cstring(9, "password", ESME_RINVPASWD)
    system_type = reader.cstring(13, "system_type")
    version, ton, npi = reader.ints(">BBB", "interface_version/addr_ton/addr_npi")
    return Bind(
        mode=BindMode(header.command_id), system_id=system_id, password=password, system_type=system_type,
        interface_version=version, addr_ton=ton, addr_npi=npi,
        address_range=reader.cstring(41, "address_range"),
        sequence_number=header.sequence_number, command_status=header.command_status,
    )  # fmt: skip


def _decode_bind_resp(reader: _Reader, header: Header) -> BindResp:
    # A failed bind's response may come without a body; accept both forms.
    system_id = reader.cstring(16, "system_id") if reader.remaining else ""
    return BindResp(
        mode=BindMode(header.command_id & ~RESPONSE_BIT), system_id=system_id, tlvs=reader.tlvs(),
        sequence_number=header.sequence_number, command_status=header.command_status,
    )  # fmt: skip


def _decode_short_message(kind: type[SubmitSm] | type[DeliverSm]) -> Callable[[_Reader, Header], Pdu]:
    def decode_body(reader: _Reader, header: Header) -> Pdu:
        service_type = reader.cstring(6, "service_type", ESME_RINVSERTYP)
        source_ton, source_npi = reader.ints(">BB", "source_addr_ton/npi")
        source_addr = reader.cstring(21, "source_addr", ESME_RINVSRCADR)
        dest_ton, dest_npi = reader.ints(">BB", "dest_addr_ton/npi")
        destination_addr = reader.cstring(21, "destination_addr", ESME_RINVDSTADR)
        esm_class, protocol_id, priority = reader.ints(">BBB", "esm_class/protocol_id/priority_flag")
        schedule = reader.cstring(17, "schedule_delivery_time", ESME_RINVSCHED)
        validity = reader.cstring(17, "validity_period", ESME_RINVEXPIRY)
        registered, replace, coding, default_id, sm_length = reader.ints(">BBBBB", "flags/sm_length")
        if sm_length > MAX_SHORT_MESSAGE:
            raise PduError(f"sm_length {sm_length} over 254", ESME_RINVMSGLEN)
        short_message = reader.octets(sm_length, "short_message", ESME_RINVMSGLEN)
        return kind(
            service_type=service_type, source_addr_ton=source_ton, source_addr_npi=source_npi,
            source_addr=source_addr, dest_addr_ton=dest_ton, dest_addr_npi=dest_npi,
            destination_addr=destination_addr, esm_class=esm_class, protocol_id=protocol_id,
            priority_flag=priority, schedule_delivery_time=schedule, validity_period=validity,
            registered_delivery=registered, replace_if_present_flag=replace, data_coding=coding,
            sm_default_msg_id=default_id, short_message=short_message, tlvs=reader.tlvs(),
            sequence_number=header.sequence_number, command_status=header.command_status,
        )  # fmt: skip

    return decode_body


def _decode_message_id_resp(
    kind: type[SubmitSmResp] | type[DeliverSmResp],
) -> Callable[[_Reader, Header], Pdu]:
    def decode_body(reader: _Reader, header: Header) -> Pdu:
        # The spec omits the body of a failed response; many SMSCs send an empty id anyway.
        message_id = reader.cstring(65, "message_id") if reader.remaining else ""
        return kind(
            message_id=message_id,
            sequence_number=header.sequence_number,
            command_status=header.command_status,
        )

    return decode_body


def _decode_empty(
    kind: type[EnquireLink | EnquireLinkResp | Unbind | UnbindResp | GenericNack],
) -> Callable[[_Reader, Header], Pdu]:
    def decode_body(_reader: _Reader, header: Header) -> Pdu:
        return kind(sequence_number=header.sequence_number, command_status=header.command_status)

    return decode_body


_DECODERS: Final[dict[int, Callable[[_Reader, Header], Pdu]]] = {
    CommandId.BIND_RECEIVER: _decode_bind,
    CommandId.BIND_TRANSMITTER: _decode_bind,
    CommandId.BIND_TRANSCEIVER: _decode_bind,
    CommandId.BIND_RECEIVER_RESP: _decode_bind_resp,
    CommandId.BIND_TRANSMITTER_RESP: _decode_bind_resp,
    CommandId.BIND_TRANSCEIVER_RESP: _decode_bind_resp,
    CommandId.SUBMIT_SM: _decode_short_message(SubmitSm),
    CommandId.DELIVER_SM: _decode_short_message(DeliverSm),
    CommandId.SUBMIT_SM_RESP: _decode_message_id_resp(SubmitSmResp),
    CommandId.DELIVER_SM_RESP: _decode_message_id_resp(DeliverSmResp),
    CommandId.ENQUIRE_LINK: _decode_empty(EnquireLink),
    CommandId.ENQUIRE_LINK_RESP: _decode_empty(EnquireLinkResp),
    CommandId.UNBIND: _decode_empty(Unbind),
    CommandId.UNBIND_RESP: _decode_empty(UnbindResp),
    CommandId.GENERIC_NACK: _decode_empty(GenericNack),
}


# --- framing ------------------------------------------------------------------------------------


class FrameSplitter:
    """Cuts a TCP byte stream into whole PDUs, however the reads split it.

    A command_length below 16 or above ``max_length`` means the stream is garbage or hostile: there is
    no way to find the next PDU boundary, so ``feed`` raises FrameError and keeps raising it.

    >>> splitter = FrameSplitter()
    >>> wire = encode(EnquireLink(sequence_number=1))
    >>> splitter.feed(wire[:5]), len(splitter.feed(wire[5:] + wire)), splitter.buffered
    ([], 2, 0)
    """

    def __init__(self, max_length: int = MAX_PDU_LENGTH) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Octets received that do not make a whole PDU yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        if self._error is not None:
            raise self._error
        self._buffer += data
        frames: list[bytes] = []
        position = 0
        while len(self._buffer) - position >= 4:
            length = int.from_bytes(self._buffer[position : position + 4], "big")
            if not HEADER_LENGTH <= length <= self.max_length:
                self._error = self._framing_error(length, position)
                raise self._error
            if len(self._buffer) - position < length:
                break
            frames.append(bytes(self._buffer[position : position + length]))
            position += length
        del self._buffer[:position]  # once per feed: cutting per frame would be quadratic
        return frames

    def _framing_error(self, length: int, position: int) -> FrameError:
        header = self._buffer[position : position + HEADER_LENGTH]
        sequence, command_id = None, None
        if len(header) == HEADER_LENGTH:
            command_id, _, sequence = struct.unpack_from(">III", header, 4)
        return FrameError(
            f"command_length {length} outside [{HEADER_LENGTH}, {self.max_length}]",
            ESME_RINVCMDLEN,
            sequence_number=sequence,
            command_id=command_id,
        )


# --- encoding helpers ---------------------------------------------------------------------------


def _pack(fmt: str, *values: int) -> bytes:
    try:
        return struct.pack(fmt, *values)
    except struct.error as exc:
        raise PduError(f"integer field out of range: {exc}") from None


def _cstring(value: str, max_length: int, what: str) -> bytes:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise PduError(f"{what}: {value!r} is not Latin-1") from None
    if b"\x00" in raw or len(raw) >= max_length:
        raise PduError(f"{what}: {value!r} has a NUL or is over {max_length - 1} octets")
    return raw + b"\x00"


def _encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    return b"".join(_pack(">HH", tlv.tag, len(tlv.value)) + tlv.value for tlv in tlvs)
