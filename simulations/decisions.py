"""``decisions.parquet``: one row per message and policy, the same schema live traffic will use."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.domain.enums import Lane
from engine.infra.decision_schema import SCHEMA
from simulations.runner import Run
from simulations.traffic import Traffic
from simulations.world import World

__all__ = ["SCHEMA", "DecisionLog"]  # SCHEMA lives in engine.infra, re-exported for old readers

_LANES = pa.array([lane.label for lane in Lane])
_DLR = pa.array(["none", "undelivered", "delivered"])


class DecisionLog:
    """Appends one row group per run; a context manager so the file is always closed."""

    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._writer.close()

    def write(self, world: World, traffic: Traffic, run: Run) -> None:
        n = len(traffic)
        routes = pa.array([*world.channel_names, ""])
        route_idx = np.where(run.arm >= 0, world.arms.channel[run.arm], len(world.channel_names))
        columns = [
            pa.DictionaryArray.from_arrays(np.zeros(n, np.int8), pa.array([run.policy])),
            pa.array(np.full(n, run.seed, np.int32)),
            pa.array(np.arange(n, dtype=np.int64)),
            pa.array(traffic.time()),
            pa.DictionaryArray.from_arrays(traffic.context.astype(np.int32), pa.array(world.context_keys)),
            pa.DictionaryArray.from_arrays(traffic.lane.astype(np.int8), _LANES),
            pa.DictionaryArray.from_arrays(route_idx.astype(np.int32), routes),
            pa.array(run.propensity),
            pa.array(run.explored),
            pa.array(run.delivered),
            pa.array(run.latency_s),
            pa.DictionaryArray.from_arrays((run.receipt + 1).astype(np.int8), _DLR),
            pa.array(run.receipt_at),
            pa.array(run.cost),
        ]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=SCHEMA))
