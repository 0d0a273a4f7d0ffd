"""A fake aggregator that speaks ``twilio_like`` or ``infobip_like`` and misbehaves on purpose.

It accepts messages, refuses numbers starting with ``+999`` (invalid), reports numbers ending in
``13`` undelivered, and posts signed delivery reports to each message's callback URL after
``dlr_delay_s`` (Infobip-style reports batched per URL). Its signatures are computed here, not by
the adapter, so tests prove the two agree. One-off misbehaviours for the next requests are queued in
``script``: ``"429"``, ``"500"``, ``"503"``, ``"504"``, ``"401"``, ``"400"``, ``"slow"`` (answer
after ``slow_s``), ``"hang_up"`` (read the request, close the connection).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.http_channel.server import Request, Response, ThreadedServer

ACCOUNT = "AC0123456789abcdef"
TOKEN = "tok-secret"  # the API token (Twilio signs webhooks with it too)
HOOK_SECRET = "hook-secret"  # Infobip-style webhook signing key
TWILIO_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
INFOBIP_PATH = "/sms/2/text/advanced"


@dataclass
class FakeAggregator:
    mapping: str  # "twilio_like" | "infobip_like"
    dlr_delay_s: float = 0.02
    interim: bool = False  # twilio_like: report "sent" before the final status
    duplicate: bool = False  # every report twice
    tps_cap: float | None = None  # above it: 429 with Retry-After
    retry_after: str = "0.2"
    slow_s: float = 1.0
    script: deque[str] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    webhooks_sent: int = 0
    webhook_failures: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(0x5A000000))
    _tokens: float = 0.0
    _tokens_at: float = 0.0
    _pending: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _client: httpx.AsyncClient | None = None

    # --- serving ---------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        action = self.script.popleft() if self.script else ""
        if action == "hang_up":
            return Response(hang_up=True)
        if action == "slow":
            await asyncio.sleep(self.slow_s)
        elif action.isdigit():
            return self._failure(int(action))
        if request.headers.get("authorization") != self._auth():
            return self._failure(401)
        if self.tps_cap is not None and not self._take_token():
            return self._failure(429)
        if self.mapping == "twilio_like":
            return self._twilio(request)
        return self._infobip(request)

    def _auth(self) -> str:
        if self.mapping == "twilio_like":
            return "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        return f"App {TOKEN}"

    def _failure(self, status: int) -> Response:
        headers = {"Retry-After": self.retry_after} if status in (429, 503) else {}
        if self.mapping == "twilio_like":
            body = {"code": 20429 if status == 429 else status * 100, "message": "fake", "status": status}
        else:
            body = {"requestError": {"serviceException": {"messageId": f"E{status}", "text": "fake"}}}
        return Response(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})

    def _take_token(self) -> bool:
        assert self.tps_cap is not None
        now = time.monotonic()
        self._tokens = min(self.tps_cap, self._tokens + (now - self._tokens_at) * self.tps_cap)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _twilio(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        to = form.get("To", "")
        if to.startswith("+999"):
            body = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
            return Response(400, json.dumps(body).encode(), {"Content-Type": "application/json"})
        sid = f"SM{next(self._ids):032x}"
        if callback := form.get("StatusCallback"):
            failed = to.endswith("13")
            if self.interim:
                self._report(callback, {"MessageSid": sid, "MessageStatus": "sent"})
            final = {"MessageSid": sid, "MessageStatus": "undelivered" if failed else "delivered"}
            if failed:
                final["ErrorCode"] = "30003"
            self._report(callback, {**final, "AccountSid": ACCOUNT, "To": to})
        answer = {"sid": sid, "status": "queued", "to": to, "account_sid": ACCOUNT}
        return Response(201, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _infobip(self, request: Request) -> Response:
        bulk = json.loads(request.body)["messages"]
        answers = []
        for item in bulk:
            to = item["destinations"][0]["to"]
            if to.startswith("999"):
                status = {"groupId": 5, "groupName": "REJECTED", "id": 14, "name": "REJECTED_DESTINATION"}
                answers.append({"to": to, "messageId": "", "status": status})
                continue
            mid = str(next(self._ids))
            status = {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED"}
            answers.append({"to": to, "messageId": mid, "status": status})
            if url := item.get("notifyUrl"):
                failed = to.endswith("13")
                result = {
                    "messageId": mid,
                    "to": to,
                    "callbackData": item.get("callbackData"),
                    "status": {"groupName": "UNDELIVERABLE" if failed else "DELIVERED", "id": 5},
                    "error": {"id": 1, "name": "EC_UNKNOWN_SUBSCRIBER"}
                    if failed
                    else {"id": 0, "name": "OK"},
                }
                self._report(url, result)
        body = json.dumps({"bulkId": f"b{next(self._ids)}", "messages": answers}).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    # --- delivery reports ------------------------------------------------------------------------

    def _report(self, url: str, report: dict[str, Any]) -> None:
        """Queue a report; the first one for a URL starts its flush timer (one batch per window)."""
        first = not self._pending[url]
        self._pending[url].append(report)
        if first:
            task = asyncio.get_running_loop().create_task(self._flush(url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, url: str) -> None:
        await asyncio.sleep(self.dlr_delay_s)
        reports = self._pending.pop(url, [])
        if self.mapping == "twilio_like":  # one form post per report, in order
            for report in reports:
                await self._post_twilio(url, report)
        else:
            await self._post_infobip(url, reports)

    async def _post_twilio(self, url: str, report: dict[str, str]) -> None:
        body = urlencode(report).encode()
        text = url + "".join(k + v for k, v in sorted(report.items()))
        signature = base64.b64encode(hmac.new(TOKEN.encode(), text.encode(), hashlib.sha1).digest()).decode()
        headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        await self._post(url, body, headers)

    async def _post_infobip(self, url: str, results: list[dict[str, Any]]) -> None:
        body = json.dumps({"results": results}).encode()
        signature = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        await self._post(url, body, {"X-Signature": signature, "Content-Type": "application/json"})

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0, trust_env=False)
        for _ in range(2 if self.duplicate else 1):
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                self.webhook_failures += 1
                continue
            if response.is_success:
                self.webhooks_sent += 1
            else:
                self.webhook_failures += 1

    async def aclose(self) -> None:
        # Let reports in flight finish (a closed intake refuses them at once): a task cancelled
        # while httpx connects can leave its socket to the garbage collector (a ResourceWarning).
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=2.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    # --- inspection ------------------------------------------------------------------------------

    def submit_requests(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]


@contextlib.contextmanager
def running(fake: FakeAggregator, port: int = 0) -> Iterator[ThreadedServer]:
    """Serve ``fake`` on loopback in a background thread for the duration of the block."""
    server = ThreadedServer(fake.handle, port)
    server.start()
    try:
        yield server
    finally:
        server.stop(fake.aclose)
