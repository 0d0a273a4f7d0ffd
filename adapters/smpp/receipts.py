"""Delivery receipts out of deliver_sm: a tolerant parser that never raises.

The text form is the de-facto standard of SMPP 3.4's appendix B::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...

SMSCs vary it: any case, fields missing or reordered, ``submit_date``, seconds in the dates (12
digits), ids in hex or decimal (passed through exactly as given: :mod:`engine.dlr.ids` matches the
forms). The receipted_message_id (0x001E) and message_state (0x0427) TLVs win over the text when
present. A receipt without an id or without a status we know is unparseable: ``None``.

>>> r = parse_receipt(b"id:0A1B sub:001 dlvrd:001 submit date:2501021504 done date:250102150412 "
...                   b"stat:DELIVRD err:000 text:Hello")
>>> r.message_id, r.status.value, r.error_code, r.submitted_at.minute, r.done_at.second
('0A1B', 'delivered', None, 4, 12)
>>> parse_receipt(b"ID:77 STAT:undeliv ERR:034").error_code
'034'
>>> parse_receipt(b"stat:DELIVRD", {0x001E: b"abc\\x00", 0x0427: bytes([5])}).status.value
'undelivered'
>>> parse_receipt(b"no receipt here") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from engine.domain.messages import ReceiptStatus

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423
DCS_UCS2 = 0x08

STATS: dict[str, ReceiptStatus] = {
    "DELIVRD": ReceiptStatus.DELIVERED,
    "DELIVERED": ReceiptStatus.DELIVERED,
    "UNDELIV": ReceiptStatus.UNDELIVERED,
    "UNDELIVERABLE": ReceiptStatus.UNDELIVERED,
    "UNDELIVERED": ReceiptStatus.UNDELIVERED,
    "EXPIRED": ReceiptStatus.EXPIRED,
    "REJECTD": ReceiptStatus.REJECTED,
    "REJECTED": ReceiptStatus.REJECTED,
    "DELETED": ReceiptStatus.DELETED,
    "UNKNOWN": ReceiptStatus.UNKNOWN,
    "ACCEPTD": ReceiptStatus.ENROUTE,  # SMPP's ACCEPTED is not a delivery: keep waiting
    "ACCEPTED": ReceiptStatus.ENROUTE,
    "ENROUTE": ReceiptStatus.ENROUTE,
}
# message_state TLV values (SMPP 3.4 section 5.2.28).
MESSAGE_STATES: dict[int, ReceiptStatus] = {
    1: ReceiptStatus.ENROUTE,
    2: ReceiptStatus.DELIVERED,
    3: ReceiptStatus.EXPIRED,
    4: ReceiptStatus.DELETED,
    5: ReceiptStatus.UNDELIVERED,
    6: ReceiptStatus.ENROUTE,
    7: ReceiptStatus.UNKNOWN,
    8: ReceiptStatus.REJECTED,
}

# A key is a known field name followed by ':'; its value runs to the next key. "text" is last and
# takes the rest: a message excerpt may contain anything, even "stat:".
_KEY = re.compile(r"(?i)(?<![a-z0-9_])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:")
_DATE_FORMATS = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}
_MAX_TEXT = 2000  # a receipt is short; a huge deliver_sm is not parsed past this


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    message_id: str
    status: ReceiptStatus
    error_code: str | None  # the SMSC's err (or network_error_code TLV), for a failed delivery only
    submitted_at: datetime | None  # as the SMSC wrote it: its local time, zone unknown
    done_at: datetime | None
    fields: Mapping[str, str]


def text_of(short_message: bytes, data_coding: int = 0) -> str:
    """The receipt's text; never raises (unknown bytes are replaced, not refused)."""
    if data_coding & 0x0F == DCS_UCS2 and len(short_message) % 2 == 0:
        return short_message.decode("utf-16-be", errors="replace")
    return short_message.decode("latin-1")


def fields_of(text: str) -> dict[str, str]:
    """Known ``key:value`` fields of a receipt text, keys normalised (``submit date`` -> ``submitdate``).

    >>> fields_of("Id:1 Submit_Date:2501021504 text:a stat:b")
    {'id': '1', 'submitdate': '2501021504', 'text': 'a stat:b'}
    """
    text = text[:_MAX_TEXT]
    found: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = re.sub(r"[ _]", "", match.group(1).lower())
        if key in found:
            continue  # the first one counts; a repeat is most likely inside the text excerpt
        if key == "text":
            found[key] = text[match.end() :].strip()
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found[key] = text[match.end() : end].strip()
    return found


def parse_date(value: str) -> datetime | None:
    """A receipt date: the format is chosen by the number of digits (10 or 12), else None.

    ``strptime`` with the 12-digit format silently misreads a 10-digit date, hence the choice.

    >>> parse_date("2501021504"), parse_date("250102150407").second, parse_date("2513021504")
    (datetime.datetime(2025, 1, 2, 15, 4), 7, None)
    """
    digits = value.strip()
    fmt = _DATE_FORMATS.get(len(digits))
    if fmt is None or not digits.isdigit() or not digits.isascii():
        return None
    try:
        return datetime.strptime(digits, fmt)
    except ValueError:
        return None


def _tlv_id(tlvs: Mapping[int, bytes]) -> str | None:
    value = tlvs.get(TLV_RECEIPTED_MESSAGE_ID)
    if value is None:
        return None
    text = value.split(b"\x00", 1)[0].decode("latin-1").strip()  # a C-octet string
    return text if text and text.isprintable() else None


def _tlv_state(tlvs: Mapping[int, bytes]) -> ReceiptStatus | None:
    value = tlvs.get(TLV_MESSAGE_STATE)
    if not value:
        return None
    return MESSAGE_STATES.get(value[-1])


def _tlv_error(tlvs: Mapping[int, bytes]) -> str | None:
    value = tlvs.get(TLV_NETWORK_ERROR_CODE)
    if value is None or len(value) != 3:
        return None
    return f"{value[0]}:{int.from_bytes(value[1:], 'big')}"  # network type : its error code


def _first_word(value: str) -> str:
    words = value.split()
    return words[0] if words and words[0].isprintable() else ""


def parse_receipt(
    short_message: bytes, tlvs: Mapping[int, bytes] | None = None, data_coding: int = 0
) -> ParsedReceipt | None:
    """Parse one delivery receipt; ``None`` if it has no usable id or status. Never raises."""
    tlvs = tlvs or {}
    fields = fields_of(text_of(short_message, data_coding))
    message_id = _tlv_id(tlvs) or _first_word(fields.get("id", ""))
    status = _tlv_state(tlvs) or STATS.get(_first_word(fields.get("stat", "")).upper())
    if not message_id or status is None:
        return None
    error_code = None
    if status is not ReceiptStatus.DELIVERED:
        error_code = _first_word(fields.get("err", "")) or _tlv_error(tlvs)
    return ParsedReceipt(
        message_id=message_id,
        status=status,
        error_code=error_code,
        submitted_at=parse_date(fields.get("submitdate", "")),
        done_at=parse_date(fields.get("donedate", "")),
        fields=fields,
    )
