"""EventQueue: every event popped exactly once, only when due, with its columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.eventqueue import EventQueue

Op = tuple[str, list[float]]  # ("push", times) or ("pop", [time step])

ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.lists(st.floats(-5.0, 60.0), max_size=6)),
        st.tuples(st.just("pop"), st.lists(st.floats(0.0, 10.0), min_size=1, max_size=1)),
    ),
    max_size=40,
)


@pytest.mark.parametrize("merge_at", [1, 2, 8, 1000])
@settings(max_examples=60)
@given(ops=ops)
def test_pop_until_returns_each_event_once_and_only_when_due(merge_at: int, ops: list[Op]) -> None:
    queue = EventQueue(merge_at=merge_at)
    at: list[float] = []
    popped: set[int] = set()
    now = 0.0
    for kind, values in [*ops, ("pop", [100.0])]:
        if kind == "push":
            ids = np.arange(len(at), len(at) + len(values), dtype=np.int64)
            # Pushes land relative to the clock; a few are already due (at <= now).
            times = now + np.asarray(values, dtype=np.float64)
            queue.push(times, id=ids, twice=2 * ids)
            at += times.tolist()
            continue
        now += values[0]
        got = queue.pop_until(now)
        due = {i for i, t in enumerate(at) if t <= now} - popped
        if got is None:
            assert not due
            continue
        ids_out = got["id"].tolist()
        assert len(ids_out) == len(set(ids_out))
        assert set(ids_out) == due
        np.testing.assert_array_equal(got["at"], np.asarray(at)[got["id"]])
        np.testing.assert_array_equal(got["twice"], 2 * got["id"])
        popped |= due
    assert popped == set(range(len(at)))


def test_pop_until_on_an_empty_queue_is_none() -> None:
    queue = EventQueue()
    assert queue.pop_until(10.0) is None
    queue.push(np.empty(0), id=np.empty(0, np.int64))
    assert queue.pop_until(10.0) is None


def test_pop_until_leaves_future_events_for_later() -> None:
    queue = EventQueue(merge_at=1)
    queue.push(np.array([5.0, 1.0, 3.0]), id=np.array([0, 1, 2]))
    first = queue.pop_until(3.0)
    assert first is not None
    assert sorted(first["id"].tolist()) == [1, 2]
    assert queue.pop_until(4.0) is None
    last = queue.pop_until(5.0)
    assert last is not None
    assert last["id"].tolist() == [0]
