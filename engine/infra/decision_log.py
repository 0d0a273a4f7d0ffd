"""The live decision log: every routing decision and every outcome, as append-only Parquet parts.

A folder holds two datasets, written by :class:`DecisionLog` and read back by :func:`load`::

    <folder>/decisions/part-000000.parquet   policy, message_id, time, context, lane, route,
                                             propensity, explored, score, candidates, policy_version
    <folder>/outcomes/part-000000.parquet    message_id, time, kind, latency_s, cost, error_code

Outcomes arrive long after their decision (a receipt may take hours), so they are rows of their own
rather than updates: nothing written is ever rewritten. A part is written to a temporary file and
then linked under a free number, so a reader never sees half a part, and a log reopened on an old
folder (or a second writer) never overwrites one.

:func:`load` joins both into the simulator's :data:`~engine.infra.decision_schema.SCHEMA`, so the
same reports run on live and simulated traffic.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from engine.domain.clock import Clock
from engine.domain.enums import Lane, MessageStatus
from engine.infra.decision_schema import DECISIONS, DLR_STATUSES, OUTCOMES, SCHEMA

_PART = re.compile(r"part-(\d+)\.parquet")
_LANES = [lane.label for lane in Lane]


class OutcomeKind(StrEnum):
    """What happened to a decided message, one row per event."""

    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # also expired, rejected by the operator: any final "not delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"  # no receipt within the timeout

    @classmethod
    def of(cls, status: MessageStatus) -> OutcomeKind:
        """The outcome a message status stands for.

        >>> OutcomeKind.of(MessageStatus.EXPIRED)
        <OutcomeKind.UNDELIVERED: 'undelivered'>
        """
        try:
            return _KINDS[status]
        except KeyError:
            raise ValueError(f"{status!r} is not an outcome of a decided message") from None


_KINDS = {
    MessageStatus.SENT: OutcomeKind.SUBMITTED,
    MessageStatus.DELIVERED: OutcomeKind.DELIVERED,
    MessageStatus.UNDELIVERED: OutcomeKind.UNDELIVERED,
    MessageStatus.EXPIRED: OutcomeKind.UNDELIVERED,
    MessageStatus.FAILED: OutcomeKind.FAILED,
    MessageStatus.UNKNOWN: OutcomeKind.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One routing decision: which route the policy chose among ``candidates``, and how surely."""

    policy: str
    message_id: str
    time: float
    context: str
    lane: Lane
    route: str  # "" when no candidate was available
    propensity: float
    explored: bool
    score: float
    candidates: tuple[str, ...]
    policy_version: str = ""


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One event in a decided message's life. ``latency_s``: submit to receipt, when known."""

    message_id: str
    time: float
    kind: OutcomeKind
    latency_s: float | None = None
    cost: float | None = None
    error_code: str | None = None


@dataclass(slots=True)
class DecisionColumns:
    """Decisions as columns, one list per field of :data:`DECISIONS`: what :class:`DecisionLog`
    buffers, and the cheap way to append many decisions (no object per row).

    ``lane`` holds lane labels (``Lane.label``). ``candidates`` is flat, as Arrow stores a list
    column: row ``i``'s route names are the next ``candidate_counts[i]`` names. Buffered rows thus
    hold no container per row for the garbage collector to walk while they wait for a flush.
    """

    policy: list[str] = field(default_factory=list)
    message_id: list[str] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    lane: list[str] = field(default_factory=list)
    route: list[str] = field(default_factory=list)
    propensity: list[float] = field(default_factory=list)
    explored: list[bool] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    candidate_counts: list[int] = field(default_factory=list)
    policy_version: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Sequence[DecisionRow]) -> DecisionColumns:
        return cls(
            [r.policy for r in rows], [r.message_id for r in rows], [r.time for r in rows],
            [r.context for r in rows], [r.lane.label for r in rows], [r.route for r in rows],
            [r.propensity for r in rows], [r.explored for r in rows], [r.score for r in rows],
            [name for r in rows for name in r.candidates], [len(r.candidates) for r in rows],
            [r.policy_version for r in rows],
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.message_id)

    def extend(self, more: DecisionColumns) -> None:
        if sum(more.candidate_counts) != len(more.candidates):
            raise ValueError("DecisionColumns: candidate_counts do not add up to the candidates")
        _extend(self, more, rows=[f.name for f in fields(self) if f.name != "candidates"])

    def table(self) -> pa.Table:
        offsets = np.zeros(len(self) + 1, dtype=np.int32)
        np.cumsum(self.candidate_counts, out=offsets[1:])
        names = pa.array(self.candidates, pa.string())
        candidates = pa.ListArray.from_arrays(offsets, names, type=DECISIONS.field("candidates").type)
        columns = [
            candidates if name == "candidates" else pa.array(getattr(self, name), DECISIONS.field(name).type)
            for name in DECISIONS.names
        ]
        return pa.Table.from_arrays(columns, schema=DECISIONS)


