"""A channel that misbehaves on purpose, in real time: for demos, contract tests and chaos drills."""

from adapters.simulated.channel import Behaviour, SimulatedChannel
from adapters.simulated.presets import PRESETS, known_presets, preset

__all__ = ["PRESETS", "Behaviour", "SimulatedChannel", "known_presets", "preset"]
