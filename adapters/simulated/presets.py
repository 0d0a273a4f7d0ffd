"""Named behaviours for simulated channels, in real-time seconds (``Behaviour.scaled`` for tests).

>>> preset("black_hole").black_hole
True
>>> known_presets()
['black_hole', 'fake_dlr', 'flapping', 'healthy', 'rejecting', 'slow_dlr', 'throttling']
"""

from __future__ import annotations

from adapters.simulated.channel import Behaviour

HEALTHY = Behaviour(delivery_p=0.97, receipt_median_s=1.5, receipt_sigma=0.5, missing_rate=0.005)

PRESETS: dict[str, Behaviour] = {
    "healthy": HEALTHY,
    # Delivers as well, but receipts take tens of seconds with a long tail.
    "slow_dlr": Behaviour(delivery_p=0.95, receipt_median_s=20.0, receipt_sigma=1.0, missing_rate=0.02),
    # A link sized for 50 TPS that also pushes back now and then (ESME_RTHROTTLED).
    "throttling": Behaviour(delivery_p=0.95, missing_rate=0.005, tps_cap=50.0, throttle_p=0.05),
    # Accepts everything, delivers and reports nothing.
    "black_hole": Behaviour(black_hole=True),
    # Refuses a third of the traffic permanently (invalid destination address).
    "rejecting": Behaviour(delivery_p=0.9, missing_rate=0.005, reject_p=0.35),
    # Healthy for 30 s, black hole for 30 s, and so on.
    "flapping": Behaviour(delivery_p=0.97, missing_rate=0.005, flapping=True, flap_period_s=30.0),
    # A grey route: instant DELIVRD for everything, whatever really happened.
    "fake_dlr": Behaviour(delivery_p=0.6, fake_delivered=True),
}


def known_presets() -> list[str]:
    return sorted(PRESETS)


def preset(name: str) -> Behaviour:
    """The named behaviour; ``ValueError`` listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown channel preset {name!r}; known presets: {', '.join(known_presets())}"
        ) from None
