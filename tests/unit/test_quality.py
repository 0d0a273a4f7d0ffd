"""Quality per country x operator x channel, from a decision frame (the analysts' columns)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.infra.quality import quality, wilson


def _frame() -> pd.DataFrame:
    rows = [
        # context, route, delivered, latency, dlr_status, cost
        ("NG/621-20", "a", True, 2.0, "delivered", 0.02),
        ("NG/621-20", "a", True, 4.0, "delivered", 0.02),
        ("NG/621-20", "a", False, np.nan, "none", 0.02),
        ("NG/621-20", "b", False, 9.0, "undelivered", 0.01),
        ("GB/*", "a", True, 1.0, "delivered", 0.03),
    ]
    return pd.DataFrame(rows, columns=["context", "route", "delivered", "latency_s", "dlr_status", "cost"])


def test_one_row_per_country_operator_and_channel() -> None:
    rows = {(r["country"], r["operator"], r["channel"]): r for r in quality(_frame()).to_dict("records")}
    ng_a = rows[("NG", "621-20", "a")]
    assert (ng_a["messages"], ng_a["delivered"]) == (3, 2)
    assert ng_a["delivery_rate"] == pytest.approx(2 / 3)
    assert ng_a["unknown_rate"] == pytest.approx(1 / 3)  # one message never reported
    assert ng_a["dlr_latency_p50_s"] == pytest.approx(3.0)
    assert ng_a["cost_per_delivered"] == pytest.approx(0.06 / 2)
    assert math.isnan(rows[("NG", "621-20", "b")]["cost_per_delivered"])  # nothing delivered
    assert rows[("GB", "*", "a")]["messages"] == 1


def test_the_interval_holds_the_rate_and_narrows_with_more_messages() -> None:
    small, large = wilson(8, 10), wilson(800, 1000)
    assert small[0] < 0.8 < small[1]
    assert large[0] < 0.8 < large[1]
    assert large[1] - large[0] < small[1] - small[0]
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(5, 5)[1] == 1.0


def test_an_empty_log_gives_an_empty_table() -> None:
    assert quality(pd.DataFrame()).empty
