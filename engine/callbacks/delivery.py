"""One callback delivery as stored while it is retried, and what an HTTP answer means for it."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


class Verdict(StrEnum):
    """What to do with a delivery after one attempt."""

    DELIVERED = "delivered"  # 2xx: done
    GONE = "gone"  # 410: the customer asks us to stop; dropped, not dead-lettered
    RETRY = "retry"  # anything else, timeouts and connection errors included


def judge(status_code: int) -> Verdict:
    """What one HTTP status code means for the delivery.

    >>> [judge(c).value for c in (200, 204, 410, 500, 301)]
    ['delivered', 'delivered', 'gone', 'retry', 'retry']
    """
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code == 410:
        return Verdict.GONE
    return Verdict.RETRY  # redirects too: they are not followed (a signed body must not wander)


def url_problem(url: str) -> str:
    """Why a callback URL cannot be used ("" when it can).

    >>> url_problem("https://example.com/hook"), url_problem("ftp://example.com/x")
    ('', "scheme 'ftp' not allowed (http or https only)")
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "malformed URL"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"scheme {parts.scheme!r} not allowed (http or https only)"
    if not host:
        return "URL without a host"
    return ""


def address_problem(addresses: Iterable[str], allow_private: bool) -> str:
    """Why a callback may not go to these resolved addresses ("" when it may).

    >>> address_problem(["93.184.215.14"], False), address_problem(["10.0.0.7"], False)
    ('', 'address 10.0.0.7 is not public')
    >>> address_problem(["127.0.0.1"], True)
    ''
    """
    if allow_private:
        return ""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id is not part of it
        except ValueError:
            return f"address {text!r} is not an IP address"
        if not address.is_global:
            return f"address {text} is not public"
    return ""


def host_of(url: str) -> str:
    """The per-host limit's key: host and port (``""`` for a URL that cannot be parsed)."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port or ''}"
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event on its way to a customer. ``body`` is the exact JSON that is signed and sent, the
    same on every attempt; ``first_at`` starts the max-age clock (a replay restarts it)."""

    event_id: str
    tenant: str
    message_id: str
    sequence: int
    url: str
    body: str
    first_at: float
    attempts: int = 0
    last_error: str = ""
    dead_at: float | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})  # a later field added: still loads

    def failed(self, error: str) -> Delivery:
        return dataclasses.replace(self, attempts=self.attempts + 1, last_error=error)

    def dead(self, at: float, reason: str) -> Delivery:
        return dataclasses.replace(self, dead_at=at, last_error=reason)

    def revived(self, at: float) -> Delivery:
        """Back from the dead-letter list: a fresh schedule from ``at``; same event id, same body."""
        return dataclasses.replace(self, first_at=at, attempts=0, dead_at=None)

    def public(self) -> dict[str, Any]:
        """As shown to its tenant (dead-letter listing): the event itself rather than its text."""
        out = dataclasses.asdict(self)
        out["event"] = json.loads(out.pop("body"))
        return out
