"""A real Redis (the embedded server the engine starts) for the whole session, one namespace per test."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine.infra.keys import Keys
from engine.infra.server import EmbeddedRedis
from engine.infra.store import MessageStore, connect


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server.url


@contextlib.asynccontextmanager
async def open_store(url: str) -> AsyncIterator[MessageStore]:
    """A store in a namespace of its own, so tests sharing the server never see each other's keys."""
    client = connect(url)
    try:
        yield MessageStore(client, Keys(f"t{secrets.token_hex(4)}"))
    finally:
        await client.aclose()
