"""Building channels against the fake aggregator, and a callback server that feeds them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping

from adapters.http import HttpChannel, WebhookError, build
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage, Receipt
from engine.domain.types import Channel
from tests.http_channel.fake import ACCOUNT, HOOK_SECRET, TOKEN
from tests.http_channel.server import MiniServer, Request, Response


def channel_config(
    cid: str, mapping: str, base_url: str, callback_url: str = "", **options: float | str
) -> Channel:
    opts: dict[str, str | float | int | bool] = {
        "mapping": mapping,
        "base_url": base_url,
        "token_env": "FAKE_TOKEN",
        "read_timeout_s": 2.0,
        "connect_timeout_s": 1.0,
        "retry_backoff_s": 0.01,
    }
    if mapping == "twilio_like":
        opts["account"] = ACCOUNT
    else:
        opts["webhook_secret_env"] = "FAKE_HOOK"
    if callback_url:
        opts["callback_url"] = callback_url
    opts.update(options)
    return Channel(cid, "http", options=tuple(sorted(opts.items())))


def make_channel(mapping: str, base_url: str, callback_url: str = "", **options: float | str) -> HttpChannel:
    config = channel_config(f"agg-{mapping}", mapping, base_url, callback_url, **options)
    return build(config, secrets_for(mapping))


def secrets_for(mapping: str) -> dict[str, str]:
    """What the runtime resolves from the options (Twilio signs webhooks with the API token)."""
    return {"token": TOKEN} if mapping == "twilio_like" else {"token": TOKEN, "webhook_secret": HOOK_SECRET}


def messages(n: int, prefix: str = "m", to: str = "+2348030{i:05d}") -> list[OutboundMessage]:
    return [
        OutboundMessage(f"{prefix}{i}", to.format(i=i), "ACME", f"code {i:04d}", Lane.OTP) for i in range(n)
    ]


class Intake:
    """A real HTTP endpoint in the current loop standing in for the API's DLR route: it hands each
    webhook to ``accept`` (``channel.ingest_webhook`` or a ``webhook_parser``) and answers as the
    API would: 204, or the WebhookError's status."""

    def __init__(self) -> None:
        self.server = MiniServer(self._handle)
        self.accept: Callable[[Mapping[str, str], bytes, str], object] | None = None
        self.answers: list[int] = []

    @property
    def url(self) -> str:
        return self.server.url + "/v1/channels/agg/dlr"

    async def _handle(self, request: Request) -> Response:
        assert self.accept is not None
        try:
            self.accept(request.headers, request.body, self.server.url + request.target)
            response = Response(204)
        except WebhookError as exc:
            response = Response(exc.http_status, exc.reason.encode())
        self.answers.append(response.status)
        return response


@contextlib.asynccontextmanager
async def intake() -> AsyncIterator[Intake]:
    hook = Intake()
    await hook.server.start()
    try:
        yield hook
    finally:
        await hook.server.stop()


async def wait_receipts(channel: HttpChannel, n: int, deadline_s: float = 3.0) -> list[Receipt]:
    got: list[Receipt] = []
    end = time.monotonic() + deadline_s
    while len(got) < n and time.monotonic() < end:
        got += await channel.receipts(1000, 0.05)
    return got


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)
