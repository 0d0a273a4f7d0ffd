"""GSM-7 / UCS-2 detection and splitting of a message into SMS parts.

Lengths are counted the way the network bills them: GSM-7 in septets (an extension-table
character such as ``€`` or ``{`` is an escape pair and costs 2), UCS-2 in UTF-16 code units (a
character outside the BMP, such as most emoji, is a surrogate pair and costs 2). A part never
ends in the middle of a pair: the splitters in smpplib and aiosmpplib get this wrong.

>>> s = split("a" * 152 + "€" + "b" * 10)  # 164 septets: over 160, so parts of 153
>>> s.encoding, s.count, s.units, s.parts[1]
(<Encoding.GSM7: 'gsm7'>, 2, 164, '€bbbbbbbbbb')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gsm0338  # noqa: F401  # registers the "gsm03.38" codec

from engine.domain import Encoding

# Single-part limit, then per-part limit once the 6-byte concatenation UDH takes its room.
GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67


@dataclass(frozen=True, slots=True)
class Segmentation:
    """How a text goes on the air: its encoding, its parts and its total length in units.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2. Joining ``parts`` gives the
    original text back.
    """

    encoding: Encoding
    parts: tuple[str, ...]
    units: int

    @property
    def count(self) -> int:
        """Number of SMS parts (what is billed)."""
        return len(self.parts)


@functools.lru_cache(maxsize=4096)
def _gsm_cost(char: str) -> int | None:
    """Septets one character takes in GSM-7, or None if it has no exact GSM-7 form."""
    try:
        encoded = char.encode("gsm03.38")
        # Strict round trip: the codec encodes a bare ESC (U+001B) but decodes it to nothing.
        if encoded.decode("gsm03.38") != char:
            return None
    except UnicodeError:
        return None
    return len(encoded)


@functools.cache
def _alphabet() -> tuple[frozenset[str], frozenset[str]]:
    """GSM-7's characters (basic and extension tables) and those of them that cost two septets.

    Every character the codec can produce comes from decoding one byte or an escape pair, so these
    are all of them; each is kept only if :func:`_gsm_cost` accepts it, so the fast paths below and
    the exact per-character rule never disagree. Set operations run in C: a text is checked and
    measured without a Python call per character.
    """
    candidates: set[str] = set()
    for raw in [bytes([b]) for b in range(128)] + [bytes([0x1B, b]) for b in range(128)]:
        try:
            candidates.add(raw.decode("gsm03.38"))
        except UnicodeError:
            continue
    costs = {c: _gsm_cost(c) for c in candidates if len(c) == 1}
    return frozenset(c for c, n in costs.items() if n), frozenset(c for c, n in costs.items() if n == 2)


def _utf16_cost(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def encoding_for(text: str) -> Encoding:
    """GSM7 if every character has an exact GSM 03.38 form (basic or extension table), else UCS2.

    >>> encoding_for("Code: 1234 {ok}"), encoding_for("Код: 1234")
    (<Encoding.GSM7: 'gsm7'>, <Encoding.UCS2: 'ucs2'>)
    """
    return Encoding.GSM7 if _alphabet()[0].issuperset(text) else Encoding.UCS2


def septet_length(text: str) -> int:
    """GSM-7 length in septets; extension-table characters cost 2.

    Raises ValueError if the text is not GSM-7 (use ``encoding_for`` first).

    >>> septet_length("[1€]")
    7
    """
    total = 0
    for index, char in enumerate(text):
        cost = _gsm_cost(char)
        if cost is None:
            raise ValueError(f"character {char!r} at index {index} is not in the GSM-7 alphabet")
        total += cost
    return total


def split(text: str) -> Segmentation:
    """Split a text into SMS parts, filling each part greedily without breaking a pair.

    The empty text is one empty part: an empty SMS is still one message on the air.

    >>> split("").parts, split("").count
    (('',), 1)
    """
    encoding = encoding_for(text)
    if encoding is Encoding.GSM7:
        extended = _alphabet()[1]
        units = len(text) + sum(text.count(c) for c in extended.intersection(text))
        if units <= GSM7_SINGLE:  # most texts: one part, measured without a loop per character
            return Segmentation(encoding, (text,), units)
        costs = [_gsm_cost(char) or 0 for char in text]  # all known: encoding_for checked them
        return Segmentation(encoding, _fill(text, costs, GSM7_PART), units)
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units <= UCS2_SINGLE:
        return Segmentation(encoding, (text,), units)
    costs = [_utf16_cost(char) for char in text]
    return Segmentation(encoding, _fill(text, costs, UCS2_PART), units)


def _fill(text: str, costs: list[int], limit: int) -> tuple[str, ...]:
    # Characters are indivisible, so a 2-unit character that does not fit starts the next part.
    parts: list[str] = []
    start = used = 0
    for index, cost in enumerate(costs):
        if used + cost > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return tuple(parts)


def part_count(text: str) -> int:
    """``split(text).count``, without building the parts when the answer is plainly one.

    Up to 70 ASCII characters always fit one part: 70 UTF-16 units in UCS-2, at most 140 septets in
    GSM-7 even if every one is an escape pair. OTP and most transactional texts take this path.

    >>> part_count("Your code is 123456"), part_count("x" * 161)
    (1, 2)
    """
    if len(text) <= UCS2_SINGLE and text.isascii():
        return 1
    return split(text).count
