"""An engine whose start fails halfway stops what it started and raises the real cause."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from engine.routing.table import parse_route_table
from engine.runtime.engine import Engine, EngineConfig

TABLE = parse_route_table(
    {
        "channels": [{"id": "a", "kind": "simulated"}],
        "routes": [{"country": "*", "candidates": [{"channel": "a", "price": 0.01}]}],
    },
    "test",
)


def test_a_failed_start_raises_the_cause_and_can_be_stopped_again(tmp_path: Path) -> None:
    engine = Engine(EngineConfig(TABLE, data_dir=tmp_path, redis_url=f"unix://{tmp_path}/nothing.sock"))
    with pytest.raises(RedisConnectionError):
        asyncio.run(engine.start())
    asyncio.run(engine.stop())  # nothing left to stop: no error either
    assert [a for a in engine.actors() if a is not None] == []  # no actor was left running
