"""An SMPP channel built from its route-table entry (see :mod:`adapters.smpp.settings`)."""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Mapping

import numpy as np

from adapters.smpp.channel import SmppChannel
from adapters.smpp.settings import SettingsError, SmppSettings
from engine.domain.types import Channel
from engine.errors import RouteTableError


def settings_of(channel: Channel) -> SmppSettings:
    try:
        return SmppSettings.from_options(dict(channel.options))
    except SettingsError as exc:
        raise RouteTableError("route table", f"channels.{channel.id}.{exc.field}", exc.reason) from None


def check(channel: Channel) -> None:
    settings_of(channel)
    names = {key for key, _ in channel.options}
    if not names & {"password_env", "password_file"}:
        raise RouteTableError(
            "route table", f"channels.{channel.id}.password_env", "set password_env or password_file"
        )


def build(channel: Channel, secrets: Mapping[str, str]) -> SmppChannel:
    """The adapter; it binds on first use (there is no event loop yet when this runs)."""
    settings = settings_of(channel)
    rng = np.random.default_rng(settings.seed if settings.seed else _secrets.randbits(64))
    return SmppChannel(channel.id, settings, secrets.get("password", ""), window=channel.window, rng=rng)
