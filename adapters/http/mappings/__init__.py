"""Aggregator dialects by name. A new one is a module with an :class:`ApiMapping` subclass and a
line in ``MAPPINGS``."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.http.mappings.base import ApiMapping, HttpRequest, WebhookReceipt
from adapters.http.mappings.infobip import InfobipLike
from adapters.http.mappings.twilio import TwilioLike
from adapters.http.settings import HttpSettings

MAPPINGS: Mapping[str, type[ApiMapping]] = {m.name: m for m in (TwilioLike, InfobipLike)}


def known_mappings() -> list[str]:
    return sorted(MAPPINGS)


def mapping_for(settings: HttpSettings) -> ApiMapping:
    """The mapping named in ``settings``; ValueError listing the known ones otherwise.

    >>> mapping_for(HttpSettings("infobip_like", "https://a.test")).batched
    True
    """
    try:
        cls = MAPPINGS[settings.mapping]
    except KeyError:
        known = ", ".join(known_mappings())
        raise ValueError(f"mapping: unknown mapping {settings.mapping!r}; known: {known}") from None
    return cls(settings)


__all__ = ["MAPPINGS", "ApiMapping", "HttpRequest", "WebhookReceipt", "known_mappings", "mapping_for"]
