"""A simulated channel built from its route-table entry: a preset plus per-field overrides."""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from adapters.simulated.channel import Behaviour, SimulatedChannel
from adapters.simulated.presets import preset
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


def check(channel: Channel) -> None:
    behaviour_of(channel)


def build(channel: Channel, secrets: Mapping[str, str]) -> SimulatedChannel:
    del secrets  # a simulated channel has no credentials
    seed = channel.option("seed", 0)
    rng = np.random.default_rng(int(seed) if seed else _secrets.randbits(64))
    return SimulatedChannel(channel.id, behaviour_of(channel), rng=rng)
