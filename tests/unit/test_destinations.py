"""Destination resolution: E.164 number to country and operator."""

from __future__ import annotations

import doctest
from importlib import resources
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

import engine.destinations.operators
import engine.destinations.portability
from engine.destinations import (
    DestinationResolver,
    Operator,
    OperatorTable,
    StaticPortability,
)
from engine.domain import Destination
from engine.errors import ConfigError, InvalidNumberError

TABLE_COUNTRIES = ["NG", "KE", "IN", "BR", "US", "GB", "DE", "FR", "ID", "PH", "MX", "ZA", "EG"]
TABLE_COUNTRIES += ["PK", "BD"]
# Regions whose example mobile number has a range holder phonenumbers can name.
NAMED_HOLDER = ["NG", "KE", "IN", "GB", "DE", "FR", "ID", "PH", "ZA", "EG", "PK", "BD"]


def example(region: str, kind: int = PhoneNumberType.MOBILE) -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@pytest.fixture(scope="module")
def table() -> OperatorTable:
    return OperatorTable.bundled()


@pytest.fixture(scope="module")
def resolver(table: OperatorTable) -> DestinationResolver:
    return DestinationResolver(table)


def test_docstring_examples_run() -> None:
    for module in (engine.destinations.operators, engine.destinations.portability):
        result = doctest.testmod(module)
        assert (result.attempted > 0, result.failed) == (True, 0), module.__name__


def test_bundled_csv_ships_as_package_data() -> None:
    path = resources.files("engine") / "data" / "operators.csv"
    assert path.read_text(encoding="utf-8").startswith("mcc_mnc,country,name,carrier_names\n")


def test_bundled_table_covers_the_main_markets(table: OperatorTable) -> None:
    assert len(table) >= 40
    assert {op.country for op in table} >= set(TABLE_COUNTRIES)
    airtel = table.get("621-20")
    assert airtel == Operator("621-20", "NG", "Airtel Nigeria", ("Airtel",))
    assert "405-025" in table  # three-digit MNC, leading zero kept


def test_same_brand_is_a_different_operator_per_country(table: OperatorTable) -> None:
    ng, ke = table.by_carrier("NG", "Airtel"), table.by_carrier("KE", "Airtel")
    assert (ng and ng.mcc_mnc, ke and ke.mcc_mnc) == ("621-20", "639-03")
    assert table.by_carrier("US", "Airtel") is None


@pytest.mark.parametrize("region", [*TABLE_COUNTRIES, "CN", "JP", "AU"])
def test_real_mobile_numbers_resolve_to_their_country(resolver: DestinationResolver, region: str) -> None:
    destination = resolver.resolve(example(region))
    assert destination.country == region
    assert destination.number_type in {"mobile", "fixed_line_or_mobile"}


@pytest.mark.parametrize("region", NAMED_HOLDER)
def test_range_holder_maps_to_an_operator_of_that_country(
    resolver: DestinationResolver, table: OperatorTable, region: str
) -> None:
    operator = resolver.resolve(example(region)).operator
    assert operator is not None
    found = table.get(operator)
    assert found is not None
    assert found.country == region


@pytest.mark.parametrize(
    ("number", "operator"),
    [("+2348021234567", "621-20"), ("+254712123456", "639-02"), ("+447400123456", "234-20")],
)
def test_carrier_name_maps_to_mcc_mnc(resolver: DestinationResolver, number: str, operator: str) -> None:
    assert resolver.resolve(number).operator == operator


def test_unknown_holder_leaves_operator_unknown(resolver: DestinationResolver) -> None:
    destination = resolver.resolve(example("CN"))  # China Unicom: not in the bundled table
    assert (destination.operator, destination.key) == (None, "CN/*")


def test_nanp_numbers_are_routable(resolver: DestinationResolver) -> None:
    # phonenumbers cannot tell US mobile from fixed ranges; rejecting them would drop the US.
    assert resolver.resolve("+12015550123") == Destination("US", None, "fixed_line_or_mobile")


def test_portability_overrides_the_range_holder(table: OperatorTable) -> None:
    ported = StaticPortability({"+2348021234567": "621-30"})
    resolver = DestinationResolver(table, ported)
    assert resolver.resolve("+2348021234567").key == "NG/621-30"
    assert resolver.resolve("+2348021234568").operator == "621-20"  # others keep their holder


def test_portability_fills_in_an_unknown_holder(table: OperatorTable) -> None:
    resolver = DestinationResolver(table, StaticPortability({"+12015550123": "310-260"}))
    assert resolver.resolve("+12015550123").key == "US/310-260"


def test_numbers_of_one_range_holder_share_one_destination(table: OperatorTable) -> None:
    """So that a batch's pickle (the router call) holds each destination once."""
    resolver = DestinationResolver(table)
    first, second = resolver.resolve("+2348021234567"), resolver.resolve("+2348021234568")
    assert first is second
    assert first == Destination("NG", "621-20", "mobile")


