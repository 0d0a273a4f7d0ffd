"""Settings refuse bad values when built, not at the first retry."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from engine.callbacks.settings import CallbackSettings


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_s", 0.0, "base_s must be > 0"),
        ("cap_s", -1.0, "cap_s must be > 0"),
        ("max_age_s", float("nan"), "max_age_s must be > 0"),
        ("timeout_s", 0.0, "timeout_s must be > 0"),
        ("poll_s", 0.0, "poll_s must be > 0"),
        ("cap_s", 5.0, "cap_s .* must be >= base_s"),
        ("jitter", -0.1, "jitter must be within"),
        ("jitter", 0.6, "jitter must be within"),
        ("concurrency", 0, "concurrency must be an integer >= 1"),
        ("per_host", 2.5, "per_host must be an integer >= 1"),
        ("read_count", 0, "read_count must be an integer >= 1"),
    ],
)
def test_invalid_settings_are_refused(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CallbackSettings(**{field: value})


def test_settings_travel_to_an_actor() -> None:
    s = CallbackSettings(base_s=2.0, per_host=3)
    assert pickle.loads(pickle.dumps(s)) == s
