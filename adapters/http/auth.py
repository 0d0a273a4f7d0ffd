"""Request authentication schemes, by name: each turns settings and secrets into headers.

The headers are built once when the client is created; the token never reaches a log line.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

from adapters.http.settings import HttpSettings

Scheme = Callable[[HttpSettings, str], dict[str, str]]


def _basic(settings: HttpSettings, token: str) -> dict[str, str]:
    pair = f"{settings.account}:{token}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _bearer(settings: HttpSettings, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _app(settings: HttpSettings, token: str) -> dict[str, str]:
    return {"Authorization": f"App {token}"}  # Infobip's API-key scheme


def _header(settings: HttpSettings, token: str) -> dict[str, str]:
    return {settings.auth_header: token}


def _none(settings: HttpSettings, token: str) -> dict[str, str]:
    return {}


SCHEMES: Mapping[str, Scheme] = {
    "basic": _basic,
    "bearer": _bearer,
    "app": _app,
    "header": _header,
    "none": _none,
}
NEEDS_TOKEN = frozenset({"basic", "bearer", "app", "header"})


def auth_headers(scheme: str, settings: HttpSettings, token: str) -> dict[str, str]:
    """Headers that authenticate every request under ``scheme``.

    >>> auth_headers("app", HttpSettings("infobip_like", "https://a.test"), "k1")
    {'Authorization': 'App k1'}
    """
    return SCHEMES[scheme](settings, token)
