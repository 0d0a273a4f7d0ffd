"""GSM-7 / UCS-2 detection and segment splitting."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine.text.segments
from engine.domain import Encoding
from engine.text import Segmentation, encoding_for, part_count, septet_length, split

# GSM 03.38 written out independently of the codec, so the tests check the codec use too.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
NOT_GSM = "жç`ÀαÈ😀\x1b\x00\xa0中"


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def reference_septets(text: str) -> int:
    return sum(2 if char in GSM_EXTENSION else 1 for char in text)


def check_invariants(seg: Segmentation, text: str) -> None:
    assert "".join(seg.parts) == text
    measure = reference_septets if seg.encoding is Encoding.GSM7 else utf16_units
    single, per_part = (160, 153) if seg.encoding is Encoding.GSM7 else (70, 67)
    assert seg.units == measure(text)
    assert (seg.count == 1) == (seg.units <= single)
    if seg.count > 1:
        assert all(0 < measure(part) <= per_part for part in seg.parts)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(engine.text.segments)
    assert result.attempted > 0
    assert result.failed == 0


def test_alphabet_matches_the_standard() -> None:
    assert len(GSM_BASIC) == 127  # 128 code points minus the escape
    assert encoding_for(GSM_BASIC + GSM_EXTENSION) is Encoding.GSM7
    for char in NOT_GSM:
        assert encoding_for("abc" + char) is Encoding.UCS2, repr(char)


def test_bare_escape_is_not_gsm() -> None:
    # The codec encodes U+001B but decodes it to nothing: not a round trip, so not GSM.
    assert encoding_for("a\x1b") is Encoding.UCS2
    with pytest.raises(ValueError, match="index 1"):
        septet_length("a\x1b")


def test_septet_length_counts_escape_pairs() -> None:
    assert septet_length("") == 0
    assert septet_length("abc") == 3
    assert septet_length(GSM_EXTENSION) == 20
    assert septet_length("Price: 5€ {x}") == 16


def test_septet_length_rejects_non_gsm() -> None:
    with pytest.raises(ValueError, match="'ж'"):
        septet_length("abж")


def test_empty_text_is_one_empty_part() -> None:
    seg = split("")
    assert (seg.encoding, seg.parts, seg.units, seg.count) == (Encoding.GSM7, ("",), 0, 1)


def test_160_gsm_chars_fit_one_part() -> None:
    assert split("a" * 160).count == 1


def test_161_gsm_chars_need_two_parts() -> None:
    seg = split("a" * 161)
    assert seg.parts == ("a" * 153, "a" * 8)


def test_escape_pair_fits_single_part_up_to_160() -> None:
    seg = split("a" * 158 + "€")
    assert (seg.count, seg.units) == (1, 160)
    assert split("a" * 159 + "€").count == 2


def test_euro_at_part_boundary_is_not_split() -> None:
    # 152 septets + € would be 154 > 153: the euro moves whole to part two.
    seg = split("a" * 152 + "€" + "b" * 10)
    assert seg.parts == ("a" * 152, "€" + "b" * 10)
    assert septet_length(seg.parts[0]) == 152


def test_70_cyrillic_chars_fit_one_part() -> None:
    seg = split("ж" * 70)
    assert (seg.encoding, seg.count) == (Encoding.UCS2, 1)


def test_71_cyrillic_chars_need_two_parts() -> None:
    assert split("ж" * 71).parts == ("ж" * 67, "ж" * 4)


def test_emoji_at_position_66_goes_whole_to_part_two() -> None:
    text = "ж" * 66 + "😀" + "ж" * 10
    seg = split(text)
    assert seg.parts == ("ж" * 66, "😀" + "ж" * 10)
    assert seg.units == 78


def test_one_non_gsm_char_makes_the_whole_text_ucs2() -> None:
    seg = split("a" * 100 + "ç")
    assert seg.encoding is Encoding.UCS2
    assert seg.count == 2  # 101 UTF-16 units: GSM-7 would have fit in one part


gsm_chars = st.sampled_from(GSM_BASIC + GSM_EXTENSION)
escapes = st.text(st.sampled_from(GSM_EXTENSION), min_size=1, max_size=4)


@st.composite
def gsm_texts(draw: st.DrawFn) -> str:
    """GSM text, often with escape pairs placed right around the 153 and 160 boundaries."""
    text = draw(st.text(gsm_chars, max_size=500))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.sampled_from([151, 152, 153, 159, 160, 305, 306]))
        text = "a" * max(0, at - len(text)) + text
        text = text[:at] + draw(escapes) + text[at:]
    return text


@st.composite
def ucs2_texts(draw: st.DrawFn) -> str:
    """Non-GSM text, often with surrogate pairs placed right around the 67 and 70 boundaries."""
    wide = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)
    pairs = st.text(wide, min_size=1, max_size=3)
    text = "ж" + draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.sampled_from([65, 66, 67, 69, 70, 133, 134]))
        text = "ж" * max(0, at - len(text)) + text
        text = text[:at] + draw(pairs) + text[at:]
    return text


@given(gsm_texts())
def test_gsm_split_invariants(text: str) -> None:
    seg = split(text)
    assert seg.encoding is Encoding.GSM7
    check_invariants(seg, text)


@given(ucs2_texts())
def test_ucs2_split_invariants(text: str) -> None:
    seg = split(text)
    assert seg.encoding is Encoding.UCS2
    check_invariants(seg, text)


@given(st.text())
def test_any_text_splits_losslessly(text: str) -> None:
    check_invariants(split(text), text)


@given(st.text(max_size=400) | st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_part_count_agrees_with_split(text: str) -> None:
    assert part_count(text) == split(text).count
