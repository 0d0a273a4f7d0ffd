"""The route table: channels, and per destination the candidate routes with price and TPS cap.

Most specific match first: ``(country, operator)``, then ``(country, any operator)``, then the
default entry ``country = "*"``.

Example file::

    [[channels]]
    id = "ng-direct"
    kind = "simulated"
    tps = 200

    [[routes]]
    country = "NG"
    operator = "621-20"          # optional
    candidates = [{ channel = "ng-direct", price = 0.021, tps = 50 }]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.configfile import Section, read_toml
from engine.domain.types import Channel, Destination, RouteOption
from engine.errors import RouteTableError

ANY = "*"
CHANNEL_KINDS = frozenset({"simulated", "smpp", "http"})


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """Candidates for a country (``"*"`` for any) and optionally one operator."""

    country: str
    operator: str | None
    candidates: tuple[RouteOption, ...]

    @property
    def key(self) -> tuple[str, str | None]:
        return self.country, self.operator


@dataclass(frozen=True)
class RouteTable:
    channels: tuple[Channel, ...]
    entries: tuple[RouteEntry, ...]
    _index: dict[tuple[str, str | None], RouteEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {e.key: e for e in self.entries})

    def match(self, destination: Destination) -> RouteEntry | None:
        """The most specific entry for a destination, or None."""
        for key in (
            (destination.country, destination.operator),
            (destination.country, None),
            (ANY, None),
        ):
            entry = self._index.get(key)
            if entry is not None:
                return entry
        return None


# Options each kind understands; the adapter validates their values when it starts.
KIND_OPTIONS = {
    # A preset plus any of its behaviour's fields (adapters.simulated.Behaviour) as overrides.
    "simulated": frozenset({
        "preset", "seed", "delivery_p", "receipt_median_s", "receipt_sigma", "missing_rate",
        "submit_latency_s", "reject_p", "reject_raw", "throttle_p", "tps_cap", "black_hole",
        "fake_delivered", "duplicate_rate", "flapping", "flap_period_s",
    }),
    # adapters.smpp.settings.SmppSettings fields, plus the password as a secret (_env or _file).
    "smpp": frozenset({
        "host", "port", "system_id", "password_env", "password_file", "system_type", "bind_mode",
        "service_type", "source_ton", "source_npi", "dest_ton", "dest_npi", "registered_delivery",
        "send_validity", "udh_16bit", "enquire_link_s", "response_timeout_s", "connect_timeout_s",
        "submit_wait_s", "reconnect_min_s", "reconnect_max_s", "reconnect_jitter",
        "bind_rejected_backoff_s", "throttle_pause_s", "throttle_pause_max_s", "bind_check", "tcp_nodelay",
        "seed",
    }),
    # adapters.http.HttpSettings fields, plus credentials named by environment variable or file.
    "http": frozenset({
        "mapping", "base_url", "path", "account", "auth", "auth_header", "id_field", "callback_url",
        "connect_timeout_s", "read_timeout_s", "batch_size", "max_connections", "connect_retries",
        "retry_backoff_s", "max_retry_after_s",
        "token_env", "token_file", "webhook_secret_env", "webhook_secret_file",
    }),
}  # fmt: skip
COMMON = frozenset({"id", "kind", "tps", "window"})


def _options(sec: Section, kind: str) -> tuple[tuple[str, str | float | int | bool], ...]:
    allowed = KIND_OPTIONS[kind]
    options = []
    for key in sorted(set(sec.data) - COMMON):
        if allowed and key not in allowed:
            continue  # left for done() to report as unknown
        value = sec.data[key]
        if not isinstance(value, str | int | float | bool):
            raise sec.fail(key, f"expected a string, number or boolean, got {type(value).__name__}")
        options.append((key, sec.get(key, type(value))))
    return tuple(options)


def load_route_table(path: Path) -> RouteTable:
    return parse_route_table(read_toml(path, RouteTableError), str(path))


def parse_route_table(data: dict[str, Any], source: str) -> RouteTable:
    """Validate a parsed file; every problem names the file and the field."""
    top = Section(data, source, "", RouteTableError)
    channels: dict[str, Channel] = {}
    for sec in top.sections("channels"):
        cid = sec.get("id", str)
        if cid in channels:
            raise sec.fail("id", f"duplicate channel {cid!r}")
        kind = sec.get("kind", str, "simulated")
        if kind not in CHANNEL_KINDS:
            raise sec.fail("kind", f"unknown channel kind {kind!r}; expected one of {sorted(CHANNEL_KINDS)}")
        tps = sec.number("tps", 100.0, low=0.0, strict_low=True)
        window = int(sec.number("window", 50.0, low=1.0))
        channels[cid] = Channel(cid, kind, tps, window, _options(sec, kind))
        sec.done()
    entries: dict[tuple[str, str | None], RouteEntry] = {}
    for sec in top.sections("routes"):
        country = sec.get("country", str).upper()
        operator = sec.get("operator", str) if sec.has("operator") else None
        options = []
        for opt in sec.sections("candidates"):
            channel = opt.get("channel", str)
            if channel not in channels:
                raise opt.fail("channel", f"unknown channel {channel!r}")
            price = opt.number("price", low=0.0)
            tps = opt.number("tps", channels[channel].tps, low=0.0, strict_low=True)
            options.append(RouteOption(channel, price, tps))
            opt.done()
        if not options:
            raise sec.fail("candidates", "needs at least one candidate route")
        if len({o.channel for o in options}) != len(options):
            raise sec.fail("candidates", "lists a channel twice")
        entry = RouteEntry(country, operator, tuple(options))
        if entry.key in entries:
            raise sec.fail("country", f"duplicate route entry for {country}/{operator or ANY}")
        entries[entry.key] = entry
        sec.done()
    top.done()
    return RouteTable(tuple(channels.values()), tuple(entries.values()))