class CountingPortability:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, e164: str) -> str | None:
        self.asked.append(e164)
        return None


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every number handed to phonenumbers.parse."""
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None) -> phonenumbers.PhoneNumber:
        calls.append(number)
        return real_parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    return calls


def test_phonenumbers_work_is_cached_but_portability_is_asked_every_time(
    table: OperatorTable, parses: list[str]
) -> None:
    portability = CountingPortability()
    resolver = DestinationResolver(table, portability)
    first, second = resolver.resolve("+254712123456"), resolver.resolve("+254712123456")
    assert first == second
    assert parses == ["+254712123456"]
    assert portability.asked == ["+254712123456", "+254712123456"]


def test_cache_is_bounded(table: OperatorTable, parses: list[str]) -> None:
    resolver = DestinationResolver(table, cache_size=1)
    for number in ["+254712123456", "+2348021234567", "+254712123456"]:
        resolver.resolve(number)
    assert len(parses) == 3  # the second number evicted the first


@pytest.mark.parametrize(("region"), ["GB", "DE", "NG", "FR"])
def test_fixed_line_is_not_a_mobile_number(resolver: DestinationResolver, region: str) -> None:
    number = example(region, PhoneNumberType.FIXED_LINE)
    with pytest.raises(InvalidNumberError) as caught:
        resolver.resolve(number)
    assert (caught.value.number, caught.value.reason) == (number, "not a mobile number")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "empty"),
        ("2348021234567", "must start with '+'"),
        ("+", "no digits after '+'"),
        ("+234 802 123 4567", "only the digits 0-9"),
        (" +2348021234567", "must start with '+'"),
        ("+2348021234567\n", "only the digits 0-9"),
        ("+\u0662\u0663\u0664\u0668\u0660\u0662\u0661\u0662\u0663\u0664\u0665", "only the digits"),
        ("+1234567890123456", "16 digits; E.164 allows at most 15"),
        ("+1", "not a phone number"),
        ("+999123456789", "unknown country calling code"),
        ("+2348021", "too short for country code +234"),
        ("+254712123456789", "too long for country code +254"),
        ("+870301234567", "non-geographic number (+870)"),
    ],
)
def test_garbage_is_rejected_with_a_precise_reason(
    resolver: DestinationResolver, number: str, reason: str
) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        resolver.resolve(number)
    assert caught.value.number == number
    assert reason in caught.value.reason


def check_total(resolver: DestinationResolver, number: str) -> None:
    outcome: Destination | InvalidNumberError
    try:
        outcome = resolver.resolve(number)
    except InvalidNumberError as exc:
        outcome = exc
    if isinstance(outcome, InvalidNumberError):
        assert (outcome.number, bool(outcome.reason)) == (number, True)
    else:
        assert len(outcome.country) == 2


@given(st.text())
def test_any_text_gives_a_destination_or_invalid_number(resolver: DestinationResolver, number: str) -> None:
    check_total(resolver, number)


@given(st.from_regex(r"\+[0-9]{0,17}", fullmatch=True))
def test_any_plus_digits_gives_a_destination_or_invalid_number(
    resolver: DestinationResolver, number: str
) -> None:
    check_total(resolver, number)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "operators.csv"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "mcc_mnc,country,name,carrier_names\n"
GOOD_ROW = "621-20,NG,Airtel Nigeria,Airtel\n"


def test_user_table_loads(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + GOOD_ROW + '\n639-02,KE,"Safaricom, PLC",Safaricom | Saf\n')
    table = OperatorTable.from_csv(path)
    assert len(table) == 2
    safaricom = table.by_carrier("KE", " SAF ")
    assert safaricom == Operator("639-02", "KE", "Safaricom, PLC", ("Safaricom", "Saf"))


def test_carrier_names_column_is_optional(tmp_path: Path) -> None:
    table = OperatorTable.from_csv(write(tmp_path, "mcc_mnc,country,name\n621-20,NG,Airtel\n"))
    assert table.get("621-20") == Operator("621-20", "NG", "Airtel")


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("", "header", "empty file"),
        ("mcc_mnc,country\n621-20,NG\n", "header", "missing ['name']"),
        (HEADER.replace("carrier_names", "carrier_name"), "header", "unknown ['carrier_name']"),
        (HEADER + GOOD_ROW + "62120,NG,MTN,\n", "line 3, mcc_mnc", "'62120' is not an MCC-MNC"),
        (HEADER + "621-30,UK,MTN,\n", "line 2, country", "'UK' is not an ISO 3166"),
        (HEADER + "621-30,NG, ,\n", "line 2, name", "empty operator name"),
        (HEADER + "621-30,NG,MTN,MTN||M\n", "line 2, carrier_names", "empty name"),
        (HEADER + "621-30,NG\n", "line 2, name", "row too short"),
        (HEADER + "621-30,NG,MTN,MTN,extra\n", "line 2", "more fields than header"),
        (HEADER + GOOD_ROW + "621-20,NG,Other,\n", "line 3, mcc_mnc", "duplicate operator"),
        (HEADER + GOOD_ROW + "621-30,NG,MTN,airtel\n", "line 3, carrier_names", "621-20"),
        (HEADER + GOOD_ROW + '621-30,NG,"MTN\n', "line 3", "malformed CSV"),
    ],
)
def test_bad_table_names_file_field_and_problem(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        OperatorTable.from_csv(path)
    assert (caught.value.source, caught.value.field) == (str(path), field)
    assert problem in caught.value.problem


def test_unreadable_table_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConfigError, match="cannot read operator table") as caught:
        OperatorTable.from_csv(missing)
    assert caught.value.source == str(missing)
    binary = tmp_path / "latin1.csv"
    binary.write_bytes(HEADER.encode() + "621-20,NG,Telefónica,\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="cannot read operator table"):
        OperatorTable.from_csv(binary)


def test_same_carrier_name_in_two_countries_is_fine(tmp_path: Path) -> None:
    table = OperatorTable.from_csv(write(tmp_path, HEADER + GOOD_ROW + "639-03,KE,Airtel,Airtel\n"))
    assert len(table) == 2


def test_table_built_in_code_rejects_duplicates() -> None:
    airtel = Operator("621-20", "NG", "Airtel Nigeria", ("Airtel",))
    with pytest.raises(ValueError, match="duplicate operator 621-20"):
        OperatorTable([airtel, airtel])
    with pytest.raises(ValueError, match="already names 621-20"):
        OperatorTable([airtel, Operator("621-30", "NG", "MTN", ("AIRTEL",))])
