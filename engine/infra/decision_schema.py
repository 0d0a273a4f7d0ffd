"""Parquet schemas of the decision log.

:data:`SCHEMA` is the analysts' view, one row per message and policy, shared by the simulator's
``decisions.parquet`` and :func:`engine.infra.decision_log.load` on live traffic, so the same
reports read both. The live engine writes two append-only datasets (:data:`DECISIONS`,
:data:`OUTCOMES`) that ``load`` joins into that view.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("policy", pa.dictionary(pa.int8(), pa.string())),
        ("seed", pa.int32()),
        ("message", pa.int64()),
        ("time", pa.float64()),
        ("context", pa.dictionary(pa.int32(), pa.string())),
        ("lane", pa.dictionary(pa.int8(), pa.string())),
        ("route", pa.dictionary(pa.int32(), pa.string())),
        ("propensity", pa.float32()),
        ("explored", pa.bool_()),
        ("delivered", pa.bool_()),
        ("latency_s", pa.float32()),
        ("dlr_status", pa.dictionary(pa.int8(), pa.string())),
        ("dlr_time", pa.float32()),
        ("cost", pa.float32()),
    ]
)

DECISIONS = pa.schema(
    [
        ("policy", pa.string()),
        ("message_id", pa.string()),
        ("time", pa.float64()),
        ("context", pa.string()),
        ("lane", pa.string()),
        ("route", pa.string()),
        ("propensity", pa.float64()),
        ("explored", pa.bool_()),
        ("score", pa.float64()),
        ("candidates", pa.list_(pa.string())),
        ("policy_version", pa.string()),
    ]
)

OUTCOMES = pa.schema(
    [
        ("message_id", pa.string()),
        ("time", pa.float64()),
        ("kind", pa.string()),
        ("latency_s", pa.float64()),
        ("cost", pa.float64()),
        ("error_code", pa.string()),
    ]
)

# dictionary of SCHEMA's dlr_status column, in the simulator's order (code = receipt + 1)
DLR_STATUSES = ("none", "undelivered", "delivered")
