"""What every request needs, built once per worker in the app's lifespan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from engine.api.ratelimit import RateLimiter
from engine.api.settings import ApiSettings
from engine.destinations.resolver import DestinationResolver
from engine.domain.clock import Clock
from engine.infra.apikeys import ApiKeys
from engine.infra.callbacks import DeadLetters
from engine.infra.decision_log import load
from engine.infra.quality import quality
from engine.infra.store import Inbound, MessageStore

QUALITY_TTL_S = 10.0  # the decision log is re-read at most this often
AUTH_TTL_S = 30.0  # a verified key is trusted this long without asking Redis again


@dataclass
class ApiState:
    settings: ApiSettings
    store: MessageStore
    inbound: Inbound
    api_keys: ApiKeys
    resolver: DestinationResolver
    clock: Clock
    limiter: RateLimiter
    dead_letters: DeadLetters
    webhook_parsers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    _quality: tuple[float, pd.DataFrame, pd.DataFrame] | None = None
    _auth: dict[str, tuple[float, str]] = field(default_factory=dict)

    def _decisions(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The decision frame and its quality table, re-read at most every ``QUALITY_TTL_S``."""
        now = time.monotonic()
        if self._quality is None or now - self._quality[0] > QUALITY_TTL_S:
            folder = self.settings.quality_folder()
            frame = load(folder) if folder and (folder / "decisions").exists() else pd.DataFrame()
            self._quality = (now, frame, quality(frame))
        return self._quality[1], self._quality[2]

    def quality(self) -> pd.DataFrame:
        return self._decisions()[1]

    def latencies(self) -> dict[str, NDArray[np.float64]]:
        """Submit-to-receipt seconds per channel."""
        frame = self._decisions()[0]
        if frame.empty:
            return {}
        known = frame.dropna(subset=["latency_s"])
        return {str(c): g["latency_s"].to_numpy(np.float64) for c, g in known.groupby("route", observed=True)}

    async def tenant_of(self, token: str) -> str | None:
        now = time.monotonic()
        cached = self._auth.get(token)
        if cached is not None and now - cached[0] < AUTH_TTL_S:
            return cached[1]
        tenant = await self.api_keys.tenant_of(token)
        if tenant is not None:
            if len(self._auth) > 10_000:
                self._auth.clear()
            self._auth[token] = (now, tenant)
        return tenant
