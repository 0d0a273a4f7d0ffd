"""What the SMSC simulator does, validated once: credentials, ids, receipt timing and misbehaviours.

The misbehaviour knobs are independent and combine (a throttling SMSC that also rejects a prefix and
loses 10 % of deliveries is a realistic peer); ``SmscSettings.preset`` names the usual single modes.

>>> SmscSettings.preset(Mode.THROTTLE).throttle_tps
10.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    HEALTHY = "healthy"
    THROTTLE = "throttle"  # ESME_RTHROTTLED above throttle_tps and/or for throttle_fraction of submits
    STALL = "stall"  # binds fine, then never answers a submit: the "outcome unknown" case
    BLACK_HOLE = "black-hole"  # answers submits, never sends a receipt
    REJECT = "reject"  # ESME_RINVDSTADR for reject_fraction of submits and for reject_prefixes


class IdFormat(StrEnum):
    DECIMAL = "decimal"
    HEX = "hex"

    def render(self, number: int) -> str:
        """The id as the SMSC writes it; hex is zero-padded to 8 digits.

        >>> IdFormat.HEX.render(255), IdFormat.DECIMAL.render(255)
        ('000000ff', '255')
        """
        return f"{number:08x}" if self is IdFormat.HEX else str(number)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscSettings:
    host: str = "127.0.0.1"  # loopback unless asked: a simulator has no business on a public interface
    port: int = 2775  # 0 picks a free port (tests)
    system_id: str = "esme"
    password: str = "secret"
    smsc_system_id: str = "A2PSIM"  # what bind_resp names us
    message_id_format: IdFormat = IdFormat.DECIMAL
    # Real SMSCs sometimes put the id in the receipt text in another base than in submit_sm_resp;
    # None means the same base. The receipted_message_id TLV always carries the submit_sm_resp form.
    receipt_text_id_format: IdFormat | None = None
    receipt_delay_median_s: float = 1.0
    receipt_delay_sigma: float = 0.5  # of the lognormal; 0 gives exactly the median
    receipt_delay_max_s: float = 600.0
    delivery_probability: float = 1.0
    throttle_tps: float | None = None  # accepted submits per second over all binds of the account
    throttle_fraction: float = 0.0
    reject_fraction: float = 0.0
    reject_prefixes: tuple[str, ...] = ()
    stall: bool = False
    black_hole: bool = False
    session_init_timeout_s: float = 30.0  # an unbound connection is closed after this long
    max_queued_receipts: int = 100_000  # receipts waiting for a receiver bind; older ones are dropped

    def __post_init__(self) -> None:
        for name in ("delivery_probability", "throttle_fraction", "reject_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        positives = {
            "receipt_delay_median_s": self.receipt_delay_median_s,
            "receipt_delay_sigma": self.receipt_delay_sigma,
            "receipt_delay_max_s": self.receipt_delay_max_s,
            "session_init_timeout_s": self.session_init_timeout_s,
        }
        for name, value in positives.items():
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.throttle_tps is not None and not (math.isfinite(self.throttle_tps) and self.throttle_tps > 0):
            raise ValueError(f"throttle_tps must be > 0, got {self.throttle_tps}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within [0, 65535], got {self.port}")
        if self.max_queued_receipts < 0:
            raise ValueError("max_queued_receipts must be >= 0")
        # bind fields are C-strings with a spec maximum (NUL included): longer can never match a bind.
        for name, value, limit in (
            ("system_id", self.system_id, 16),
            ("password", self.password, 9),
            ("smsc_system_id", self.smsc_system_id, 16),
        ):
            if len(value.encode("latin-1", "replace")) >= limit or "\x00" in value:
                raise ValueError(f"{name} must be at most {limit - 1} characters without NUL")

    @classmethod
    def preset(cls, mode: Mode, **overrides: Any) -> SmscSettings:
        """Settings for one named mode, with defaults that make the mode visible; overrides win."""
        defaults: dict[Mode, dict[str, Any]] = {
            Mode.HEALTHY: {},
            Mode.THROTTLE: {"throttle_tps": 10.0},
            Mode.STALL: {"stall": True},
            Mode.BLACK_HOLE: {"black_hole": True},
            Mode.REJECT: {"reject_fraction": 0.2},
        }
        chosen = dict(defaults[mode])
        # Naming one trigger of a mode replaces its default trigger instead of adding to it.
        if mode is Mode.THROTTLE and "throttle_fraction" in overrides:
            chosen.pop("throttle_tps")
        if mode is Mode.REJECT and "reject_prefixes" in overrides:
            chosen.pop("reject_fraction")
        return cls(**{**chosen, **overrides})
