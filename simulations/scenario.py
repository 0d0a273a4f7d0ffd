"""Scenario files: the world, its traffic and what happens to it, validated once at the edge.

A scenario is a versioned TOML file (see ``simulations/scenarios/``). The world is generated from
the scenario and a seed, so events name channels and contexts by selectors that make sense in any
generated world: ``channel = "top1"`` is the channel carrying the most traffic for the oracle at
the start, ``contexts = "top:20"`` the 20 busiest contexts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from engine.configfile import Section, read_toml
from engine.domain.enums import Lane
from engine.errors import ScenarioError, UnknownScenarioError
from engine.policies.economics import Economics

FORMAT_VERSION = 1


class EventKind(StrEnum):
    BLACKHOLE = "blackhole"  # accepts every submit, delivers nothing, reports nothing
    DRIFT = "drift"  # delivery probability moves linearly by `delta` over the duration, then stays
    HOUR_DEGRADATION = "hour_degradation"  # delivery drops by `delta` during given hours of the day
    PRICE = "price"  # price multiplied by `factor`
    ROUTE_ADDED = "route_added"  # the channel becomes a candidate (it is hidden before)
    ROUTE_REMOVED = "route_removed"  # the channel stops being a candidate
    FAKE_DELIVERED = "fake_delivered"  # grey route: instant DELIVRD receipts, true delivery `delivery`
    DUPLICATE_DLRS = "duplicate_dlrs"  # a share `rate` of receipts arrives twice
    BATCHED_DLRS = "batched_dlrs"  # receipts held back and released every `period_min` minutes


_CHANNEL_SELECTOR = re.compile(r"^(top\d+|ch\d+)$")
_CONTEXT_SELECTOR = re.compile(r"^(all|top:\d+|country:[A-Z]{2})$")


@dataclass(frozen=True)
class WorldSpec:
    contexts: int = 100
    countries: tuple[str, ...] = ("NG", "KE", "IN", "BR", "ID", "PH", "MX", "ZA", "EG", "PK")
    channels: int = 30
    routes_per_context: tuple[int, int] = (3, 7)
    zipf: float = 1.1
    delivery: tuple[float, float] = (0.80, 0.985)
    price: tuple[float, float] = (0.004, 0.040)
    latency_median_s: tuple[float, float] = (2.0, 20.0)
    latency_sigma: tuple[float, float] = (0.3, 0.9)
    missing_dlr: tuple[float, float] = (0.0, 0.04)
    tps: tuple[float, float] = (5.0, 60.0)


@dataclass(frozen=True)
class Burst:
    lane: Lane
    start_h: float
    duration_min: float
    multiplier: float
    contexts: str = "all"


@dataclass(frozen=True)
class TrafficSpec:
    rate_per_s: float = 48.0
    lanes: tuple[float, float, float] = (0.3, 0.3, 0.4)
    diurnal_amplitude: float = 0.5
    peak_hour: float = 14.0
    bursts: tuple[Burst, ...] = ()


@dataclass(frozen=True)
class Event:
    kind: EventKind
    start_h: float = 0.0
    duration_min: float | None = None  # None: until the end
    channel: str = "top1"
    contexts: str = "all"
    delta: float = 0.0
    factor: float = 1.0
    hours: tuple[int, ...] = ()
    delivery: float = 0.3
    rate: float = 0.2
    period_min: float = 15.0

    @property
    def start_s(self) -> float:
        return self.start_h * 3600.0

    @property
    def end_s(self) -> float:
        return float("inf") if self.duration_min is None else self.start_s + self.duration_min * 60.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    hours: float
    tick_s: float
    world: WorldSpec
    traffic: TrafficSpec
    economics: Economics
    events: tuple[Event, ...] = field(default=())
    start_hour: float = 0.0
    source: str = ""

    def with_hours(self, hours: float) -> Scenario:
        return Scenario(
            self.name,
            self.description,
            hours,
            self.tick_s,
            self.world,
            self.traffic,
            self.economics,
            self.events,
            self.start_hour,
            self.source,
        )


# -- loading ---------------------------------------------------------------------------------------


def bundled() -> dict[str, str]:
    """Bundled scenario names and their one-line descriptions."""
    out = {}
    for entry in sorted(resources.files("simulations").joinpath("scenarios").iterdir(), key=str):
        if entry.name.endswith(".toml"):
            data = read_toml(Path(str(entry)), ScenarioError)
            out[entry.name.removesuffix(".toml")] = str(data.get("description", "")).split("\n")[0]
    return out


def load(name_or_path: str) -> Scenario:
    """A bundled scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if not path.is_file():
        candidate = resources.files("simulations").joinpath("scenarios", f"{name_or_path}.toml")
        if not candidate.is_file():
            raise UnknownScenarioError(name_or_path, list(bundled()))
        path = Path(str(candidate))
    return parse(read_toml(path, ScenarioError), str(path))


def parse(data: dict[str, Any], source: str) -> Scenario:
    top = Section(data, source, "", ScenarioError)
    version = int(top.number("version", low=1))
    if version != FORMAT_VERSION:
        raise top.fail("version", f"unsupported scenario format {version}; this build reads {FORMAT_VERSION}")
    scenario = Scenario(
        name=top.get("name", str),
        description=top.get("description", str, ""),
        hours=top.number("hours", low=0.0, strict_low=True),
        tick_s=top.number("tick_s", 2.0, low=0.1, high=60.0),
        start_hour=top.number("start_hour", 0.0, low=0.0, high=24.0),
        world=_world(top.section("world", optional=True)),
        traffic=_traffic(top.section("traffic", optional=True)),
        economics=_economics(top.section("economics", optional=True)),
        events=tuple(_event(sec) for sec in top.sections("events")),
        source=source,
    )
    top.done()
    return scenario


