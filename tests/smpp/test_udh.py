"""Parts on the wire, byte for byte: encoding, data_coding, UDHI and the concatenation UDH."""

from __future__ import annotations

import doctest

import pytest

import adapters.smpp.udh
from adapters.smpp.udh import DCS_GSM7, DCS_UCS2, ESM_UDHI, Part, concat_udh, encode


def test_a_short_gsm_message_is_one_part_without_udh() -> None:
    assert encode("Hello @ {1}", 9) == (Part(b"Hello \x00 \x1b(1\x1b)", DCS_GSM7, 0),)


def test_160_septets_fit_one_part_161_make_two() -> None:
    assert len(encode("a" * 160, 1)) == 1
    first, second = encode("a" * 161, 0x7F)
    assert first == Part(bytes.fromhex("0500037f0201") + b"a" * 153, DCS_GSM7, ESM_UDHI)
    assert second == Part(bytes.fromhex("0500037f0202") + b"a" * 8, DCS_GSM7, ESM_UDHI)


def test_an_escape_pair_never_straddles_a_part_boundary() -> None:
    # 152 septets, then "€" (ESC 0x65: 2 septets) does not fit in the 153 of part 1: it opens part 2.
    first, second = encode("a" * 152 + "€" + "b" * 10, 3)
    assert first.short_message == bytes.fromhex("050003030201") + b"a" * 152
    assert second.short_message == bytes.fromhex("050003030202") + b"\x1b\x65" + b"b" * 10
    # One septet earlier, the pair fits exactly: 151 + 2 = 153.
    first, second = encode("a" * 151 + "€" + "b" * 10, 3)
    assert first.short_message == bytes.fromhex("050003030201") + b"a" * 151 + b"\x1b\x65"
    assert second.short_message == bytes.fromhex("050003030202") + b"b" * 10


def test_ucs2_is_utf16_be_and_a_surrogate_pair_never_straddles_a_boundary() -> None:
    # 66 units, then an emoji (2 units) does not fit in the 67 of part 1.
    first, second = encode("Ж" * 66 + "😀" + "ж" * 5, 0xA0)  # 73 units: over 70, so parts of 67
    assert first == Part(bytes.fromhex("050003a00201") + "Ж".encode("utf-16-be") * 66, DCS_UCS2, ESM_UDHI)
    emoji, zhe = bytes.fromhex("d83dde00"), bytes.fromhex("0436")  # a surrogate pair, then "ж"
    assert second.short_message == bytes.fromhex("050003a00202") + emoji + zhe * 5
    assert (second.data_coding, second.esm_class) == (DCS_UCS2, ESM_UDHI)


def test_a_short_ucs2_message_and_the_70_unit_limit() -> None:
    assert encode("Код 1234", 0) == (Part("Код 1234".encode("utf-16-be"), DCS_UCS2, 0),)
    assert len(encode("Ж" * 70, 0)) == 1
    assert len(encode("Ж" * 71, 0)) == 2


def test_parts_rejoin_to_the_body_and_never_exceed_254_octets() -> None:
    body = ("Grüße {€} " * 40) + "😀" * 30
    parts = encode(body, 200)
    assert len({p.short_message[:5] for p in parts}) == 1  # same UDH head: same reference and total
    assert [p.short_message[5] for p in parts] == list(range(1, len(parts) + 1))
    text = b"".join(p.short_message[6:] for p in parts).decode("utf-16-be")
    assert text == body
    assert max(len(p.short_message) for p in parts) <= 140


def test_the_reference_is_taken_modulo_256_and_16_bit_is_for_ucs2_only() -> None:
    assert encode("a" * 200, 0x1FF)[0].short_message[:6] == bytes.fromhex("050003ff0201")
    ucs2 = encode("Ж" * 100, 0x1234, sixteen_bit=True)
    assert ucs2[0].short_message[:7] == bytes.fromhex("06080412340201")
    assert max(len(p.short_message) for p in ucs2) == 7 + 134
    gsm = encode("a" * 200, 0x1234, sixteen_bit=True)  # no spare septet in GSM-7: 8-bit reference
    assert gsm[0].short_message[:6] == bytes.fromhex("050003340201")


def test_more_than_255_parts_is_refused() -> None:
    assert len(encode("a" * 153 * 255, 0)) == 255
    with pytest.raises(ValueError, match="255"):
        encode("a" * (153 * 255 + 1), 0)
    with pytest.raises(ValueError, match="numbered"):
        concat_udh(1, 3, 4)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(adapters.smpp.udh)
    assert result.attempted > 0
    assert result.failed == 0
