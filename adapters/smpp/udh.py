"""A message body as submit_sm parts: encoding, data_coding, and the concatenation UDH.

Splitting is :func:`engine.text.segments.split`'s (septets for GSM-7, UTF-16 units for UCS-2, never
an escape or surrogate pair across parts). Here each part is encoded the way SMPP carries it:

- GSM-7 unpacked, one octet per septet (the SMSC packs it for the air), ``data_coding`` 0x00;
- UCS-2 as UTF-16-BE, ``data_coding`` 0x08;
- a long message gets the 6-octet concatenation UDH (IE 0x00, 8-bit reference) in front of each
  part, and ``esm_class`` has the UDHI bit (0x40) set. The 16-bit reference IE (0x08, 7 octets) is
  available for SMSCs that want it; it leaves one septet less per part than the splitter assumes,
  so it is only used for UCS-2, where the spare octet exists (67 units = 134 octets + 7 <= 140).

>>> [p.short_message.hex() for p in encode("hi", 0)]
['6869']
>>> first = encode("x" * 161, 0x2A)[0]
>>> first.short_message[:6].hex(), first.data_coding, hex(first.esm_class), len(first.short_message)
('0500032a0201', 0, '0x40', 159)
"""

from __future__ import annotations

from dataclasses import dataclass

import gsm0338  # noqa: F401  # registers the "gsm03.38" codec

from engine.domain.enums import Encoding
from engine.text.segments import split

DCS_GSM7 = 0x00
DCS_UCS2 = 0x08
ESM_UDHI = 0x40
IE_CONCAT_8BIT = 0x00
IE_CONCAT_16BIT = 0x08
MAX_PARTS = 255  # the UDH counts parts in one octet
SHORT_MESSAGE_MAX = 254  # octets in short_message; smpp34 panics above it


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's worth of a message."""

    short_message: bytes
    data_coding: int
    esm_class: int


def concat_udh(reference: int, total: int, seq: int, *, sixteen_bit: bool = False) -> bytes:
    """The concatenation UDH, its length octet (UDHL) included.

    >>> concat_udh(0x2A, 3, 1).hex(), concat_udh(0x1234, 3, 1, sixteen_bit=True).hex()
    ('0500032a0301', '06080412340301')
    """
    if not 1 <= seq <= total <= MAX_PARTS:
        raise ValueError(f"part {seq} of {total}: parts are numbered 1..{MAX_PARTS}")
    if sixteen_bit:
        return bytes([0x06, IE_CONCAT_16BIT, 0x04, (reference >> 8) & 0xFF, reference & 0xFF, total, seq])
    return bytes([0x05, IE_CONCAT_8BIT, 0x03, reference & 0xFF, total, seq])


def encode(body: str, reference: int, *, sixteen_bit: bool = False) -> tuple[Part, ...]:
    """The parts of ``body``; ``reference`` ties a long message's parts together on the handset.

    Raises ValueError for a body of more than 255 parts.
    """
    segmentation = split(body)
    gsm = segmentation.encoding is Encoding.GSM7
    dcs = DCS_GSM7 if gsm else DCS_UCS2
    codec = "gsm03.38" if gsm else "utf-16-be"
    payloads = [part.encode(codec) for part in segmentation.parts]
    if len(payloads) == 1:
        return (Part(payloads[0], dcs, 0),)
    if len(payloads) > MAX_PARTS:
        raise ValueError(f"message of {len(payloads)} parts; at most {MAX_PARTS} can be concatenated")
    wide = sixteen_bit and not gsm
    total = len(payloads)
    return tuple(
        Part(concat_udh(reference, total, seq, sixteen_bit=wide) + payload, dcs, ESM_UDHI)
        for seq, payload in enumerate(payloads, start=1)
    )