@dataclass(slots=True)
class OutcomeColumns:
    """Outcomes as columns, one list per field of :data:`OUTCOMES`, all of one length (``kind``: the
    :class:`OutcomeKind` values); see :class:`DecisionColumns`."""

    message_id: list[str] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    latency_s: list[float | None] = field(default_factory=list)
    cost: list[float | None] = field(default_factory=list)
    error_code: list[str | None] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Sequence[OutcomeRow]) -> OutcomeColumns:
        return cls(
            [r.message_id for r in rows], [r.time for r in rows], [r.kind.value for r in rows],
            [r.latency_s for r in rows], [r.cost for r in rows], [r.error_code for r in rows],
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.message_id)

    def extend(self, more: OutcomeColumns) -> None:
        _extend(self, more, rows=[f.name for f in fields(self)])

    def table(self) -> pa.Table:
        return pa.Table.from_pydict({name: getattr(self, name) for name in OUTCOMES.names}, schema=OUTCOMES)


def _extend(
    columns: DecisionColumns | OutcomeColumns, more: DecisionColumns | OutcomeColumns, rows: list[str]
) -> None:
    """Append ``more``'s columns to ``columns`` (same class); ``rows``: the columns of one value per
    row, which must be of one length."""
    n = len(more)
    if any(len(getattr(more, name)) != n for name in rows):
        raise ValueError(f"{type(more).__name__}: columns of unequal length")
    for f in fields(more):
        getattr(columns, f.name).extend(getattr(more, f.name))


