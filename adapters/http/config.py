"""An HTTP channel built from its route-table entry (see :mod:`adapters.http.settings`)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.http.auth import NEEDS_TOKEN
from adapters.http.channel import HttpChannel
from adapters.http.mappings import ApiMapping, mapping_for
from adapters.http.settings import HttpSettings, settings_of
from adapters.http.webhooks import WebhookParser
from engine.domain.clock import Clock, SystemClock
from engine.domain.types import Channel
from engine.errors import RouteTableError


def _secret_named(channel: Channel, name: str) -> bool:
    keys = {key for key, _ in channel.options}
    return f"{name}_env" in keys or f"{name}_file" in keys


def _checked(channel: Channel) -> tuple[HttpSettings, ApiMapping]:
    settings = settings_of(channel)
    try:
        mapping = mapping_for(settings)
    except ValueError as exc:
        raise RouteTableError(
            "route table", f"channels.{channel.id}.mapping", str(exc).partition(": ")[2]
        ) from None
    field = f"channels.{channel.id}"
    if mapping.auth in NEEDS_TOKEN and not _secret_named(channel, "token"):
        raise RouteTableError(
            "route table", f"{field}.token_env", f"auth {mapping.auth!r} needs token_env or token_file"
        )
    if mapping.auth == "basic" and not settings.account:
        raise RouteTableError("route table", f"{field}.account", "basic auth needs an account")
    if settings.callback_url and not any(_secret_named(channel, k) for k in mapping.webhook_keys):
        # Delivery reports nobody can verify would let anyone mark messages delivered.
        raise RouteTableError(
            "route table", f"{field}.webhook_secret_env", "callback_url needs a webhook secret"
        )
    return settings, mapping


def check(channel: Channel) -> None:
    _checked(channel)


def build(channel: Channel, secrets: Mapping[str, str], clock: Clock | None = None) -> HttpChannel:
    settings, _ = _checked(channel)
    return HttpChannel(channel.id, settings, secrets, clock=clock)


def webhook_parser(channel: Channel, secrets: Mapping[str, str], clock: Clock | None = None) -> WebhookParser:
    """The webhook intake for a configured channel: ``parser(headers, raw_body, url) -> receipts``.

    ``secrets`` as :func:`engine.runtime.adapters.secrets_of` resolves them. Refuses (with
    RouteTableError) a channel whose webhooks could not be verified.
    """
    settings, mapping = _checked(channel)
    secret = mapping.webhook_key(secrets)
    if not secret:
        raise RouteTableError("route table", f"channels.{channel.id}.webhook_secret_env", "no webhook secret")
    return WebhookParser(channel.id, mapping, secret, clock or SystemClock(), settings.callback_url)
