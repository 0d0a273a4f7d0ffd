"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ray

from engine.runtime.engine import init_ray


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for the whole session (starting one costs seconds)."""
    init_ray(None)
    try:
        yield
    finally:
        ray.shutdown()
