"""Signatures on callbacks: ``A2P-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC key is the tenant's webhook secret as text (UTF-8), the signed string is
``f"{t}.{raw_body}"``: the timestamp inside the signature stops replays of an old request, the raw
body (not re-serialised JSON) makes verification byte-exact. Several ``v1=`` may appear (during a
secret rotation); one match is enough.

>>> header = sign("5ec2e7", b'{"id":"evt_1"}', 1_700_000_000)
>>> verify("5ec2e7", header, b'{"id":"evt_1"}', now=1_700_000_060.0)
True
>>> verify("5ec2e7", header, b'{"id":"evt_2"}', now=1_700_000_060.0)
False
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "A2P-Signature"
EVENT_ID_HEADER = "A2P-Event-Id"
SCHEME = "v1"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``A2P-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify(secret: str, header: str, raw_body: bytes | str, now: float, tolerance_s: float = 300.0) -> bool:
    """Whether ``header`` signs ``raw_body`` with ``secret`` within ``tolerance_s`` of ``now``.

    Compares in constant time; a malformed header is simply not valid.
    """
    body = raw_body.encode() if isinstance(raw_body, str) else raw_body
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body).encode()
    # Every candidate is compared (no early exit), so timing tells nothing about which one matched.
    matches = [hmac.compare_digest(expected, c.encode("utf-8", "replace")) for c in candidates]
    return any(matches)