def _world(sec: Section) -> WorldSpec:
    d = WorldSpec()
    countries = sec.get("countries", list, list(d.countries))
    if not countries or not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in countries):
        raise sec.fail("countries", 'expected a non-empty list of ISO country codes like "NG"')
    per = sec.pair(
        "routes_per_context",
        (float(d.routes_per_context[0]), float(d.routes_per_context[1])),
        low=1,
    )
    channels = int(sec.number("channels", float(d.channels), low=1))
    if per[1] > channels:
        raise sec.fail("routes_per_context", f"cannot exceed channels ({channels})")
    world = WorldSpec(
        contexts=int(sec.number("contexts", float(d.contexts), low=1)),
        countries=tuple(countries),
        channels=channels,
        routes_per_context=(int(per[0]), int(per[1])),
        zipf=sec.number("zipf", d.zipf, low=0.0),
        delivery=_unit_pair(sec, "delivery", d.delivery),
        price=sec.pair("price", d.price),
        latency_median_s=sec.pair("latency_median_s", d.latency_median_s, low=0.01),
        latency_sigma=sec.pair("latency_sigma", d.latency_sigma),
        missing_dlr=_unit_pair(sec, "missing_dlr", d.missing_dlr),
        tps=sec.pair("tps", d.tps, low=0.01),
    )
    sec.done()
    return world


def _unit_pair(sec: Section, key: str, default: tuple[float, float]) -> tuple[float, float]:
    lo, hi = sec.pair(key, default)
    if hi > 1.0:
        raise sec.fail(key, f"probabilities must be <= 1, got {hi}")
    return lo, hi


def _lane(sec: Section, key: str) -> Lane:
    try:
        return Lane.parse(sec.get(key, str))
    except ValueError as exc:
        raise sec.fail(key, str(exc)) from None


def _traffic(sec: Section) -> TrafficSpec:
    d = TrafficSpec()
    lanes_sec = sec.section("lanes", optional=True)
    shares = tuple(lanes_sec.number(lane.label, d.lanes[lane], low=0.0) for lane in Lane)
    lanes_sec.done()
    if sum(shares) <= 0:
        raise sec.fail("lanes", "lane shares must not all be zero")
    bursts = []
    for b in sec.sections("bursts"):
        bursts.append(
            Burst(
                lane=_lane(b, "lane"),
                start_h=b.number("start_h", low=0.0),
                duration_min=b.number("duration_min", low=0.0, strict_low=True),
                multiplier=b.number("multiplier", low=0.0),
                contexts=_selector(b, "contexts", _CONTEXT_SELECTOR, "all"),
            )
        )
        b.done()
    total = sum(shares)
    traffic = TrafficSpec(
        rate_per_s=sec.number("rate_per_s", d.rate_per_s, low=0.0, strict_low=True),
        lanes=(shares[0] / total, shares[1] / total, shares[2] / total),
        diurnal_amplitude=sec.number("diurnal_amplitude", d.diurnal_amplitude, low=0.0, high=1.0),
        peak_hour=sec.number("peak_hour", d.peak_hour, low=0.0, high=24.0),
        bursts=tuple(bursts),
    )
    sec.done()
    return traffic


def _economics(sec: Section) -> Economics:
    d = Economics()
    value = sec.section("value", optional=True)
    sla = sec.section("sla_s", optional=True)
    economics = Economics(
        value=tuple(value.number(lane.label, d.value[lane], low=0.0) for lane in Lane),
        sla_s=tuple(sla.number(lane.label, d.sla_s[lane], low=0.0, strict_low=True) for lane in Lane),
    )
    value.done()
    sla.done()
    sec.done()
    return economics


def _selector(sec: Section, key: str, pattern: re.Pattern[str], default: str) -> str:
    value = sec.get(key, str, default)
    if not pattern.fullmatch(value):
        raise sec.fail(key, f"invalid selector {value!r}; expected {pattern.pattern}")
    return value


def _event(sec: Section) -> Event:
    raw = sec.get("kind", str)
    try:
        kind = EventKind(raw)
    except ValueError:
        raise sec.fail(
            "kind", f"unknown event kind {raw!r}; expected one of {[k.value for k in EventKind]}"
        ) from None
    duration = sec.number("duration_min", low=0.0, strict_low=True) if sec.has("duration_min") else None
    hours = sec.get("hours", list, [])
    if not all(isinstance(h, int) and 0 <= h < 24 for h in hours):
        raise sec.fail("hours", "expected a list of whole hours 0-23")
    if kind is EventKind.HOUR_DEGRADATION and not hours:
        raise sec.fail("hours", "is required for hour_degradation")
    event = Event(
        kind=kind,
        start_h=sec.number("start_h", 0.0, low=0.0),
        duration_min=duration,
        channel=_selector(sec, "channel", _CHANNEL_SELECTOR, "top1"),
        contexts=_selector(sec, "contexts", _CONTEXT_SELECTOR, "all"),
        delta=sec.number("delta", 0.0, low=-1.0, high=1.0),
        factor=sec.number("factor", 1.0, low=0.0, strict_low=True),
        hours=tuple(hours),
        delivery=sec.number("delivery", 0.3, low=0.0, high=1.0),
        rate=sec.number("rate", 0.2, low=0.0, high=1.0),
        period_min=sec.number("period_min", 15.0, low=0.0, strict_low=True),
    )
    sec.done()
    return event
