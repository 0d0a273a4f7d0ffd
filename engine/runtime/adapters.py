"""Building a channel's adapter from its configuration (inside the channel actor)."""

from __future__ import annotations

import secrets
from dataclasses import fields, replace
from typing import Any

import numpy as np

from adapters.simulated import Behaviour, SimulatedChannel, preset
from engine.domain.channel import Channel as ChannelAdapter
from engine.domain.types import Channel
from engine.errors import RouteTableError


def make_adapter(channel: Channel) -> ChannelAdapter:
    if channel.kind == "simulated":
        seed = channel.option("seed", 0)
        rng = np.random.default_rng(int(seed) if seed else secrets.randbits(64))
        try:
            behaviour = preset(str(channel.option("preset", "healthy")))
            overrides: dict[str, Any] = {k: v for k, v in channel.options if k not in {"preset", "seed"}}
            behaviour = replace(behaviour, **overrides)
        except (ValueError, TypeError) as exc:
            raise RouteTableError("route table", f"channels.{channel.id}", str(exc)) from None
        return SimulatedChannel(channel.id, behaviour, rng=rng)
    raise RouteTableError(
        "route table", f"channels.{channel.id}.kind", f"{channel.kind} channels are not available yet"
    )


SIMULATED_OPTIONS = frozenset({"preset", "seed"} | {f.name for f in fields(Behaviour)})
