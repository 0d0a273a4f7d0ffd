"""The comparison table: means across seeds and paired differences with confidence intervals.

Every policy saw the same traffic and truth in a seed, so the difference to the reference policy is
taken seed by seed (paired), which removes most of the seed-to-seed noise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom (no SciPy at run time).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

COLUMNS = {
    "delivery_pct_of_oracle": "deliv % oracle",
    "utility_pct_of_oracle": "util % oracle",
    "regret_per_1000": "regret $/1k",
    "cost_per_delivered": "$/delivered",
    "otp_within_sla_pct": "OTP in SLA %",
    "shift_away_median_s": "shift p50 s",
    "shift_away_p90_s": "shift p90 s",
    "shift_back_median_s": "back p50 s",
    "us_per_decision": "µs/decision",
}
PAIRED = ("delivery_pct_of_oracle", "utility_pct_of_oracle", "regret_per_1000")


def t95(n: int) -> float:
    if n < 2:
        return math.nan
    return _T95[n - 2] if n - 1 <= len(_T95) else 1.96


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    if len(values) == 1:
        return float(values[0]), math.nan
    return float(values.mean()), t95(len(values)) * float(values.std(ddof=1)) / math.sqrt(len(values))


def comparison(summary: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per policy: seed means, and paired differences to ``reference`` with 95 % CIs."""
    rows = []
    ref = summary[summary["policy"] == reference].set_index("seed")
    for policy, group in summary.groupby("policy", sort=False):
        row: dict[str, object] = {"policy": policy, "seeds": len(group)}
        for key in COLUMNS:
            values = pd.to_numeric(group[key], errors="coerce").to_numpy(dtype=float)
            row[key] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
        for key in PAIRED:
            if policy == reference or ref.empty:
                row[f"{key}_diff"], row[f"{key}_ci"] = math.nan, math.nan
                continue
            mine = group.set_index("seed")[key]
            diff = (mine - ref[key].reindex(mine.index)).to_numpy(dtype=float)
            row[f"{key}_diff"], row[f"{key}_ci"] = mean_ci(diff)
        rows.append(row)
    return pd.DataFrame(rows)
