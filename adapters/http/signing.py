"""Webhook signatures as aggregators compute them; every comparison is constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(url: str, params: Iterable[tuple[str, str]], secret: str) -> str:
    """Twilio's scheme: base64 HMAC-SHA1 over the full URL then every form field, name then value,
    sorted by name (then value, for repeated names).

    Twilio's own documented example:

    >>> params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234",
    ...           "From": "+14158675310", "To": "+18005551212"}
    >>> twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2", params.items(), "12345")
    'GvWf1cFY/Q7PnoempGyD5oXAezc='
    """
    text = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def body_signature(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 over the raw body, as ``sha256=<hex>`` (the GitHub-style header value).

    >>> body_signature(b"{}", "k")[:15]
    'sha256=add853b1'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def same(given: str, expected: str) -> bool:
    """Constant-time equality, so a forger learns nothing from response timing."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())
