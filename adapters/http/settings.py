"""An HTTP channel's settings, read once from its route-table entry and validated there.

Route-table options (flat scalars)::

    [[channels]]
    id = "agg-eu"
    kind = "http"
    mapping = "infobip_like"                 # which request/response/webhook dialect
    base_url = "https://api.example.com"
    token_env = "AGG_EU_TOKEN"               # -> secrets["token"]; never in the file itself
    webhook_secret_env = "AGG_EU_HOOK"       # -> secrets["webhook_secret"]
    callback_url = "https://sms.example.org/v1/channels/agg-eu/dlr"

Credentials arrive as ``secrets`` (see :mod:`engine.runtime.adapters`), never as settings, so a
settings object can be printed or logged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from engine.domain.types import Channel
from engine.errors import RouteTableError

AUTH_SCHEMES = ("basic", "bearer", "app", "header", "none")
# Options whose values come as secrets (``<name>_env`` / ``<name>_file``), listed for the route table.
SECRET_OPTIONS = ("token_env", "token_file", "webhook_secret_env", "webhook_secret_file")


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Non-secret settings of one HTTP aggregator channel. Durations in seconds."""

    mapping: str
    base_url: str
    path: str = ""  # "" = the mapping's usual endpoint
    account: str = ""  # account id: Basic auth user and URL part (Twilio's account SID)
    auth: str = ""  # "" = the mapping's usual scheme; else one of AUTH_SCHEMES
    auth_header: str = "X-API-Key"  # header carrying the key when auth = "header"
    id_field: str = ""  # "" = the mapping's usual response id field
    callback_url: str = ""  # public URL the aggregator posts delivery reports to ("" = none)
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    batch_size: int = 100  # messages per request, for mappings that batch
    max_connections: int = 32  # requests in flight at once
    connect_retries: int = 2  # extra attempts when the connection could not even be made
    retry_backoff_s: float = 0.05  # first pause between those attempts, doubling
    max_retry_after_s: float = 60.0  # cap on a 429's Retry-After pause

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name}: must be > 0, got {value}")
        if not (math.isfinite(self.retry_backoff_s) and self.retry_backoff_s >= 0.0):
            raise ValueError(f"retry_backoff_s: must be >= 0, got {self.retry_backoff_s}")
        for name, low, high in (
            ("batch_size", 1, 10_000),
            ("max_connections", 1, 1_000),
            ("connect_retries", 0, 10),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name}: must be in [{low}, {high}], got {value}")
        if self.auth and self.auth not in AUTH_SCHEMES:
            raise ValueError(f"auth: unknown scheme {self.auth!r}; expected one of {', '.join(AUTH_SCHEMES)}")
        _require_url("base_url", self.base_url)
        if self.callback_url:
            _require_url("callback_url", self.callback_url)
        if self.path and not self.path.startswith("/"):
            raise ValueError(f"path: must start with '/', got {self.path!r}")

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """Every route-table option an HTTP channel accepts (settings fields plus secret names)."""
        return frozenset(f.name for f in fields(cls)) | frozenset(SECRET_OPTIONS)


def _require_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name}: expected an absolute http(s) URL, got {url!r}")


def settings_of(channel: Channel) -> HttpSettings:
    """The channel's settings; a bad or missing option raises RouteTableError naming it."""
    types = {f.name: f.type for f in fields(HttpSettings)}
    values: dict[str, Any] = {}
    for key, value in channel.options:
        if key in SECRET_OPTIONS:
            continue
        if key not in types:
            raise _error(channel, key, "unknown option for an http channel")
        values[key] = _typed(channel, key, str(types[key]), value)
    for required in ("mapping", "base_url"):
        if required not in values:
            raise _error(channel, required, "is required")
    try:
        return HttpSettings(**values)
    except ValueError as exc:
        name, _, problem = str(exc).partition(": ")
        raise _error(channel, name, problem) from None


def _typed(channel: Channel, key: str, kind: str, value: str | float | int | bool) -> str | float | int:
    # Field types are strings under `from __future__ import annotations`.
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _error(channel, key, f"expected {kind}, got {type(value).__name__}")


def _error(channel: Channel, key: str, problem: str) -> RouteTableError:
    return RouteTableError("route table", f"channels.{channel.id}.{key}", problem)
