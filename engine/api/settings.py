"""API settings, read once at the edge (the CLI, or ``A2P_API_SETTINGS`` in a uvicorn worker)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ENV = "A2P_API_SETTINGS"


@dataclass(frozen=True)
class ApiSettings:
    redis_url: str
    namespace: str = "a2p"
    route_table: str | None = None  # for DLR webhooks of HTTP channels
    decision_log: str | None = None  # for the quality report and per-channel metrics
    host: str = "127.0.0.1"  # loopback unless configured otherwise
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 64 * 1024  # one message
    max_batch_body_bytes: int = 8 * 1024 * 1024  # a batch of up to max_batch messages
    max_batch: int = 5_000
    rate_per_s: float = 2_000.0  # messages per tenant per second, per worker
    max_parts: int = 10  # a longer body is refused (1,530 GSM-7 characters)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ApiSettings:
        raw = os.environ.get(ENV)
        if not raw:
            raise RuntimeError(f"{ENV} is not set: start the API with `a2p serve`")
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def quality_folder(self) -> Path | None:
        return Path(self.decision_log) if self.decision_log else None
