"""Destination resolution: an E.164 number to its country and operator.

The order of evidence: a portability lookup (who serves the number now), else the range holder
phonenumbers reports, mapped through the operator table, else an unknown operator (``None``).
Every bad input comes out as InvalidNumberError with a precise reason; phonenumbers' own errors
are mapped here and go no further.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult, carrier

from engine.destinations.operators import OperatorTable
from engine.destinations.portability import NoPortability, PortabilityLookup
from engine.domain import Destination
from engine.errors import InvalidNumberError

E164_MAX_DIGITS = 15

# FIXED_LINE_OR_MOBILE is how phonenumbers types every NANP number (US, CA, ...) and some
# others (IN, MX): the ranges are shared, so these must stay routable.
_MOBILE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
}

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short for country code +{cc}",
    ValidationResult.TOO_LONG: "too long for country code +{cc}",
    ValidationResult.INVALID_LENGTH: "wrong length for country code +{cc}",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local-only number for country code +{cc}",
}


@dataclass(frozen=True, slots=True)
class _Range:
    """What the number itself says, before portability: stable, hence cacheable."""

    e164: str
    # Where the number goes unless it was ported: its country and type, and the range holder's
    # MCC-MNC as operator when the operator table knows the holder.
    destination: Destination


class DestinationResolver:
    """Resolves E.164 numbers (``"+2348021234567"``) to a Destination.

    Only the phonenumbers work is cached (``cache_size`` numbers, LRU): it is pure and the same
    numbers repeat. The portability lookup runs on every call so that its own freshness rules
    (an HLR cache with a TTL, say) stay in charge.
    """

    def __init__(
        self,
        operators: OperatorTable,
        portability: PortabilityLookup | None = None,
        *,
        cache_size: int = 100_000,
    ) -> None:
        self.operators = operators
        self.portability: PortabilityLookup = NoPortability() if portability is None else portability
        self.cache_size = cache_size
        # Keeps every compiled metadata regex (6-10x faster on a global mix); only in newer
        # phonenumbers releases.
        if hasattr(phonenumbers, "enable_pattern_cache"):
            phonenumbers.enable_pattern_cache()
        self._range = functools.lru_cache(maxsize=cache_size)(self._read_range)
        # One Destination per distinct value (a few per country): a batch's messages then share
        # theirs, and a pickle of the batch (the router call) holds each one once.
        self._destinations: dict[Destination, Destination] = {}

    def resolve(self, number: str) -> Destination:
        """Country and operator of a mobile number; InvalidNumberError for anything else."""
        found = self._range(number)
        ported = self.portability.lookup(found.e164)
        if not ported:
            return found.destination
        return Destination(found.destination.country, ported, found.destination.number_type)

    def _read_range(self, number: str) -> _Range:
        _check_syntax(number)
        try:
            parsed = phonenumbers.parse(number, None)
        except NumberParseException as exc:
            reason = _PARSE_REASONS.get(exc.error_type, "cannot be parsed")
            raise InvalidNumberError(number, reason) from None
        cc = parsed.country_code
        if not phonenumbers.is_valid_number(parsed):
            why = phonenumbers.is_possible_number_with_reason(parsed)
            reason = _LENGTH_REASONS.get(why, "no such number range for country code +{cc}")
            raise InvalidNumberError(number, reason.format(cc=cc))
        country = phonenumbers.region_code_for_number(parsed)
        if country is None or country == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            raise InvalidNumberError(number, f"non-geographic number (+{cc}), not a country")
        number_type = _MOBILE_TYPES.get(phonenumbers.number_type(parsed))
        if number_type is None:
            raise InvalidNumberError(number, "not a mobile number")
        holder_name = carrier.name_for_number(parsed, "en")
        holder = self.operators.by_carrier(country, holder_name) if holder_name else None
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        destination = Destination(country, holder.mcc_mnc if holder else None, number_type)
        return _Range(e164, self._destinations.setdefault(destination, destination))


def _check_syntax(number: str) -> None:
    """E.164 as sent over the wire: "+" then 1 to 15 ASCII digits, nothing else."""
    if not number:
        raise InvalidNumberError(number, "empty")
    if not number.startswith("+"):
        raise InvalidNumberError(number, "must start with '+' (E.164 international format)")
    digits = number[1:]
    if not digits:
        raise InvalidNumberError(number, "no digits after '+'")
    # isdigit() alone would let through Arabic-Indic and other Unicode digits.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidNumberError(number, "only the digits 0-9 may follow '+'")
    if len(digits) > E164_MAX_DIGITS:
        problem = f"{len(digits)} digits; E.164 allows at most {E164_MAX_DIGITS}"
        raise InvalidNumberError(number, problem)
