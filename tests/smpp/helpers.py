"""Small helpers shared by the SMPP tests."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import numpy as np

from adapters.smpp import SmppChannel, SmppSettings
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage, Receipt
from tests.smpp.peer import PASSWORD, NodeSmsc

FAST = {
    "reconnect_min_s": 0.05,
    "reconnect_max_s": 0.2,
    "throttle_pause_s": 0.002,
    "throttle_pause_max_s": 0.02,
}


def settings(smsc: NodeSmsc, system_id: str, **overrides: Any) -> SmppSettings:
    base = SmppSettings(host=smsc.host, port=smsc.port, system_id=system_id, seed=1)
    return replace(base, **{**FAST, **overrides})


def channel(
    smsc: NodeSmsc, system_id: str, password: str = PASSWORD, window: int = 50, **overrides: Any
) -> SmppChannel:
    return SmppChannel("smpp-test", settings(smsc, system_id, **overrides), password, window=window,
                       rng=np.random.default_rng(7))  # fmt: skip


def messages(
    n: int, prefix: str = "m", body: str = "code {i:04d}", to: str = "+23480300{i:05d}"
) -> list[OutboundMessage]:
    return [
        OutboundMessage(f"{prefix}{i}", to.format(i=i), "ACME", body.format(i=i), Lane.OTP) for i in range(n)
    ]


async def collect(channel: SmppChannel, count: int, deadline_s: float = 5.0) -> list[Receipt]:
    """Receipts until ``count`` arrived or the deadline passed."""
    got: list[Receipt] = []
    end = time.monotonic() + deadline_s
    while len(got) < count and time.monotonic() < end:
        got += await channel.receipts(1000, 0.05)
    return got


async def until(predicate: Any, deadline_s: float = 5.0) -> bool:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.01)
    return True
