"""BitmapReceipts: only the first final receipt per message passes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.dlr.dedup import BitmapReceipts


def test_duplicates_within_a_batch_are_dropped_and_counted() -> None:
    seen = BitmapReceipts(10)
    assert seen.first(np.array([3, 3, 4, 3])).tolist() == [True, False, True, False]
    assert seen.duplicates == 2


def test_duplicates_across_batches_are_dropped_and_counted() -> None:
    seen = BitmapReceipts(10)
    seen.first(np.array([1, 2]))
    assert seen.first(np.array([2, 5, 1])).tolist() == [False, True, False]
    assert seen.duplicates == 2


def test_empty_batch_changes_nothing() -> None:
    seen = BitmapReceipts(4)
    assert seen.first(np.empty(0, np.int64)).tolist() == []
    assert seen.duplicates == 0


@given(st.lists(st.lists(st.integers(0, 19), max_size=15), max_size=10))
def test_matches_a_set_of_seen_messages(batches: list[list[int]]) -> None:
    seen = BitmapReceipts(20)
    reference: set[int] = set()
    dropped = 0
    for batch in batches:
        expected = []
        for message in batch:
            expected.append(message not in reference)
            reference.add(message)
        dropped += expected.count(False)
        assert seen.first(np.array(batch, dtype=np.int64)).tolist() == expected
    assert seen.duplicates == dropped
