"""The FastAPI application: ``create_app(settings)``; ``from_env()`` is uvicorn's factory.

Limits sit in front of everything as a small ASGI middleware: an oversize body is refused with 413
before it is read, and a POST that is not JSON with 415, so handlers only see well-formed input.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api import problems
from engine.api.problems import Problem
from engine.api.ratelimit import RateLimiter
from engine.api.routes import batches, callbacks, channels, messages, ops
from engine.api.settings import ApiSettings
from engine.api.state import ApiState
from engine.destinations.operators import OperatorTable
from engine.destinations.resolver import DestinationResolver
from engine.domain.clock import Clock, SystemClock
from engine.infra.apikeys import ApiKeys
from engine.infra.callbacks import DeadLetters
from engine.infra.heap import settle_heap
from engine.infra.keys import Keys
from engine.infra.store import Inbound, MessageStore, connect
from engine.routing.table import RouteTable, load_route_table
from engine.runtime.adapters import secrets_of

log = logging.getLogger(__name__)
JSON_ONLY = ("/v1/messages", "/v1/batches")


class Limits:
    """Body size (by declared length, then by counting what arrives) and JSON content type."""

    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        ceiling = (
            self.settings.max_batch_body_bytes
            if path.startswith("/v1/batches")
            else self.settings.max_body_bytes
        )
        problem = self._check(path, headers, ceiling)
        if problem is not None:
            await problem.response()(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > ceiling:  # a body without a length (chunked) that keeps coming
                # FastAPI passes an HTTPException raised while it reads a body through; anything
                # else it would answer as a 400.
                raise HTTPException(413, _too_large(ceiling).detail)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _check(path: str, headers: dict[str, str], ceiling: int) -> Problem | None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > ceiling:
            return _too_large(ceiling)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if path.startswith(JSON_ONLY) and path.count("/") <= 3 and media != "application/json":
            return Problem(415, "unsupported_media_type", "send the body as application/json")
        return None


def _too_large(ceiling: int) -> Problem:
    return Problem(413, "body_too_large", f"the request body is over {ceiling} bytes")


def _webhook_parsers(table: RouteTable | None) -> dict[str, Callable[..., Any]]:
    """Signature-checking DLR parsers of the HTTP channels, by channel id; the adapter's refusals
    become problems (401 for a bad signature, 400 otherwise), anything else stays a bug."""
    if table is None:
        return {}
    parsers = {}
    for channel in table.channels:
        if channel.kind == "http":
            module = importlib.import_module("adapters.http")
            parsers[channel.id] = _refusing(
                module.webhook_parser(channel, secrets_of(channel)), module.WebhookError
            )
    return parsers


def _refusing(parse: Callable[..., Any], refusal: type[Exception]) -> Callable[..., Any]:
    def parse_or_refuse(headers: dict[str, str], body: bytes, url: str) -> Any:
        try:
            return parse(headers, body, url)
        except refusal as exc:
            reason = str(getattr(exc, "reason", "malformed"))
            log.warning("refused a delivery report webhook: %s", reason)
            status = 401 if reason == "bad_signature" else 400
            raise Problem(status, f"webhook_{reason}", f"delivery report refused: {reason}") from None

    return parse_or_refuse


def create_app(settings: ApiSettings, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = connect(settings.redis_url)
        keys = Keys(settings.namespace)
        table = load_route_table(Path(settings.route_table)) if settings.route_table else None
        app.state.api = ApiState(
            settings=settings, store=MessageStore(client, keys),
            inbound=Inbound(client, keys), api_keys=ApiKeys(client, keys),
            resolver=DestinationResolver(OperatorTable.bundled()),
            clock=clock, limiter=RateLimiter(settings.rate_per_s, clock),
            webhook_parsers=_webhook_parsers(table), dead_letters=DeadLetters(client, keys, clock),
        )  # fmt: skip
        settle_heap()  # what start-up made (modules, FastAPI's routes and models) is never garbage
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(
        title="A2P routing platform",
        version="1",
        summary="Send SMS through routing that learns, and see why each message went where it went.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (messages, batches, callbacks, channels, ops):
        app.include_router(module.router)
    app.add_middleware(Limits, settings=settings)
    return app


def from_env() -> FastAPI:
    """uvicorn's factory in each worker: settings come from ``A2P_API_SETTINGS`` (set by ``a2p serve``)."""
    return create_app(ApiSettings.from_env())
