"""The live decision log: buffered Parquet parts, and their join into the simulator's schema."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from engine.domain.clock import ManualClock
from engine.domain.enums import Lane, MessageStatus
from engine.infra.decision_log import (
    DecisionColumns,
    DecisionLog,
    DecisionRow,
    OutcomeColumns,
    OutcomeKind,
    OutcomeRow,
    load,
)
from engine.infra.decision_schema import SCHEMA
from simulations import decisions as simulated

K = OutcomeKind


def decision(message_id: str, time: float = 0.0, route: str = "a", policy: str = "ts") -> DecisionRow:
    return DecisionRow(
        policy, message_id, time, "FR/20801", Lane.OTP, route, 0.5, False, 0.9, ("a", "b"), "v1"
    )


def outcome(
    message_id: str,
    kind: OutcomeKind,
    time: float,
    *,
    latency_s: float | None = None,
    cost: float | None = None,
    error_code: str | None = None,
) -> OutcomeRow:
    return OutcomeRow(message_id, time, kind, latency_s, cost, error_code)


def parts(folder: Path, sub: str) -> list[str]:
    return sorted(p.name for p in (folder / sub).glob("part-*.parquet"))


def test_rows_stay_buffered_until_flush(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path, ManualClock(), max_rows=100, max_age_s=60)
    log.append_decisions([decision("m1")])
    log.append_outcomes([outcome("m1", K.SUBMITTED, 0.1, cost=0.02)])
    assert (log.pending, parts(tmp_path, "decisions")) == (2, [])
    log.flush()
    assert log.pending == 0
    assert parts(tmp_path, "decisions") == parts(tmp_path, "outcomes") == ["part-000000.parquet"]
    table = pq.read_table(tmp_path / "decisions" / "part-000000.parquet")
    assert table.column("candidates").to_pylist() == [["a", "b"]]
    assert table.column("policy_version").to_pylist() == ["v1"]


def test_columns_write_what_rows_write(tmp_path: Path) -> None:
    rows = [decision("m1"), decision("m2", 1.0, route="b")]
    outcomes = [outcome("m1", K.DELIVERED, 2.0, latency_s=1.5), outcome("m2", K.FAILED, 3.0, error_code="x")]
    with DecisionLog(tmp_path / "rows", ManualClock()) as log:
        log.append_decisions(iter(rows))
        log.append_outcomes(outcomes)
    with DecisionLog(tmp_path / "columns", ManualClock()) as log:
        log.append_decisions(DecisionColumns.of(rows[:1]))
        log.append_decisions(
            DecisionColumns(
                ["ts"],
                ["m2"],
                [1.0],
                ["FR/20801"],
                ["otp"],
                ["b"],
                [0.5],
                [False],
                [0.9],
                ["a", "b"],
                [2],
                ["v1"],
            )
        )
        assert log.pending == 2
        log.append_outcomes(OutcomeColumns.of(outcomes))
    for sub in ("decisions", "outcomes"):
        by_rows = pq.read_table(tmp_path / "rows" / sub / "part-000000.parquet")
        by_columns = pq.read_table(tmp_path / "columns" / sub / "part-000000.parquet")
        assert by_rows.schema == by_columns.schema
        assert by_rows.to_pylist() == by_columns.to_pylist()


def test_columns_of_unequal_length_are_refused(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path, ManualClock())
    with pytest.raises(ValueError, match="unequal length"):
        log.append_outcomes(OutcomeColumns(["m1", "m2"], [1.0], ["delivered"], [None], [None], [None]))
    columns = DecisionColumns.of([decision("m1")])
    columns.candidate_counts = [3]
    with pytest.raises(ValueError, match="candidate_counts"):
        log.append_decisions(columns)
    assert log.pending == 0


def test_flushes_every_max_rows(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path, ManualClock(), max_rows=3, max_age_s=60)
    log.append_decisions([decision("m1"), decision("m2")])
    assert parts(tmp_path, "decisions") == []
    log.append_outcomes([outcome("m1", K.SUBMITTED, 1.0)])
    assert parts(tmp_path, "decisions") == parts(tmp_path, "outcomes") == ["part-000000.parquet"]
    log.append_decisions([decision(f"n{i}") for i in range(3)])
    assert parts(tmp_path, "decisions") == ["part-000000.parquet", "part-000001.parquet"]
    assert log.pending == 0


def test_flushes_when_the_oldest_row_is_max_age_old(tmp_path: Path) -> None:
    clock = ManualClock(100.0)
    log = DecisionLog(tmp_path, clock, max_rows=1000, max_age_s=5)
    assert not log.poll()  # nothing buffered: no empty part
    log.append_decisions([decision("m1")])
    clock.advance(4.0)
    log.append_decisions([decision("m2")])
    assert not log.poll()
    clock.advance(1.0)
    assert log.poll()
    assert parts(tmp_path, "decisions") == ["part-000000.parquet"]
    assert parts(tmp_path, "outcomes") == []


def test_close_flushes_and_refuses_more_rows(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision("m1")])
    assert parts(tmp_path, "decisions") == ["part-000000.parquet"]
    log.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        log.append_outcomes([outcome("m1", K.SUBMITTED, 1.0)])


def test_reopening_a_folder_appends_new_parts(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as first:
        first.append_decisions([decision("m1")])
    with DecisionLog(tmp_path, ManualClock()) as second:
        second.append_decisions([decision("m2", time=1.0)])
        second.append_outcomes([outcome("m1", K.DELIVERED, 2.0, latency_s=2.0)])
    assert parts(tmp_path, "decisions") == ["part-000000.parquet", "part-000001.parquet"]
    assert parts(tmp_path, "outcomes") == ["part-000001.parquet"]
    frame = load(tmp_path)
    assert frame["message"].tolist() == [0, 1]
    assert frame["delivered"].tolist() == [True, False]


def test_two_writers_on_one_folder_never_overwrite_each_other(tmp_path: Path) -> None:
    a = DecisionLog(tmp_path, ManualClock())
    b = DecisionLog(tmp_path, ManualClock())
    a.append_decisions([decision("m1")])
    b.append_decisions([decision("m2")])
    a.flush()
    b.flush()
    assert parts(tmp_path, "decisions") == ["part-000000.parquet", "part-000001.parquet"]
    assert sorted(load(tmp_path)["message"].tolist()) == [0, 1]
    assert not list((tmp_path / "decisions").glob(".part-*"))  # no temporary file left behind


def test_load_joins_decisions_with_their_outcomes(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision(m, time=t) for m, t in [("ok", 1.0), ("lost", 2.0), ("quiet", 3.0)]])
        log.append_outcomes(
            [
                outcome("ok", K.SUBMITTED, 1.1, cost=0.03),
                outcome("lost", K.SUBMITTED, 2.1, cost=0.01),
                outcome("quiet", K.SUBMITTED, 3.1, cost=0.02),
                outcome("ok", K.DELIVERED, 6.0, latency_s=4.9),
                outcome("lost", K.UNDELIVERED, 9.0, latency_s=6.9, error_code="0x0B"),
                outcome("quiet", K.UNKNOWN, 700.0),
                outcome("stray", K.DELIVERED, 5.0),  # no decision: left out
            ]
        )
    frame = load(tmp_path).set_index("message")
    assert frame.index.tolist() == [0, 1, 2]
    assert frame["delivered"].tolist() == [True, False, False]
    assert frame["dlr_status"].astype(str).tolist() == ["delivered", "undelivered", "none"]
    assert frame["dlr_time"].tolist()[:2] == [6.0, 9.0]
    assert math.isnan(frame["dlr_time"].iloc[2])
    assert frame["latency_s"].tolist()[:2] == pytest.approx([4.9, 6.9])
    assert frame["cost"].tolist() == pytest.approx([0.03, 0.01, 0.02])
    assert (frame["seed"] == 0).all()
    assert frame["lane"].astype(str).unique().tolist() == ["otp"]


def test_late_receipt_after_unknown_counts_as_delivered(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision("m1")])
        log.append_outcomes(
            [
                outcome("m1", K.SUBMITTED, 0.5),
                outcome("m1", K.UNKNOWN, 600.0),
                outcome("m1", K.DELIVERED, 900.0, latency_s=899.5),
            ]
        )
    row = load(tmp_path).iloc[0]
    assert (row["delivered"], row["dlr_status"], row["dlr_time"]) == (True, "delivered", 900.0)


def test_failover_keeps_the_last_decision_and_sums_costs(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision("m1", 0.0, route="a"), decision("m1", 1.0, route="b")])
        log.append_decisions([decision("m2", 2.0, route="a")])
        log.append_outcomes(
            [
                outcome("m1", K.FAILED, 0.5, error_code="throttled"),
                outcome("m1", K.SUBMITTED, 1.5, cost=0.04),
                outcome("m1", K.DELIVERED, 3.0, latency_s=1.5),
            ]
        )
    frame = load(tmp_path)
    assert frame["message"].tolist() == [0, 1]
    assert frame["route"].astype(str).tolist() == ["b", "a"]
    assert frame["delivered"].tolist() == [True, False]
    assert frame["cost"].tolist() == pytest.approx([0.04, 0.0])


def test_each_policy_keeps_its_own_row_for_a_message(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision("m1", policy="ts"), decision("m1", policy="shadow", route="b")])
        log.append_outcomes([outcome("m1", K.DELIVERED, 2.0)])
    frame = load(tmp_path)
    assert sorted(frame["policy"].astype(str)) == ["shadow", "ts"]
    assert frame["message"].tolist() == [0, 0]
    assert frame["delivered"].all()


def test_load_has_the_simulators_columns_and_types(tmp_path: Path) -> None:
    with DecisionLog(tmp_path, ManualClock()) as log:
        log.append_decisions([decision("m1")])
    frame = load(tmp_path)
    empty = SCHEMA.empty_table().to_pandas()
    assert list(frame.columns) == SCHEMA.names
    assert frame.dtypes.astype(str).tolist() == empty.dtypes.astype(str).tolist()


@pytest.mark.parametrize("make", [True, False])
def test_loading_an_empty_or_missing_folder_gives_an_empty_frame(tmp_path: Path, make: bool) -> None:
    if make:
        DecisionLog(tmp_path, ManualClock()).close()
    frame = load(tmp_path / ("" if make else "missing"))
    assert isinstance(frame, pd.DataFrame)
    assert frame.empty
    assert list(frame.columns) == SCHEMA.names


def test_simulator_reads_the_schema_from_infra() -> None:
    assert simulated.SCHEMA is SCHEMA


def test_outcome_kinds_of_message_statuses() -> None:
    assert OutcomeKind.of(MessageStatus.SENT) is K.SUBMITTED
    assert OutcomeKind.of(MessageStatus.EXPIRED) is K.UNDELIVERED
    assert OutcomeKind.of(MessageStatus.UNKNOWN) is K.UNKNOWN
    with pytest.raises(ValueError, match="not an outcome"):
        OutcomeKind.of(MessageStatus.QUEUED)


def test_invalid_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        DecisionLog(tmp_path, ManualClock(), max_rows=0)
    with pytest.raises(ValueError, match="max_age_s"):
        DecisionLog(tmp_path, ManualClock(), max_age_s=-1)
