"""Value objects of the routing domain."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.values import value_object


@value_object
@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: country (ISO 3166 alpha-2) and, when known, the operator (MCC-MNC)."""

    country: str
    operator: str | None = None
    number_type: str = "mobile"

    @property
    def key(self) -> str:
        """The routing context key: ``"NG/621-20"`` or ``"NG/*"`` when the operator is unknown."""
        return f"{self.country}/{self.operator or '*'}"


@dataclass(frozen=True, slots=True)
class Channel:
    """A way out of the platform: an SMPP bind, an HTTP aggregator, a simulated channel."""

    id: str
    kind: str = "simulated"
    tps: float = 100.0
    window: int = 50  # submits in flight at once
    options: tuple[tuple[str, str | float | int | bool], ...] = ()  # kind-specific, e.g. a preset

    def option(self, name: str, default: str | float | int | bool) -> str | float | int | bool:
        return dict(self.options).get(name, default)


@dataclass(frozen=True, slots=True)
class RouteOption:
    """One candidate route for a destination: which channel, at what price, with what TPS cap."""

    channel: str
    price: float
    tps: float
