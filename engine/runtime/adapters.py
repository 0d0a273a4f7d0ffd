"""Building a channel's adapter from its configuration (inside the channel actor)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import numpy as np

from adapters.simulated import Behaviour, SimulatedChannel, preset
from engine.domain.channel import Channel as ChannelAdapter
from engine.domain.types import Channel
from engine.errors import RouteTableError


def behaviour_of(channel: Channel) -> Behaviour:
    """A simulated channel's behaviour: its preset with the route table's overrides."""
    try:
        behaviour = preset(str(channel.option("preset", "healthy")))
        overrides: dict[str, Any] = {k: v for k, v in channel.options if k not in {"preset", "seed"}}
        return replace(behaviour, **overrides)
    except (ValueError, TypeError) as exc:
        raise RouteTableError("route table", f"channels.{channel.id}", str(exc)) from None


def validate(channel: Channel) -> None:
    """Refuse a channel the engine could not start, before any actor is created."""
    if channel.kind != "simulated":
        raise RouteTableError(
            "route table", f"channels.{channel.id}.kind", f"{channel.kind} channels are not available yet"
        )
    behaviour_of(channel)


def make_adapter(channel: Channel) -> ChannelAdapter:
    validate(channel)
    seed = channel.option("seed", 0)
    rng = np.random.default_rng(int(seed) if seed else secrets.randbits(64))
    return SimulatedChannel(channel.id, behaviour_of(channel), rng=rng)
