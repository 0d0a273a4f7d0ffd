"""The operator table: MCC-MNC to operator, and the carrier names phonenumbers reports.

The CSV has the columns ``mcc_mnc,country,name`` and an optional ``carrier_names`` column:
``|``-separated names as ``phonenumbers.carrier.name_for_number(number, "en")`` reports them, so a
number's range holder can be turned into an operator id. Carrier names are per country because
the same brand ("Airtel", "Vodafone", "MTN") is a different operator in each market.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import phonenumbers

from engine.errors import ConfigError

_MCC_MNC = re.compile(r"[0-9]{3}-[0-9]{2,3}")
_REQUIRED = ("mcc_mnc", "country", "name")
_OPTIONAL = ("carrier_names",)
BUNDLED = "engine/data/operators.csv"


@dataclass(frozen=True, slots=True)
class Operator:
    """A mobile network: its MCC-MNC (``"621-20"``), country (ISO alpha-2) and display name."""

    mcc_mnc: str
    country: str
    name: str
    carrier_names: tuple[str, ...] = ()


class OperatorTable:
    """Operators by MCC-MNC, and by (country, carrier name) for range-holder lookups.

    >>> table = OperatorTable([Operator("621-20", "NG", "Airtel Nigeria", ("Airtel",))])
    >>> table.by_carrier("NG", "airtel").mcc_mnc, table.by_carrier("KE", "Airtel")
    ('621-20', None)
    """

    def __init__(self, operators: Iterable[Operator] = ()) -> None:
        self._by_id: dict[str, Operator] = {}
        self._by_carrier: dict[tuple[str, str], Operator] = {}
        for op in operators:
            self._add(op)

    @classmethod
    def bundled(cls) -> OperatorTable:
        """The table shipped in ``engine/data/operators.csv``."""
        text = (resources.files("engine") / "data" / "operators.csv").read_text(encoding="utf-8")
        return _parse(text.splitlines(keepends=True), BUNDLED)

    @classmethod
    def from_csv(cls, path: str | Path) -> OperatorTable:
        """Load a user table; any problem is a ConfigError naming the file, line and field."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(source, "", f"cannot read operator table: {exc}") from exc
        return _parse(text.splitlines(keepends=True), source)

    def get(self, mcc_mnc: str) -> Operator | None:
        return self._by_id.get(mcc_mnc)

    def by_carrier(self, country: str, carrier_name: str) -> Operator | None:
        """The operator whose range-holder name in ``country`` is ``carrier_name`` (any case)."""
        return self._by_carrier.get((country, _fold(carrier_name)))

    def __contains__(self, mcc_mnc: object) -> bool:
        return mcc_mnc in self._by_id

    def __iter__(self) -> Iterator[Operator]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def _add(self, op: Operator) -> None:
        if op.mcc_mnc in self._by_id:
            raise _ConflictError("mcc_mnc", f"duplicate operator {op.mcc_mnc}")
        keys = [(op.country, _fold(carrier)) for carrier in op.carrier_names]
        for key in keys:
            if key in self._by_carrier:
                other = self._by_carrier[key].mcc_mnc
                problem = f"carrier {key[1]!r} in {op.country} already names {other}"
                raise _ConflictError("carrier_names", problem)
        self._by_id[op.mcc_mnc] = op
        self._by_carrier.update(dict.fromkeys(keys, op))


class _ConflictError(ValueError):
    """An operator that clashes with one already in the table."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _parse(lines: Iterable[str], source: str) -> OperatorTable:
    table = OperatorTable()
    reader = csv.DictReader(lines, strict=True)
    try:
        _check_header(reader.fieldnames, source)
        for row in reader:
            where = f"line {reader.line_num}"
            try:
                table._add(_operator(row, where, source))
            except _ConflictError as exc:
                raise ConfigError(source, f"{where}, {exc.field}", exc.problem) from None
    except csv.Error as exc:
        # DictReader.line_num is only updated after a good row; its inner reader is current.
        where = f"line {reader.reader.line_num}"
        raise ConfigError(source, where, f"malformed CSV: {exc}") from exc
    return table


def _check_header(names: Sequence[str] | None, source: str) -> None:
    if not names:
        raise ConfigError(source, "header", "empty file; expected a header row")
    missing = [c for c in _REQUIRED if c not in names]
    unknown = [c for c in names if c not in _REQUIRED + _OPTIONAL]
    if missing or unknown:
        expected = ",".join(_REQUIRED + _OPTIONAL)
        found = f"missing {missing}" if missing else f"unknown {unknown}"
        raise ConfigError(source, "header", f"{found}; expected columns {expected}")


def _operator(row: dict[str | None, str | None], where: str, source: str) -> Operator:
    if None in row:
        raise ConfigError(source, where, "more fields than header columns")
    values: dict[str, str] = {}
    for column, value in row.items():
        if value is None:
            raise ConfigError(source, f"{where}, {column}", "missing (row too short)")
        values[str(column)] = value.strip()

    mcc_mnc, country, name = values["mcc_mnc"], values["country"], values["name"]
    if not _MCC_MNC.fullmatch(mcc_mnc):
        problem = f"{mcc_mnc!r} is not an MCC-MNC like 621-20 or 334-020"
        raise ConfigError(source, f"{where}, mcc_mnc", problem)
    # Checked against phonenumbers' regions: the classic slip is "UK" for "GB".
    if country not in phonenumbers.SUPPORTED_REGIONS:
        problem = f"{country!r} is not an ISO 3166 alpha-2 region code"
        raise ConfigError(source, f"{where}, country", problem)
    if not name:
        raise ConfigError(source, f"{where}, name", "empty operator name")
    raw = values.get("carrier_names", "")
    carriers = tuple(c.strip() for c in raw.split("|")) if raw else ()
    if any(not c for c in carriers):
        raise ConfigError(source, f"{where}, carrier_names", f"empty name in {raw!r}")
    return Operator(mcc_mnc, country, name, carriers)
