"""Provider message ids as SMSCs actually return them.

Some SMSCs give the id in hex in submit_sm_resp and in decimal in the receipt (or the other way
round), pad it with leading zeros in one place only, or change its case. A receipt is found by
indexing every submitted id under all its *forms* and looking the receipt's id up under its own.

The rule, for an id made only of hex digits (after trimming whitespace):

1. canonical form: leading zeros stripped (``"0"`` if nothing is left), upper case;
2. plus the decimal value of the canonical form read as hex (every such id parses as hex);
3. plus, when the canonical form is all decimal digits, its value written in upper-case hex.

Steps 2 and 3 apply only up to 65 characters (SMPP's longest message_id), which also keeps a hostile
id from costing a huge base conversion.
Forms come canonical first, without repeats. Any other id (UUIDs, base64 tokens of HTTP
aggregators) is opaque: case may matter there, so it is its only form, as given. A blank id has
no form. An id that reads as a number in both bases (``"16"``) has forms that may meet another
message's forms (``"10"``): prefer a canonical match, as :func:`engine.dlr.correlate` does for the
parts of one message.

>>> id_forms("0001A2")
('1A2', '418')
>>> id_forms("418")
('418', '1048', '1A2')
>>> id_forms("a1b2c3d4-0000")
('a1b2c3d4-0000',)
"""

from __future__ import annotations

import functools
from string import digits, hexdigits

_HEX = frozenset(hexdigits)
_DEC = frozenset(digits)
_MAX_NUMERIC = 65


@functools.lru_cache(maxsize=1 << 16)  # each id is formed at submit, at lookup and at correlation
def id_forms(provider_id: str) -> tuple[str, ...]:
    """Every form under which ``provider_id`` is indexed and looked up, canonical first."""
    text = provider_id.strip()
    if not text:
        return ()
    if not _HEX.issuperset(text):
        return (text,)
    canonical = text.lstrip("0").upper() or "0"
    if len(canonical) > _MAX_NUMERIC:
        return (canonical,)
    forms = [canonical, str(int(canonical, 16))]
    if _DEC.issuperset(canonical):
        forms.append(format(int(canonical), "X"))
    return tuple(dict.fromkeys(forms))


def canonical_id(provider_id: str) -> str:
    """The first form of ``provider_id`` ('' for a blank id).

    >>> canonical_id(" 00ff ")
    'FF'
    """
    text = provider_id.strip()  # as id_forms, without working out the other forms: the index
    if not text or not _HEX.issuperset(text):  # stores this one for every message sent
        return text
    return text.lstrip("0").upper() or "0"
