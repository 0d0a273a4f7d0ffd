"""The API served by a real uvicorn on a free loopback port, over the real embedded Redis."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from engine.api.app import create_app
from engine.api.settings import ApiSettings
from engine.infra.apikeys import ApiKeys
from engine.infra.keys import Keys
from engine.infra.store import MessageStore, connect
from tests.infra.conftest import redis_url

__all__ = ["redis_url"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Api:
    url: str
    namespace: str
    redis_url: str
    keys: dict[str, str]  # tenant -> bearer token

    def client(self, tenant: str | None = "acme") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[tenant]}"} if tenant else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)

    def run(self, coro_fn: Any) -> Any:
        async def with_store() -> Any:
            client = connect(self.redis_url)
            try:
                return await coro_fn(MessageStore(client, Keys(self.namespace)))
            finally:
                await client.aclose()

        return asyncio.run(with_store())


@contextlib.contextmanager
def serve(redis_url: str, **options: Any) -> Iterator[Api]:
    """The API on a free port, in a namespace of its own, with keys for three tenants."""
    namespace = f"api{secrets.token_hex(3)}"
    settings = ApiSettings(redis_url=redis_url, namespace=namespace, port=free_port(), **options)

    async def make_keys() -> dict[str, str]:
        client = connect(redis_url)
        try:
            keys = ApiKeys(client, Keys(namespace))
            return {t: (await keys.create(t)).token for t in ("acme", "globex", "limited")}
        finally:
            await client.aclose()

    tokens = asyncio.run(make_keys())
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning", lifespan="on"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield Api(f"http://127.0.0.1:{settings.port}", namespace, redis_url, tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api(redis_url: str) -> Iterator[Api]:
    with serve(redis_url, rate_per_s=200.0, max_batch=500) as running:
        yield running
