"""An HTTP aggregator channel: submits through an :class:`ApiMapping`, receipts from webhooks.

Submits: messages are cut into requests (one per message, or batches), sent concurrently up to
``max_connections``; each request's fate is mapped at the boundary (:mod:`adapters.http.boundary`).
A connection that could not be made is tried again here (the request never left); anything that may
have reached the aggregator is never resent. A 4xx refusing a whole batch is resent one message per
request, since nothing in it was taken, so that one bad number does not sink its neighbours. A 429
pauses the channel for its Retry-After: submits meanwhile are answered ``throttled`` unsent.

Receipts: webhooks are received by the API and parsed with :func:`adapters.http.webhook_parser`;
a process that receives them itself hands them to :meth:`HttpChannel.ingest_webhook`, and they come
out of :meth:`HttpChannel.receipts`.

The httpx client is created on first use, inside the running event loop (``build`` runs in a
synchronous constructor).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import httpx

from adapters.http.auth import auth_headers
from adapters.http.boundary import Fate, retry_after_s, status_error, transport_failure
from adapters.http.errors import WebhookError
from adapters.http.mappings import ApiMapping, mapping_for
from adapters.http.settings import HttpSettings
from adapters.http.webhooks import WebhookParser
from adapters.inbox import ReceiptInbox
from engine.domain.channel import ChannelHealth, CircuitState
from engine.domain.clock import Clock, SystemClock
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, SubmitResult

log = logging.getLogger(__name__)

CLOSED = ChannelError("channel_closed", "closed", ErrorClass.PLATFORM)
DEFAULT_RETRY_AFTER_S = 1.0  # a 429 without Retry-After
USER_AGENT = "a2p-router"
POOL_SIZE = 4  # connections per httpx client (see HttpChannel._http)


class HttpChannel:
    """Implements :class:`engine.domain.channel.Channel` over HTTP."""

    def __init__(
        self,
        id: str,
        settings: HttpSettings,
        secrets: Mapping[str, str],
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.id = id
        self.settings = settings
        self.mapping: ApiMapping = mapping_for(settings)
        self._clock = clock or SystemClock()
        self._headers = auth_headers(self.mapping.auth, settings, secrets.get("token", ""))
        self._parser = WebhookParser(
            id, self.mapping, self.mapping.webhook_key(secrets), self._clock, settings.callback_url
        )
        self._transport = transport  # tests inject httpx.MockTransport
        self._clients: list[httpx.AsyncClient] = []
        self._turn = 0
        self._gate = asyncio.Semaphore(settings.max_connections)
        self._paused_until = 0.0
        self._inbox = ReceiptInbox()
        self._closed = False
        self._in_flight = 0
        self._submitted = 0
        self._failed = 0
        self._bad_webhooks = 0
        self.requests = 0  # HTTP requests attempted, retries included
        self.retries = 0  # of which were retries after a connection could not be made

    # --- the Channel interface -------------------------------------------------------------------

    async def submit(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        """One result per message, in order; never raises for a per-message or transport failure."""
        if not messages:
            return []
        if self._closed:
            return self._count([SubmitResult(m.id, error=CLOSED) for m in messages])
        if self.retry_after_s() > 0.0:
            return self._count(self._paused(messages))
        self._in_flight += len(messages)
        try:
            answers = await asyncio.gather(*(self._send(chunk) for chunk in self.mapping.chunks(messages)))
        finally:
            self._in_flight -= len(messages)
        return self._count([result for answer in answers for result in answer])

    async def receipts(self, max_items: int, timeout_s: float) -> list[Receipt]:
        return await self._inbox.take(max_items, timeout_s)

    def health(self) -> ChannelHealth:
        return ChannelHealth(
            channel=self.id,
            connected=not self._closed,
            circuit=CircuitState.CLOSED,  # the channel actor's breaker owns the circuit state
            in_flight=self._in_flight,
            submitted=self._submitted,
            failed=self._failed,
            receipts=self._inbox.received,
            bad_receipts=self._bad_webhooks,
        )

    async def close(self) -> None:
        """Refuse further submits, drop later webhooks, wake readers, close the client. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._inbox.close()
        clients, self._clients = self._clients, []
        await asyncio.gather(*(client.aclose() for client in clients))

    # --- webhooks and back-off -------------------------------------------------------------------

    def ingest_webhook(self, headers: Mapping[str, str], raw_body: bytes, url: str) -> int:
        """Parse a delivery-report webhook into :meth:`receipts`; the number of receipts it held.

        Raises :class:`WebhookError` (and counts it in ``health().bad_receipts``) for a webhook to
        refuse. A closed channel accepts and drops reports (0): the aggregator must not retry them.
        """
        try:
            receipts = self._parser(headers, raw_body, url)
        except WebhookError:
            self._bad_webhooks += 1
            raise
        return self._inbox.put(receipts)

    @property
    def webhook_parser(self) -> WebhookParser:
        return self._parser

    def retry_after_s(self) -> float:
        """Seconds left of the pause a 429's Retry-After asked for (0 when none)."""
        return max(0.0, self._paused_until - self._clock.now())

    # --- internals -------------------------------------------------------------------------------

    def _count(self, results: list[SubmitResult]) -> list[SubmitResult]:
        accepted = sum(r.accepted for r in results)
        self._submitted += accepted
        self._failed += len(results) - accepted
        return results

    def _http(self) -> httpx.AsyncClient:
        """The next client, round robin. Connections are spread over several small pools because
        httpcore checks every connection of a pool on each request: one pool of 32 costs ~4x the CPU
        per request of pools of 4 (measured in benchmarks/channels_http.py)."""
        if not self._clients:
            s = self.settings
            pools = -(-s.max_connections // POOL_SIZE)
            size = -(-s.max_connections // pools)
            self._clients = [self._new_client(size) for _ in range(pools)]
        self._turn = (self._turn + 1) % len(self._clients)
        return self._clients[self._turn]

    def _new_client(self, connections: int) -> httpx.AsyncClient:
        s = self.settings
        return httpx.AsyncClient(
            base_url=s.base_url,
            headers={**self._headers, "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(
                connect=s.connect_timeout_s, read=s.read_timeout_s, write=s.read_timeout_s, pool=None
            ),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            transport=self._transport,
            follow_redirects=False,  # a redirected POST is a misconfiguration, not a route
            trust_env=False,  # a proxy from the environment must not silently carry our traffic
        )

    async def _send(self, chunk: Sequence[OutboundMessage]) -> list[SubmitResult]:
        async with self._gate:
            answer = await self._post(chunk)
        if isinstance(answer, list):
            return answer
        if len(chunk) > 1 and status_error(answer.status_code) is None:
            # A 4xx refused the whole batch, so nothing in it was taken: find the culprits one by one.
            singles = await asyncio.gather(*(self._send([m]) for m in chunk))
            return [r for single in singles for r in single]
        return self._answer(chunk, answer)

    def _paused(self, chunk: Sequence[OutboundMessage]) -> list[SubmitResult]:
        pause = self.retry_after_s()
        error = ChannelError("throttled", f"retry after {pause:.2f}s", ErrorClass.OPERATOR, throttled=True)
        return [SubmitResult(m.id, error=error) for m in chunk]

    async def _post(self, chunk: Sequence[OutboundMessage]) -> httpx.Response | list[SubmitResult]:
        request = self.mapping.request(chunk)
        attempt = 0
        while True:
            if self._closed:
                return [SubmitResult(m.id, error=CLOSED) for m in chunk]
            if self.retry_after_s() > 0.0:  # a 429 came while this request waited for a connection
                return self._paused(chunk)
            self.requests += 1
            try:
                return await self._http().post(
                    request.path, content=request.content, headers={"Content-Type": request.content_type}
                )
            except Exception as exc:  # every foreign error is mapped here, at the boundary
                failure = transport_failure(exc)
                if failure.fate is Fate.RETRY and attempt < self.settings.connect_retries:
                    self.retries += 1
                    await asyncio.sleep(self.settings.retry_backoff_s * 2**attempt)
                    attempt += 1
                    continue
                log.warning("channel %s: %s (%d message(s))", self.id, type(exc).__name__, len(chunk))
                error = failure.error(type(exc).__name__)
                return [SubmitResult(m.id, error=error) for m in chunk]

    def _answer(self, chunk: Sequence[OutboundMessage], response: httpx.Response) -> list[SubmitResult]:
        status = response.status_code
        if 200 <= status < 300:
            return self.mapping.accepted(chunk, response.content)
        log.warning("channel %s: HTTP %d (%d message(s))", self.id, status, len(chunk))
        if status in (429, 503) and (status == 429 or "retry-after" in response.headers):
            now = self._clock.now()
            wait = retry_after_s(
                response.headers.get("retry-after"),
                now,
                DEFAULT_RETRY_AFTER_S,
                self.settings.max_retry_after_s,
            )
            self._paused_until = max(self._paused_until, now + wait)
        error = status_error(status) or self.mapping.refused(status, response.content)
        return [SubmitResult(m.id, error=error) for m in chunk]
