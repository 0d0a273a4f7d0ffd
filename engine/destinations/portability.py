"""Number portability: which operator serves a number now, after any porting.

phonenumbers only knows the range holder; in markets with MNP a share of numbers has moved. Real
answers come from paid HLR / MNP lookups, plugged in behind this one-method interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class PortabilityLookup(Protocol):
    """Answers with the MCC-MNC serving an E.164 number, or None when it does not know."""

    def lookup(self, e164: str) -> str | None: ...


class NoPortability:
    """The default: knows nothing, so the range holder stands."""

    def lookup(self, e164: str) -> str | None:
        return None


class StaticPortability:
    """A fixed mapping of E.164 number to MCC-MNC, for tests and ported-number lists in config.

    >>> StaticPortability({"+2348021234567": "621-30"}).lookup("+2348021234567")
    '621-30'
    """

    def __init__(self, ported: Mapping[str, str]) -> None:
        self._ported = dict(ported)

    def lookup(self, e164: str) -> str | None:
        return self._ported.get(e164)
