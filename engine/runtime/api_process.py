"""The HTTP API as its own uvicorn process(es) next to the engine: a slow request never stalls the
engine's loop, and ``workers`` > 1 uses both cores for HTTP, where most of the CPU per message goes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx

from engine.api.settings import ENV, ApiSettings
from engine.infra.apikeys import ApiKeys, CreatedKey
from engine.infra.keys import Keys
from engine.infra.store import connect


def start_api(
    settings: ApiSettings, log_file: Path | None = None, timeout_s: float = 60.0
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "engine.api.app:from_env", "--factory",
        "--host", settings.host, "--port", str(settings.port), "--workers", str(settings.workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    env = {**os.environ, ENV: settings.to_env()}
    with open(log_file or os.devnull, "ab") as out:  # the child has its own copy of the descriptor
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + timeout_s
    url = f"http://{settings.host}:{settings.port}/readyz"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited at start (code {process.returncode}); see {log_file}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return process
        time.sleep(0.2)
    stop_api(process)
    raise RuntimeError(f"the API did not become ready on {url} within {timeout_s:.0f} s")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_api(settings: ApiSettings, log_file: Path | None = None) -> Iterator[ApiSettings]:
    process = start_api(settings, log_file)
    try:
        yield settings
    finally:
        stop_api(process)


async def create_key(redis_url: str, namespace: str, tenant: str) -> CreatedKey:
    client = connect(redis_url)
    try:
        return await ApiKeys(client, Keys(namespace)).create(tenant)
    finally:
        await client.aclose()


def api_settings(
    redis_url: str, namespace: str, data_dir: Path, route_table: Path | None, **options: object
) -> ApiSettings:
    settings = ApiSettings(
        redis_url=redis_url, namespace=namespace, route_table=str(route_table) if route_table else None,
        decision_log=str(data_dir / "decision-log"),
    )  # fmt: skip
    return replace(settings, **{k: v for k, v in options.items() if v is not None})  # type: ignore[arg-type]
