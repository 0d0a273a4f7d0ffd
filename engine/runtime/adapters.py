"""Building a channel's adapter from its configuration (inside the channel actor)."""

from __future__ import annotations

import secrets

import numpy as np

from adapters.simulated import SimulatedChannel, preset
from engine.domain.channel import Channel as ChannelAdapter
from engine.domain.types import Channel
from engine.errors import RouteTableError


def make_adapter(channel: Channel) -> ChannelAdapter:
    if channel.kind == "simulated":
        seed = channel.option("seed", 0)
        rng = np.random.default_rng(int(seed) if seed else secrets.randbits(64))
        try:
            behaviour = preset(str(channel.option("preset", "healthy")))
        except ValueError as exc:
            raise RouteTableError("channels", f"{channel.id}.preset", str(exc)) from None
        return SimulatedChannel(channel.id, behaviour, rng=rng)
    raise RouteTableError("channels", f"{channel.id}.kind", f"{channel.kind} channels are not available yet")
