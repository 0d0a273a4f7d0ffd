"""Reading user-supplied TOML files with errors that name the file, the field and the problem.

Configuration is validated once, here at the edge, then passed down as frozen dataclasses.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import ConfigError

T = TypeVar("T")


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error(str(path), "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise error(str(path), "", f"cannot read: {exc.strerror}") from None


class Section:
    """A TOML table with its dotted path, for precise errors."""

    def __init__(self, data: Any, source: str, path: str, error: type[ConfigError]) -> None:
        if not isinstance(data, Mapping):
            raise error(source, path or "(top level)", f"expected a table, got {_kind(data)}")
        self.data: Mapping[str, Any] = data
        self.source = source
        self.path = path
        self.error = error
        self._used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> ConfigError:
        return self.error(self.source, self.field(key), problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        self._used.add(key)
        if key not in self.data:
            if default is None:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(key, f"expected {kind.__name__}, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, "must be a finite number")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        strict_low: bool = False,
    ) -> float:
        value = self.get(key, float, default)
        if low is not None and (value < low or (strict_low and value == low)):
            raise self.fail(key, f"must be {'>' if strict_low else '>='} {low}, got {value}")
        if high is not None and value > high:
            raise self.fail(key, f"must be <= {high}, got {value}")
        return value

    def pair(
        self, key: str, default: tuple[float, float] | None = None, *, low: float = 0.0
    ) -> tuple[float, float]:
        self._used.add(key)
        if key not in self.data and default is not None:
            return default
        raw = self.get(key, list)
        if len(raw) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            raise self.fail(key, "expected [low, high], two numbers")
        lo, hi = float(raw[0]), float(raw[1])
        if lo < low or hi < lo:
            raise self.fail(key, f"expected {low} <= low <= high, got [{lo}, {hi}]")
        return lo, hi

    def section(self, key: str, *, optional: bool = False) -> Section:
        self._used.add(key)
        if key not in self.data:
            if not optional:
                raise self.fail(key, "is required")
            return Section({}, self.source, self.field(key), self.error)
        return Section(self.data[key], self.source, self.field(key), self.error)

    def sections(self, key: str) -> list[Section]:
        self._used.add(key)
        raw = self.data.get(key, [])
        if not isinstance(raw, list):
            raise self.fail(key, f"expected an array of tables, got {_kind(raw)}")
        return [
            Section(item, self.source, f"{self.field(key)}[{i}]", self.error) for i, item in enumerate(raw)
        ]

    def done(self) -> None:
        """Refuse keys nobody asked for: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.fail(
                unknown[0],
                "unknown field" + (f" (also: {', '.join(unknown[1:])})" if unknown[1:] else ""),
            )


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
