"""What a delivery is worth per lane, and how fast it must be to count."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.domain.enums import Lane


@dataclass(frozen=True)
class Economics:
    """Value of one delivery (USD) and latency SLA (s) per lane, indexed by ``Lane``.

    The defaults reflect that a lost OTP costs a login, a lost marketing message almost nothing.
    """

    value: tuple[float, ...] = (0.30, 0.10, 0.03)
    sla_s: tuple[float, ...] = (30.0, 300.0, 3600.0)
    value_array: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    sla_array: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.value) != len(Lane) or len(self.sla_s) != len(Lane):
            raise ValueError(f"value and sla_s need one entry per lane ({len(Lane)})")
        if any(v < 0 for v in self.value) or any(s <= 0 for s in self.sla_s):
            raise ValueError("values must be >= 0 and SLAs > 0")
        object.__setattr__(self, "value_array", np.asarray(self.value, dtype=np.float64))
        object.__setattr__(self, "sla_array", np.asarray(self.sla_s, dtype=np.float64))
