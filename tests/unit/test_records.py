"""The record layout's small helpers (the layout itself is tested against Redis in tests/infra)."""

from __future__ import annotations

import doctest

from engine.infra import records
from engine.infra.records import index_value, read_index_value, time_text


def test_time_text_is_the_exact_repr_and_keeps_ints_and_floats_apart() -> None:
    stamps = [1733540000.123456, 1733540000.123456, 86_400.0, 1.0, 1, 0.1 + 0.2]
    assert [time_text(t) for t in stamps] == [repr(t) for t in stamps]
    assert float(time_text(0.1 + 0.2)) == 0.1 + 0.2


def test_an_index_value_reads_back_as_written() -> None:
    value = index_value("m1", 7, 1733540000.123456, False, ["0001A2", "x y"])
    message_id, view = read_index_value(value)
    assert message_id == "m1"
    assert view is not None
    assert (view.arm, view.submitted_at, view.implied, view.provider_ids) == (
        7, 1733540000.123456, False, ("0001A2", "x y")
    )  # fmt: skip


def test_the_examples_in_the_layout_module_hold() -> None:
    result = doctest.testmod(records)
    assert result.attempted > 0
    assert result.failed == 0
