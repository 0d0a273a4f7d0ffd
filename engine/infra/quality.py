"""Quality and cost per country x operator x channel, from the decision log (the analysts' source).

The API and the analysts read the same numbers: this is the decision frame of
:func:`engine.infra.decision_log.load`, grouped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959964


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sane at 0, n and small n)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def quality(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per country, operator and channel."""
    columns = [
        "country", "operator", "channel", "messages", "delivered", "delivery_rate", "ci_low", "ci_high",
        "dlr_latency_p50_s", "dlr_latency_p95_s", "unknown_rate", "cost_per_delivered",
    ]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    context = frame["context"].astype(str).str.split("/", n=1, expand=True)
    data = frame.assign(
        country=context[0], operator=context[1].fillna("*"), channel=frame["route"].astype(str),
        silent=frame["dlr_status"].astype(str).eq("none"),
    )  # fmt: skip
    rows = []
    for (country, operator, channel), group in data.groupby(
        ["country", "operator", "channel"], observed=True
    ):
        n, delivered = len(group), int(group["delivered"].sum())
        latency = group["latency_s"].dropna().to_numpy(np.float64)
        low, high = wilson(delivered, n)
        p50, p95 = np.percentile(latency, [50, 95]) if len(latency) else (math.nan, math.nan)
        cost = float(group["cost"].sum())
        rows.append([country, operator, channel, n, delivered, delivered / n, low, high, p50, p95,
                     float(group["silent"].mean()), cost / delivered if delivered else math.nan])  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