class DecisionLog:
    """Buffers rows and writes a part every ``max_rows`` rows or when the oldest is ``max_age_s`` old.

    Age is checked on every append and on :meth:`poll` (call it from a periodic loop so a quiet
    log still flushes). :meth:`close` flushes; a closed log refuses rows.
    """

    def __init__(self, folder: Path, clock: Clock, *, max_rows: int = 10_000, max_age_s: float = 5.0) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        if max_age_s < 0:
            raise ValueError(f"max_age_s must be >= 0, got {max_age_s}")
        self.folder = Path(folder)
        self.clock = clock
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self._decisions = DecisionColumns()
        self._outcomes = OutcomeColumns()
        self._since: float | None = None  # when the oldest buffered row arrived
        self._closed = False
        numbers = [-1]
        for sub in ("decisions", "outcomes"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
            numbers += [n for n, _ in _parts(self.folder / sub)]
        self._next = max(numbers) + 1

    @property
    def pending(self) -> int:
        """Rows buffered, not yet written."""
        return len(self._decisions) + len(self._outcomes)

    def append_decisions(self, rows: Iterable[DecisionRow] | DecisionColumns) -> None:
        """Buffer decisions, as rows or (cheaper for many) as columns."""
        self._check_open()
        if not isinstance(rows, DecisionColumns):
            rows = DecisionColumns.of(list(rows))
        self._decisions.extend(rows)
        self._appended()

    def append_outcomes(self, rows: Iterable[OutcomeRow] | OutcomeColumns) -> None:
        """Buffer outcomes, as rows or (cheaper for many) as columns."""
        self._check_open()
        if not isinstance(rows, OutcomeColumns):
            rows = OutcomeColumns.of(list(rows))
        self._outcomes.extend(rows)
        self._appended()

    def poll(self) -> bool:
        """Flush if the buffer is full or old enough; True if a part was written."""
        full = self.pending >= self.max_rows
        old = self._since is not None and self.clock.now() - self._since >= self.max_age_s
        if self.pending and (full or old):
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write what is buffered: one part per non-empty dataset, under the same number if free."""
        if self._decisions:
            self._publish("decisions", self._decisions.table())
            self._decisions = DecisionColumns()
        if self._outcomes:
            self._publish("outcomes", self._outcomes.table())
            self._outcomes = OutcomeColumns()
        if self._since is not None:
            self._next += 1
        self._since = None

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"decision log {self.folder} is closed")

    def _appended(self) -> None:
        if self.pending and self._since is None:
            self._since = self.clock.now()
        self.poll()

    def _publish(self, sub: str, table: pa.Table) -> None:
        folder = self.folder / sub
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression="zstd")
            while True:  # link() never replaces an existing file, unlike rename()
                try:
                    os.link(tmp, folder / f"part-{self._next:06d}.parquet")
                    break
                except FileExistsError:
                    self._next += 1
        finally:
            os.unlink(tmp)


def _parts(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = ((_PART.fullmatch(p.name), p) for p in folder.iterdir())
    return sorted((int(m.group(1)), p) for m, p in found if m)


def _read(folder: Path, schema: pa.Schema) -> pd.DataFrame:
    tables = [pq.read_table(p, schema=schema) for _, p in _parts(folder)]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    frame: pd.DataFrame = table.to_pandas()
    return frame


def load(folder: Path) -> pd.DataFrame:
    """The log as the simulator's decision frame (:data:`SCHEMA` columns and types).

    - one row per policy and message: a message decided again (failover) keeps its last decision;
    - ``seed`` is 0; ``message`` numbers messages densely in order of their first decision;
    - ``delivered``: the message's last outcome other than ``submitted`` is ``delivered``;
    - ``dlr_status``, ``dlr_time``, ``latency_s``: from its last receipt (a ``delivered`` or
      ``undelivered`` outcome); "none" and NaN without one;
    - ``cost``: the sum of its outcomes' costs (0 without any);
    - outcomes of messages without a decision are left out.

    ``dlr_time`` is float32 as in the simulator: on epoch times it is only good to about 2 minutes;
    ``time`` (float64) is exact.
    """
    folder = Path(folder)
    dec = _read(folder / "decisions", DECISIONS).sort_values("time", kind="stable")
    out = _read(folder / "outcomes", OUTCOMES).sort_values("time", kind="stable")
    message = pd.factorize(dec["message_id"])[0]
    dec = dec.assign(message=message).drop_duplicates(["policy", "message_id"], keep="last")
    ended = out[out["kind"] != OutcomeKind.SUBMITTED.value].drop_duplicates("message_id", keep="last")
    receipt_kinds = [OutcomeKind.DELIVERED.value, OutcomeKind.UNDELIVERED.value]
    receipts = out[out["kind"].isin(receipt_kinds)].drop_duplicates("message_id", keep="last")
    ended, receipts = ended.set_index("message_id"), receipts.set_index("message_id")
    ids = dec["message_id"]
    last_receipt = ids.map(receipts["kind"])
    dlr_status = np.where(last_receipt.isna(), DLR_STATUSES[0], last_receipt.to_numpy(object))
    columns = [
        _dictionary(dec["policy"], pa.int8()),
        pa.array(np.zeros(len(dec), np.int32)),
        pa.array(dec["message"].to_numpy(np.int64)),
        pa.array(dec["time"].to_numpy(np.float64)),
        _dictionary(dec["context"], pa.int32()),
        _dictionary(dec["lane"], pa.int8(), _LANES),
        _dictionary(dec["route"], pa.int32()),
        pa.array(dec["propensity"].to_numpy(np.float32)),
        pa.array(dec["explored"].to_numpy(np.bool_)),
        pa.array(ids.map(ended["kind"]).eq(OutcomeKind.DELIVERED.value).to_numpy(np.bool_)),
        pa.array(_floats(ids.map(receipts["latency_s"]))),
        _dictionary(dlr_status, pa.int8(), list(DLR_STATUSES)),
        pa.array(_floats(ids.map(receipts["time"]))),
        pa.array(_floats(ids.map(out.groupby("message_id")["cost"].sum()).fillna(0.0))),
    ]
    frame: pd.DataFrame = pa.Table.from_arrays(columns, schema=SCHEMA).to_pandas()
    return frame


def _floats(values: pd.Series) -> NDArray[np.float32]:
    return values.astype("float64").to_numpy(np.float32, na_value=np.nan)


def _dictionary(
    values: pd.Series | NDArray[np.object_], index: pa.DataType, categories: list[str] | None = None
) -> pa.Array:
    """Dictionary-encode strings; with fixed ``categories`` (the simulator's order) when given."""
    if categories is None:
        categories = sorted(set(values))
    codes = pd.Categorical(values, categories=categories).codes
    if (codes < 0).any():
        unknown = sorted(set(values) - set(categories))
        raise ValueError(f"values outside {categories}: {unknown}")
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=index), pa.array(categories, pa.string()))
