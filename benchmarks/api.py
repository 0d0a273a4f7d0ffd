"""HTTP API speed and robustness: accepted messages/s through real uvicorn workers, durable in Redis.

Run with ``python -m benchmarks.api [--quick]`` (needs ``wrk``: ``apt-get install -y wrk``).

Throughput: for each worker count (1, 2) a fresh durable embedded Redis (append-only file,
``appendfsync everysec``, unix socket) and a tenant key are made, and the API is started as ``a2p
serve`` starts it (uvicorn, ``engine.api.app:from_env``, that many worker processes) with a tenant
rate limit so high it never binds. ``wrk`` (C, one thread, HTTP/1.1 keep-alive, its own process)
replays pre-built requests (``benchmarks/wrk/replay.lua``): single sends (``POST /v1/messages``) at
a few concurrencies, then batches of 100 and 1,000 messages (``POST /v1/batches``). Each cell has a
warm-up run, then a timed run: requests/s, accepted messages/s (2xx answers x messages per
request), wrk's latency percentiles and status codes. Redis' ``accepted`` counter
(``MessageStore.counters()``) is read before and after, once in-flight requests have settled: it
must have grown by at least the messages acknowledged with a 202, and at most that plus what was in
flight when wrk stopped (connections x batch size), since the API answers 202 only once a message
is durable. The CPU used by the API workers, redis-server and wrk over the timed run is reported as
cores busy and as µs per accepted message (the figure least skewed by other work on the machine),
and from it a ceiling: messages/s if all cores did nothing else.

Robustness: at least 10,000 generated requests, good and bad mixed (malformed JSON, unknown fields,
invalid numbers and values, wrong types, oversize bodies, chunked oversize bodies, wrong content
types, bad auth, huge batches, unknown paths and methods, random JSON), sent in shuffled order over
keep-alive connections to the 2-worker API (after its throughput cells) by ``benchmarks.api_load``
(its own process; it knows which request got which answer). Reported: the status code histogram,
5xx count (target 0), answers per kind that are not the expected ones, and Redis' ``accepted`` next
to what the 202s imply.

Results are printed as tables and written to ``benchmarks/results/api.json``. Targets are reported,
not asserted. The machine has 2 cores shared by the API, Redis and the load generator (and whatever
else runs on it): the JSON records the load average of every cell.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.procstat import cpu_share, cpu_times
from benchmarks.verdict import Verdict
from engine.infra.keys import Keys
from engine.infra.server import EmbeddedRedis, redis_binary
from engine.infra.store import MessageStore, connect
from engine.runtime.api_process import api_settings, create_key, running_api
from engine.runtime.traffic import mobile_numbers

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "api.json"
LUA = HERE / "wrk" / "replay.lua"
HOST = "127.0.0.1"
NAMESPACE = "bench-api"
TENANT = "bench"
REGIONS = ("NG", "KE", "GB", "IN", "US", "DE")
NUMBERS_PER_REGION = 40
TRAFFIC_TYPES = ("otp", "transactional", "marketing")
BODIES = {
    "otp": "Your code is {n:06d}. It expires in 5 minutes.",
    "transactional": "Your order {n} has shipped and arrives tomorrow.",
    "marketing": "Winter sale: 20% off everything this week. Reply STOP to opt out.",
}
RATE_NEVER_BINDS = 1e9  # messages per tenant per second per worker
MAX_BATCH = 5_000  # ApiSettings.max_batch (the default)
SINGLE_POOL = 512  # distinct single-send requests wrk rotates through
BATCH_POOL = 8  # distinct batch requests per batch size
SETTLE_S = 0.3  # between readings of the accepted counter while in-flight requests finish
WRK_TIMEOUT_S = 10
LOG_TAIL = 40  # lines of each API log kept in the results
# Redis log lines worth keeping: slow disk, background AOF rewrites (a fork: CPU taken from the cell), errors
REDIS_TROUBLE = ("taking too long", "aof rewrite", "background append only", "error", "oom", "latency")

TARGET_SINGLE_PER_S = 3_000.0
TARGET_SINGLE_P99_MS = 20.0
TARGET_BATCH_MSGS_PER_S = 50_000.0
TARGET_ROBUSTNESS_REQUESTS = 10_000
# ARCHITECTURE.md, "Costs measured on the 2-core machine": earlier figures, for ratios.
EARLIER = {
    ("messages", 1, 1): 3_200.0,
    ("messages", 1, 2): 6_800.0,
    ("batches", 100, 1): 29_000.0,
    ("batches", 100, 2): 70_000.0,
}


@dataclass(frozen=True)
class Plan:
    duration_s: int  # per timed wrk run
    warmup_s: int
    workers: tuple[int, ...]
    single_connections: tuple[int, ...]
    batch_connections: dict[int, int]  # batch size -> wrk connections
    robustness_requests: int
    robustness_connections: int
    rounds: int  # every cell this many times, interleaved, so a burst of other work hits one run only

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            return cls(3, 1, (1, 2), (32,), {100: 8, 1_000: 4}, TARGET_ROBUSTNESS_REQUESTS, 16, 1)
        return cls(6, 1, (1, 2), (8, 16, 64), {100: 8, 1_000: 4}, 12_000, 16, 2)


@dataclass(frozen=True)
class Cell:
    endpoint: str  # "messages" (single sends) or "batches"
    batch: int  # messages per request
    workers: int
    connections: int
    round: int
    duration_s: float
    requests: int
    ok_requests: int  # 2xx answers
    statuses: dict[str, int]  # every answer's status code, counted by wrk
    socket_errors: dict[str, int]
    requests_per_s: float
    accepted_per_s: float  # 2xx x batch / duration
    latency_ms: dict[str, float]  # wrk: mean, p50, p90, p99, p99.9, max
    acknowledged: int  # messages answered with a 2xx
    redis_accepted: int  # the counter's increase over the run (read after in-flight requests settle)
    in_flight_bound: int  # connections x batch: accepted but unanswered when wrk stopped, at most
    cpu_cores: dict[str, float]  # over the timed run, per process group
    cpu_us_per_msg: dict[str, float]  # CPU per accepted message, per process group: least skewed by others
    load_average_1m: float  # at the start of the timed run

    @property
    def durable(self) -> bool:
        return self.acknowledged <= self.redis_accepted <= self.acknowledged + self.in_flight_bound

    @property
    def generator_cores(self) -> float:
        return self.cpu_cores.get("wrk", 0.0)

    @property
    def ceiling_per_s(self) -> float:
        """Messages/s if every core of the machine ran only this cell at its measured CPU per message."""
        total = sum(self.cpu_us_per_msg.values())
        return (os.cpu_count() or 1) * 1e6 / total if total > 0 else float("nan")


# -- requests ---------------------------------------------------------------------------------------


def raw_request(
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    token: str | None = None,
    content_type: str | None = "application/json",
    headers: Sequence[tuple[str, str]] = (),
    chunked: bool = False,
) -> bytes:
    """One HTTP/1.1 request on the wire, keep-alive."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None and content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body is None:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        step = 16 * 1024
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + step]), body[i : i + step]) for i in range(0, len(body), step)
        )
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + chunks + b"0\r\n\r\n"
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Traffic:
    """Valid messages to mobile numbers of a few countries, all three traffic types."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.numbers = mobile_numbers(REGIONS, NUMBERS_PER_REGION, np.random.default_rng(seed))

    def message(self) -> dict[str, Any]:
        kind = self.rng.choice(TRAFFIC_TYPES)
        return {
            "to": self.rng.choice(self.numbers),
            "from": "ACME",
            "body": BODIES[kind].format(n=self.rng.randrange(1_000_000)),
            "traffic_type": kind,
        }

    def singles(self, token: str, count: int) -> list[tuple[str, bytes]]:
        return [
            ("single", raw_request("POST", "/v1/messages", dumps(self.message()), token=token))
            for _ in range(count)
        ]

    def batches(self, token: str, size: int, count: int) -> list[tuple[str, bytes]]:
        return [
            (f"batch{size}", _post({"messages": [self.message() for _ in range(size)]}, token, "/v1/batches"))
            for _ in range(count)
        ]


def write_pool(path: Path, pool: Sequence[tuple[str, bytes]]) -> Path:
    """The format ``replay.lua`` and ``api_load`` read: ``<length> <kind>`` on a line, then the bytes."""
    with path.open("wb") as out:
        for kind, raw in pool:
            out.write(f"{len(raw)} {kind}\n".encode())
            out.write(raw)
    return path


# -- the robustness mix -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A family of requests: how often, what answers are right, how many messages a 202 creates."""

    weight: float  # share of the generated requests (0: only ``fixed`` of them)
    expected: frozenset[int]
    build: Callable[[Traffic, str], bytes]
    messages: int = 1  # new messages per 202 (0: idempotent kinds, counted by distinct key)
    fixed: int = 0  # exactly this many, whatever the total (the heavy ones)


def _post(body: Any, token: str | None, path: str = "/v1/messages", **kw: Any) -> bytes:
    raw = body if isinstance(body, bytes) else dumps(body)
    return raw_request("POST", path, raw, token=token, **kw)


def _with(t: Traffic, token: str, change: dict[str, Any], path: str = "/v1/messages") -> bytes:
    message = t.message()
    message.update(change)
    if path == "/v1/batches":
        return _post({"messages": [t.message(), message, t.message()]}, token, path)
    return _post(message, token)


def _json_text(t: Traffic, change: dict[str, str]) -> bytes:
    """A message with some values written as raw JSON text (NaN, Infinity, 1e400: not from json.dumps)."""
    message = t.message()
    for k in change:
        message.pop(k, None)
    text = dumps(message)[:-1]
    extra = "".join(f',"{k}":{v}' for k, v in change.items())
    return text + extra.encode() + b"}"


def _random_json(t: Traffic, depth: int = 0) -> Any:
    r = t.rng
    pick = r.randrange(9 if depth < 3 else 6)
    simple: list[Any] = [
        None,
        r.random() < 0.5,
        r.randrange(-(10**12), 10**12),
        r.uniform(-1e6, 1e6),
        "".join(chr(r.randrange(32, 0x2FF)) for _ in range(r.randrange(30))),
        r.choice(["+2348031234567", "otp", "ACME", "", "https://x.test/cb"]),
    ]
    if pick < 6:
        return simple[pick]
    if pick < 8:
        return [_random_json(t, depth + 1) for _ in range(r.randrange(4))]
    return {
        r.choice(["to", "from", "body", "x", "k"]): _random_json(t, depth + 1) for _ in range(r.randrange(4))
    }


def _fuzz(t: Traffic, token: str) -> bytes:
    """The message with random fields dropped, replaced by random JSON, or added."""
    message = t.message()
    fields = [
        "to",
        "from",
        "body",
        "traffic_type",
        "send_at",
        "validity_s",
        "max_price",
        "metadata",
        "status_callback",
        "client_ref",
        "extra",
    ]
    for name in t.rng.sample(fields, t.rng.randrange(1, 4)):
        if t.rng.random() < 0.2:
            message.pop(name, None)
        else:
            message[name] = _random_json(t)
    return _post(message, token)


def _choose(values: Sequence[Any]) -> Callable[[Traffic, str], bytes]:
    """A builder picking one of ``values``: each a builder of its own."""

    def build(t: Traffic, token: str) -> bytes:
        value: Callable[[Traffic, str], bytes] = t.rng.choice(values)
        return value(t, token)

    return build


def _change(**change: Any) -> Callable[[Traffic, str], bytes]:
    return lambda t, token: _with(t, token, change)


def _text(change: dict[str, str]) -> Callable[[Traffic, str], bytes]:
    return lambda t, token: _post(_json_text(t, change), token)


def _content_type(media: str | None) -> Callable[[Traffic, str], bytes]:
    return lambda t, token: _post(dumps(t.message()), token, content_type=media)


def _idempotent(prefix: str, same_body: bool) -> Callable[[Traffic, str], bytes]:
    def build(t: Traffic, token: str) -> bytes:
        key = f"{prefix}-{t.rng.randrange(25)}"
        message = (
            {"to": "+2348031234567", "from": "ACME", "body": f"Repeat {key}", "traffic_type": "otp"}
            if same_body  # the same bytes every time for this key
            else t.message()
        )
        return raw_request(
            "POST", "/v1/messages", dumps(message), token=token, headers=[("Idempotency-Key", key)]
        )

    return build


def _huge_batch(t: Traffic, token: str) -> bytes:
    message = t.message()
    return _post({"messages": [message] * (MAX_BATCH + 1)}, token, "/v1/batches")


def _oversize_batch_body(t: Traffic, token: str) -> bytes:
    message = t.message()
    message["body"] = "x" * 1_000
    return _post({"messages": [message] * 9_000}, token, "/v1/batches")  # ~9.5 MB > 8 MiB


VALIDITY: tuple[Any, ...] = (-1, 0, 59, 10**12, "abc", 1.5, [60])
PRICES: tuple[Any, ...] = (0, -1, 101, "x", {})
SEND_AT: tuple[Any, ...] = ("tomorrow", "2030-13-45T00:00:00Z", "2030-01-01T00:00:00", 1e20, [])
BAD_TOKEN = "a2p_0000000000000000_" + "x" * 30


def kinds() -> dict[str, Kind]:
    """The robustness mix. ``expected`` is what a careful API answers; a miss is reported, not fatal."""
    ok, bad_request, invalid = frozenset({202}), frozenset({400}), frozenset({422})
    raw = _post
    return {
        "good_message": Kind(20, ok, lambda t, token: _post(t.message(), token)),
        "good_batch_10": Kind(
            4,
            ok,
            lambda t, token: _post({"messages": [t.message() for _ in range(10)]}, token, "/v1/batches"),
            messages=10,
        ),
        "idempotent_repeat": Kind(2, ok, _idempotent("same", True), messages=0),
        "idempotent_conflict": Kind(2, frozenset({202, 409}), _idempotent("conflict", False), messages=0),
        "malformed_json": Kind(
            6,
            bad_request,
            _choose(
                [
                    lambda t, k: raw(b"{not json", k),
                    lambda t, k: raw(dumps(t.message())[:-7], k),
                    lambda t, k: raw(b'{"to": }', k),
                    lambda t, k: raw(b'{"to": "+2348031234567",}', k),
                    lambda t, k: raw(b"{'to': '+2348031234567'}", k),
                    lambda t, k: raw(b"{" * 20, k),
                    lambda t, k: raw(b"\x00\x01", k),
                    lambda t, k: raw(b"{}{}", k, "/v1/batches"),
                ]
            ),
        ),
        "empty_body": Kind(
            1,
            frozenset({400, 422}),
            _choose(
                [
                    lambda t, k: raw(b"", k),
                    lambda t, k: raw(b"", k, "/v1/batches"),
                    lambda t, k: raw(b"\xef\xbb\xbf{}", k),  # a UTF-8 byte order mark, then {}
                ]
            ),
        ),
        "not_an_object": Kind(
            3,
            frozenset({400, 422}),
            _choose(
                [
                    lambda t, k: raw(b"[]", k),
                    lambda t, k: raw(b'"x"', k),
                    lambda t, k: raw(b"null", k),
                    lambda t, k: raw(b"42", k),
                    lambda t, k: raw(b"true", k),
                    lambda t, k: raw(b"[]", k, "/v1/batches"),
                ]
            ),
        ),
        "unknown_field": Kind(
            5,
            invalid,
            _choose(
                [
                    _change(colour="red"),
                    _change(To="+2348031234567"),
                    _change(callback_url="https://x.test"),
                    lambda t, k: _with(t, k, {"priority": 1}, "/v1/batches"),
                    lambda t, k: raw({"messages": [t.message()], "extra": True}, k, "/v1/batches"),
                ]
            ),
        ),
        "invalid_number": Kind(
            6,
            invalid,
            _choose(
                [
                    _change(to=v)
                    for v in (
                        "12345",
                        "+441632960000",
                        "+1",
                        "+99999999999999999999",
                        "abc",
                        "+2348031234567890123",
                        "",
                        "++2348031234567",
                        "+234 803 123 4567x",
                    )
                ]
                + [lambda t, k: _with(t, k, {"to": "0803"}, "/v1/batches")]
            ),
        ),
        "invalid_numeric_value": Kind(
            6,
            invalid,
            _choose(
                [_change(validity_s=v) for v in VALIDITY]
                + [_change(max_price=v) for v in PRICES]
                + [_change(send_at=v) for v in SEND_AT]
            ),
        ),
        # Not JSON (RFC 8259 has no NaN or Infinity; a double cannot hold 1e999): a 400, not a 422.
        "non_json_number": Kind(
            2,
            bad_request,
            _choose(
                [
                    _text(v)
                    for v in (
                        {"max_price": "NaN"},
                        {"max_price": "Infinity"},
                        {"max_price": "-Infinity"},
                        {"max_price": "1e999"},
                        {"validity_s": "1e400"},
                        {"validity_s": "NaN"},
                        {"send_at": "1e999"},
                    )
                ]
            ),
        ),
        "wrong_type": Kind(
            5,
            invalid,
            _choose(
                [
                    _change(body=123),
                    _change(to=["+2348031234567"]),
                    _change(**{"from": {}}),
                    _change(metadata=[1]),
                    _change(metadata={"k": 1}),
                    _change(traffic_type=1),
                    _change(body=None),
                    _change(client_ref=5.5),
                    _change(status_callback=True),
                ]
            ),
        ),
        "invalid_value": Kind(
            5,
            invalid,
            _choose(
                [
                    _change(body=""),
                    _change(body="x" * 3_000),
                    _change(body="Ж" * 800),
                    _change(traffic_type="spam"),
                    _change(status_callback="ftp://x"),
                    _change(metadata={f"k{i}": "v" for i in range(17)}),
                    _change(metadata={"k" * 65: "v"}),
                    _change(**{"from": ""}),
                    _change(**{"from": "x" * 21}),
                    _change(client_ref="r" * 129),
                ]
            ),
        ),
        "oversize_message": Kind(
            3,
            frozenset({413}),
            _choose(
                [
                    lambda t, k: _with(t, k, {"body": "x" * 70_000}),
                    lambda t, k: _with(t, k, {"metadata": {"k": "v" * 70_000}}),
                ]
            ),
        ),
        "oversize_chunked": Kind(
            1,
            frozenset({413}),
            lambda t, k: raw_request(
                "POST", "/v1/messages", dumps({**t.message(), "body": "y" * 80_000}), token=k, chunked=True
            ),
        ),
        "good_chunked": Kind(
            1, ok, lambda t, k: raw_request("POST", "/v1/messages", dumps(t.message()), token=k, chunked=True)
        ),
        "oversize_batch_body": Kind(0, frozenset({413}), _oversize_batch_body, fixed=2),
        "huge_batch": Kind(0, frozenset({413}), _huge_batch, fixed=8),
        "empty_or_bad_batch": Kind(
            3,
            invalid,
            _choose(
                [
                    lambda t, k: raw({"messages": []}, k, "/v1/batches"),
                    lambda t, k: raw({}, k, "/v1/batches"),
                    lambda t, k: raw({"messages": None}, k, "/v1/batches"),
                    lambda t, k: raw({"messages": [{}]}, k, "/v1/batches"),
                    lambda t, k: raw({"messages": t.message()}, k, "/v1/batches"),
                    lambda t, k: _with(t, k, {"traffic_type": "spam"}, "/v1/batches"),
                ]
            ),
        ),
        "wrong_content_type": Kind(
            5,
            frozenset({415}),
            _choose(
                [
                    _content_type(ct)
                    for ct in (
                        "text/plain",
                        "application/x-www-form-urlencoded",
                        None,
                        "multipart/form-data",
                        "application/xml",
                        "application/jsonx",
                        "application/problem+json",
                    )
                ]
            ),
        ),
        "bad_auth": Kind(
            6,
            frozenset({401}),
            _choose(
                [
                    lambda t, k: raw(t.message(), None),
                    lambda t, k: raw(t.message(), BAD_TOKEN),
                    lambda t, k: raw(t.message(), "x" * 2_000),
                    lambda t, k: raw(t.message(), k[:-1] + "z"),
                    lambda t, k: raw_request(
                        "POST", "/v1/messages", dumps(t.message()), headers=[("Authorization", f"Basic {k}")]
                    ),
                    lambda t, k: raw_request(
                        "POST", "/v1/messages", dumps(t.message()), headers=[("Authorization", "Bearer")]
                    ),
                    lambda t, k: raw_request(
                        "POST", "/v1/batches", dumps({"messages": [t.message()]}), token=BAD_TOKEN
                    ),
                ]
            ),
        ),
        "invalid_utf8": Kind(
            1,
            frozenset({400, 422}),
            lambda t, k: raw(
                b'{"to": "+2348031234567", "from": "ACME", "body": "hi \xff\xfe", "traffic_type": "otp"}', k
            ),
        ),
        "lone_surrogate": Kind(
            1,
            frozenset({400, 422}),
            lambda t, k: raw(dumps(t.message()).replace(b'"body":"', b'"body":"\\ud800'), k),
        ),
        "charset_parameter": Kind(
            1,
            frozenset({202, 415}),
            lambda t, k: raw(  # UTF-8 body, odd charset
                dumps(t.message()), k, content_type="application/json; charset=utf-16"
            ),
        ),
        "deep_nesting": Kind(
            1,
            frozenset({400, 422}),
            _choose(
                [
                    lambda t, k: raw(b"[" * 20_000 + b"]" * 20_000, k),  # under the 64 KiB limit
                    lambda t, k: raw(b'{"metadata":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001, k),
                ]
            ),
        ),
        "unknown_path_or_method": Kind(
            3,
            frozenset({404, 405}),
            _choose(
                [
                    lambda t, k: raw_request("GET", "/v1/nothing", token=k),
                    lambda t, k: raw(t.message(), k, "/v1/messagesx"),
                    lambda t, k: raw_request("DELETE", "/v1/messages", token=k),
                    lambda t, k: raw_request("GET", "/v1/batches", token=k),
                    lambda t, k: raw_request(
                        "PUT", "/v1/batches", dumps({"messages": [t.message()]}), token=k
                    ),
                    lambda t, k: raw_request("GET", "/%2e%2e/%2e%2e/etc/passwd", token=k),
                ]
            ),
        ),
        "bad_query_or_id": Kind(
            2,
            frozenset({400, 404, 422}),
            _choose(
                [
                    lambda t, k: raw_request("GET", "/v1/messages/nope", token=k),
                    lambda t, k: raw_request("GET", "/v1/messages/" + "9" * 300, token=k),
                    lambda t, k: raw_request("GET", "/v1/messages?limit=0", token=k),
                    lambda t, k: raw_request("GET", "/v1/messages?limit=abc", token=k),
                    lambda t, k: raw_request("GET", "/v1/messages?cursor=%%%", token=k),
                    lambda t, k: raw_request("GET", "/v1/messages?since=NaN&until=x", token=k),
                    lambda t, k: raw_request("POST", "/v1/messages/nope/cancel", token=k),
                ]
            ),
        ),
        "long_idempotency_key": Kind(
            1,
            invalid,
            lambda t, k: raw_request(
                "POST", "/v1/messages", dumps(t.message()), token=k, headers=[("Idempotency-Key", "k" * 300)]
            ),
        ),
        "random_json": Kind(8, frozenset({202, 400, 422}), _fuzz),
    }


def robustness_pool(token: str, count: int, seed: int) -> list[tuple[str, bytes]]:
    """``count`` requests or more: the fixed heavy ones plus a weighted draw of the rest, shuffled."""
    t = Traffic(seed)
    mix = kinds()
    pool = [(name, kind.build(t, token)) for name, kind in mix.items() for _ in range(kind.fixed)]
    names = [n for n, k in mix.items() if k.weight > 0]
    weights = [mix[n].weight for n in names]
    for name in t.rng.choices(names, weights, k=max(0, count - len(pool))):
        pool.append((name, mix[name].build(t, token)))
    t.rng.shuffle(pool)
    return pool


# -- processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_child(process: subprocess.Popen[bytes]) -> float:
    """Reap ``process`` and return the CPU seconds it used (user + system)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, pool: Path, connections: int, duration_s: int) -> tuple[dict[str, Any], float]:
    """wrk's ``WRK_JSON`` report and its CPU seconds."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        f"{WRK_TIMEOUT_S}s",
        "-s",
        str(LUA),
        url,
        "--",
        str(pool),
    ]
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            cpu_s = wait_child(process)
        except BaseException:
            process.kill()
            process.wait()
            raise
        out.seek(0)
        text = out.read().decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("WRK_JSON "):
            report: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return report, cpu_s
    raise RuntimeError(f"wrk gave no report (exit {process.returncode}):\n{text}")


async def _accepted(redis_url: str, namespace: str) -> int:
    client = connect(redis_url)
    try:
        return (await MessageStore(client, Keys(namespace)).counters())["accepted"]
    finally:
        await client.aclose()


def accepted(redis_url: str, namespace: str) -> int:
    return asyncio.run(_accepted(redis_url, namespace))


def settled(redis_url: str, timeout_s: float = 15.0) -> int:
    """The accepted counter once requests still in flight have finished (two equal readings)."""
    last = accepted(redis_url, NAMESPACE)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        now = accepted(redis_url, NAMESPACE)
        if now == last:
            break
        last = now
    return last


@dataclass
class Stack:
    """A fresh durable Redis and the API over it, with a tenant key."""

    redis: EmbeddedRedis
    url: str
    token: str
    redis_url: str
    workers: int
    folder: Path


class Stacks:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        self.logs: dict[str, list[str]] = {}  # per worker count: the API's log, Redis' warnings

    @contextlib.contextmanager
    def up(self, workers: int) -> Iterator[Stack]:
        self.count += 1
        folder = self.root / f"cell-{self.count}"
        redis = EmbeddedRedis(folder / "redis").start()
        try:
            token = asyncio.run(create_key(redis.url, NAMESPACE, TENANT)).token
            settings = api_settings(
                redis.url,
                NAMESPACE,
                folder,
                None,
                port=free_port(),
                workers=workers,
                rate_per_s=RATE_NEVER_BINDS,
                max_batch=MAX_BATCH,
            )
            with running_api(settings, folder / "api.log"):
                yield Stack(redis, f"http://{HOST}:{settings.port}", token, redis.url, workers, folder)
        finally:
            redis.stop()
            for name, log in (("api", folder / "api.log"), ("redis", folder / "redis" / "redis.log")):
                lines = log.read_text(errors="replace").splitlines() if log.exists() else []
                if name == "redis":  # only what says the server was slow or in trouble
                    lines = [x for x in lines if any(w in x.lower() for w in REDIS_TROUBLE)]
                self.logs[f"{name}, {workers} worker(s)"] = lines[-LOG_TAIL:]
            shutil.rmtree(folder, ignore_errors=True)


def group(cpu: dict[str, float], generator: float) -> dict[str, float]:
    """API workers (python processes under this one), Redis, the generator; cores busy.

    Redis includes its forked children (background AOF rewrites retitle themselves ``redis-aof-rewrite``).
    """
    out = {"api": 0.0, "redis-server": 0.0}
    for name, cores in cpu.items():
        if name.startswith("redis"):
            out["redis-server"] += cores
        elif name != "driver":
            out["api"] += cores
    out["wrk"] = generator
    return {k: round(v, 3) for k, v in out.items()}


# -- throughput -------------------------------------------------------------------------------------


def measure(
    stack: Stack, traffic: Traffic, endpoint: str, batch: int, *, connections: int, plan: Plan, round_: int
) -> Cell:
    """One timed wrk run after a warm-up, on an API that may have served earlier cells."""
    if endpoint == "messages":
        pool = traffic.singles(stack.token, SINGLE_POOL)
    else:
        pool = traffic.batches(stack.token, batch, BATCH_POOL)
    pool_file = write_pool(stack.folder / "pool", pool)
    run_wrk(stack.url, pool_file, connections, plan.warmup_s)
    before = settled(stack.redis_url)
    load = os.getloadavg()[0]
    cpu0, t0 = cpu_times(), time.monotonic()
    report, wrk_cpu_s = run_wrk(stack.url, pool_file, connections, plan.duration_s)
    cpu1, elapsed = cpu_times(), time.monotonic() - t0
    after = settled(stack.redis_url)
    pool_file.unlink()
    errors: dict[str, int] = report["errors"]
    duration = report["duration_us"] / 1e6
    statuses: dict[str, int] = {k: report["statuses"][k] for k in sorted(report["statuses"], key=int)}
    ok = sum(n for k, n in statuses.items() if k.startswith("2"))
    lat = report["latency_us"]
    cores = group(cpu_share(cpu0, cpu1, elapsed), wrk_cpu_s / elapsed)
    per_msg = elapsed / max(1, ok * batch) * 1e6
    return Cell(
        endpoint,
        batch,
        stack.workers,
        connections,
        round_,
        round(duration, 3),
        report["requests"],
        ok,
        statuses,
        {k: v for k, v in errors.items() if k != "status"},
        round(report["requests"] / duration, 1),
        round(ok * batch / duration, 1),
        {k: round(lat[k] / 1000.0, 2) for k in ("mean", "p50", "p90", "p99", "p999", "max")},
        ok * batch,
        after - before,
        connections * batch,
        cores,
        {k: round(v * per_msg, 1) for k, v in cores.items()},
        round(load, 2),
    )


def run_all(
    plan: Plan, seed: int, console: Console, *, speed: bool = True, robust: bool = True
) -> tuple[list[Cell], Robustness | None, dict[str, list[str]]]:
    """One Redis and API per worker count, serving its cells in turn; robustness on the last one."""
    traffic = Traffic(seed)
    cells: list[Cell] = []
    robustness_run: Robustness | None = None
    runs = [("messages", 1, c) for c in plan.single_connections]
    runs += [("batches", b, c) for b, c in plan.batch_connections.items()]
    root = Path(tempfile.mkdtemp(prefix="a2p-api-bench-"))
    stacks = Stacks(root)
    try:
        with contextlib.ExitStack() as running:
            apis: dict[int, Stack] = {}
            for workers in plan.workers if speed else plan.workers[-1:]:
                began = time.monotonic()
                apis[workers] = running.enter_context(stacks.up(workers))
                console.log(f"{workers} worker(s): Redis and API up in {time.monotonic() - began:.1f} s")
            for round_ in range(plan.rounds if speed else 0):
                for endpoint, batch, connections in runs:
                    order = list(apis.values()) if round_ % 2 == 0 else list(apis.values())[::-1]
                    for stack in order:
                        began = time.monotonic()
                        cell = measure(
                            stack, traffic, endpoint, batch, connections=connections, plan=plan, round_=round_
                        )
                        cells.append(cell)
                        console.log(
                            f"round {round_ + 1}: {endpoint:8} x{batch:<5,} workers {stack.workers} "
                            f"conns {connections:>3}: {cell.requests_per_s:,.0f} req/s, "
                            f"{cell.accepted_per_s:,.0f} accepted msg/s, "
                            f"p50 {cell.latency_ms['p50']:.1f} ms, p99 {cell.latency_ms['p99']:.1f} ms, "
                            f"API {cell.cpu_us_per_msg['api']:,.0f} µs CPU/msg, "
                            f"wrk {cell.generator_cores:.2f} cores, load {cell.load_average_1m:.1f}; "
                            f"{time.monotonic() - began:.1f} s"
                        )
            if robust:
                began = time.monotonic()
                robustness_run = robustness(apis[max(apis)], plan, seed)
                console.log(
                    f"robustness: {robustness_run.requests:,} requests, "
                    f"{robustness_run.server_errors} 5xx; {time.monotonic() - began:.1f} s"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return cells, robustness_run, stacks.logs


# -- robustness -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Robustness:
    requests: int
    answered: int
    statuses: dict[str, int]  # overall histogram; "0" = no answer (connection failed or closed)
    by_kind: dict[str, dict[str, int]]
    unexpected: dict[str, dict[str, int]]  # per kind, the answers outside its expected set
    server_errors: int  # 5xx
    no_answer: int
    failures: dict[str, int]
    elapsed_s: float
    requests_per_s: float
    latency_ms: dict[str, float]
    workers: int
    connections: int
    generator_cpu_cores: float
    cpu_cores: dict[str, float]
    acknowledged_messages: int  # what the 202s imply (idempotent kinds: one per distinct key)
    redis_accepted: int
    load_average_1m: float
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)  # weight, expected, fixed


def robustness(stack: Stack, plan: Plan, seed: int) -> Robustness:
    mix = kinds()
    workers = stack.workers
    pool = robustness_pool(stack.token, plan.robustness_requests, seed)
    pool_file = write_pool(stack.folder / "robustness-pool", pool)
    out = stack.folder / "robustness.json"
    port = stack.url.rsplit(":", 1)[1]
    command = [
        sys.executable,
        "-m",
        "benchmarks.api_load",
        str(pool_file),
        str(out),
        "--host",
        HOST,
        "--port",
        port,
        "--connections",
        str(plan.robustness_connections),
    ]
    load = os.getloadavg()[0]
    before = settled(stack.redis_url)
    cpu0, t0 = cpu_times(), time.monotonic()
    process = subprocess.Popen(command, cwd=HERE.parent)
    try:
        generator_s = wait_child(process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    cpu1, elapsed = cpu_times(), time.monotonic() - t0
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode})")
    after = settled(stack.redis_url)
    report = json.loads(out.read_text())
    pool_file.unlink()
    by_kind: dict[str, dict[str, int]] = report["statuses"]
    total: Counter[str] = Counter()
    unexpected: dict[str, dict[str, int]] = {}
    acknowledged = 0
    for name, counts in by_kind.items():
        total.update(counts)
        wrong = {s: n for s, n in counts.items() if int(s) not in mix[name].expected}
        if wrong:
            unexpected[name] = wrong
        acknowledged += counts.get("202", 0) * mix[name].messages
    idempotency_keys = {
        raw.split(b"Idempotency-Key: ", 1)[1].split(b"\r\n", 1)[0]
        for name, raw in pool
        if mix[name].messages == 0
    }
    acknowledged += len(idempotency_keys)
    statuses = {k: total[k] for k in sorted(total, key=int)}
    return Robustness(
        len(pool),
        report["answered"],
        statuses,
        by_kind,
        unexpected,
        sum(n for s, n in total.items() if int(s) >= 500),
        total.get("0", 0),
        report["failures"],
        round(report["elapsed_s"], 2),
        round(len(pool) / report["elapsed_s"], 1),
        {k: round(v, 2) for k, v in report["latency_ms"].items()},
        workers,
        plan.robustness_connections,
        round(generator_s / elapsed, 3),
        group(cpu_share(cpu0, cpu1, elapsed), generator_s / elapsed),
        acknowledged,
        after - before,
        round(load, 2),
        {n: {"weight": k.weight, "fixed": k.fixed, "expected": sorted(k.expected)} for n, k in mix.items()},
    )


# -- reporting --------------------------------------------------------------------------------------


def best_runs(cells: Sequence[Cell]) -> list[Cell]:
    """Per configuration, the round with the most accepted messages/s (the least disturbed run)."""
    top: dict[tuple[str, int, int, int], Cell] = {}
    for c in cells:
        key = (c.endpoint, c.batch, c.workers, c.connections)
        if key not in top or c.accepted_per_s > top[key].accepted_per_s:
            top[key] = c
    return sorted(top.values(), key=lambda c: (c.workers, c.endpoint != "messages", c.batch, c.connections))


def rounds_of(cells: Sequence[Cell], c: Cell) -> list[float]:
    key = (c.endpoint, c.batch, c.workers, c.connections)
    return [x.accepted_per_s for x in cells if (x.endpoint, x.batch, x.workers, x.connections) == key]


def best(cells: Sequence[Cell]) -> Cell | None:
    return max(cells, key=lambda c: c.accepted_per_s, default=None)


def verdicts(runs: list[Cell], robust: Robustness | None) -> list[Verdict]:
    """On the best round of each configuration; durability on every run."""
    out: list[Verdict] = []
    cells = best_runs(runs)
    workers = sorted({c.workers for c in cells})
    for w in workers:
        singles = [c for c in cells if c.endpoint == "messages" and c.workers == w]
        within = best([c for c in singles if c.latency_ms["p99"] <= TARGET_SINGLE_P99_MS])
        # the best cell within the latency bound, else the one closest to it
        pick = within or min(singles, key=lambda c: c.latency_ms["p99"], default=None)
        if pick is None:
            continue
        value = pick.accepted_per_s
        ok = within is not None and value >= TARGET_SINGLE_PER_S
        note = (
            f"{pick.connections} connections, p99 {pick.latency_ms['p99']:.1f} ms"
            + ("" if within else " (no concurrency kept p99 within the bound)")
            + f", CPU ceiling {pick.ceiling_per_s:,.0f}/s"
        )
        out.append(
            Verdict(
                f"single sends, {w} worker(s), accepted/s with p99 <= {TARGET_SINGLE_P99_MS:.0f} ms "
                f">= {TARGET_SINGLE_PER_S:,.0f}",
                value,
                TARGET_SINGLE_PER_S,
                ok,
                note,
            )
        )
    for w in workers:
        for size in sorted({c.batch for c in cells if c.endpoint == "batches"}):
            c = best([c for c in cells if c.endpoint == "batches" and c.workers == w and c.batch == size])
            if c is not None:
                out.append(
                    Verdict(
                        f"batches of {size:,}, {w} worker(s), accepted msgs/s >= "
                        f"{TARGET_BATCH_MSGS_PER_S:,.0f}",
                        c.accepted_per_s,
                        TARGET_BATCH_MSGS_PER_S,
                        c.accepted_per_s >= TARGET_BATCH_MSGS_PER_S,
                        f"p99 {c.latency_ms['p99']:.0f} ms per request, CPU ceiling {c.ceiling_per_s:,.0f}/s",
                    )
                )
    bad = [c for c in runs if not c.durable]
    out.append(Verdict("cells whose Redis count disagrees with the 202s (== 0)", len(bad), 0, not bad))
    if robust is not None:
        enough = robust.requests >= TARGET_ROBUSTNESS_REQUESTS
        out.append(
            Verdict(
                f"5xx answers over {robust.requests:,} mixed requests (== 0, >= "
                f"{TARGET_ROBUSTNESS_REQUESTS:,} requests)",
                robust.server_errors,
                0,
                robust.server_errors == 0 and enough,
                f"{robust.no_answer} without an answer",
            )
        )
    return out


def cell_table(runs: list[Cell]) -> Table:
    cells = best_runs(runs)
    rounds = max((c.round for c in runs), default=0) + 1
    t = Table(
        title=f"API throughput, best of {rounds} round(s): wrk (1 thread, keep-alive) -> uvicorn workers -> "
        "durable Redis (AOF everysec)"
    )
    columns = ("endpoint", "msgs/req", "workers", "conns", "accepted msg/s", "all rounds", "p50 ms", "p99 ms",
               "max ms", "errors", "202 msgs", "Redis +acc.", "cores api/redis/wrk", "µs/msg api/redis/wrk",
               "ceiling msg/s", "load 1m")  # fmt: skip
    for col in columns:
        t.add_column(col, justify="left" if col == "endpoint" else "right")
    for c in cells:
        cores = c.cpu_cores
        errors = [f"{k}: {n}" for k, n in c.statuses.items() if not k.startswith("2")]
        errors += [f"{k}: {n}" for k, n in c.socket_errors.items() if n]
        t.add_row(
            c.endpoint, f"{c.batch:,}", str(c.workers), str(c.connections), f"{c.accepted_per_s:,.0f}",
            " ".join(f"{v / 1000:,.1f}k" for v in rounds_of(runs, c)), f"{c.latency_ms['p50']:.1f}",
            f"{c.latency_ms['p99']:.1f}", f"{c.latency_ms['max']:.0f}", ", ".join(errors) or "0",
            f"{c.acknowledged:,}", f"{c.redis_accepted:,}" + ("" if c.durable else " [red]![/]"),
            f"{cores['api']:.2f}/{cores['redis-server']:.2f}/{cores['wrk']:.2f}",
            "/".join(f"{c.cpu_us_per_msg[k]:,.0f}" for k in ("api", "redis-server", "wrk")),
            f"{c.ceiling_per_s:,.0f}", f"{c.load_average_1m:.1f}",
        )  # fmt: skip
    return t


def ratios(runs: list[Cell]) -> dict[str, float]:
    cells = best_runs(runs)
    """Two workers over one; batches over single sends; now over the figures in ARCHITECTURE.md."""
    top: dict[tuple[str, int, int], float] = {}
    for c in cells:
        key = (c.endpoint, c.batch, c.workers)
        top[key] = max(top.get(key, 0.0), c.accepted_per_s)
    out: dict[str, float] = {}
    for (endpoint, batch, workers), value in sorted(top.items()):
        one = top.get((endpoint, batch, 1))
        if workers == 2 and one:
            out[f"{endpoint} x{batch}: 2 workers / 1 worker"] = value / one
        single = top.get(("messages", 1, workers))
        if endpoint == "batches" and single:
            out[f"batches x{batch} / single sends, {workers} worker(s), msgs/s"] = value / single
        earlier = EARLIER.get((endpoint, batch, workers))
        if earlier:
            out[f"{endpoint} x{batch}, {workers} worker(s): now / ARCHITECTURE.md ({earlier:,.0f})"] = (
                value / earlier
            )
    return {k: round(v, 2) for k, v in out.items()}


def robustness_table(r: Robustness) -> Table:
    t = Table(
        title=f"Robustness: {r.requests:,} generated requests, {r.connections} connections, "
        f"{r.workers} worker(s), {r.requests_per_s:,.0f} req/s"
    )
    t.add_column("kind")
    t.add_column("requests", justify="right")
    t.add_column("statuses")
    t.add_column("unexpected")
    for name, counts in sorted(r.by_kind.items(), key=lambda kv: -sum(kv[1].values())):
        wrong = r.unexpected.get(name, {})
        t.add_row(
            name,
            f"{sum(counts.values()):,}",
            ", ".join(f"{s}: {n:,}" for s, n in counts.items()),
            ", ".join(f"[red]{s}: {n}[/]" for s, n in wrong.items()),
        )
    t.add_row(
        "all",
        f"{sum(r.statuses.values()):,}",
        ", ".join(f"{s}: {n:,}" for s, n in r.statuses.items()),
        f"5xx: {r.server_errors}, no answer: {r.no_answer}",
        style="bold",
    )
    return t


def machine() -> dict[str, Any]:
    def output(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except (OSError, RuntimeError):
            return "?"
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "fastapi": version("fastapi"),
        "uvicorn": version("uvicorn"),
        "pydantic": version("pydantic"),
        "redis_py": version("redis"),
        "redis_server": output([redis_binary(), "--version"]),
        "wrk": output(["wrk", "--version"]),
        "load_average_at_end": list(os.getloadavg()),
    }


def document(
    plan: Plan,
    cells: list[Cell],
    robust: Robustness | None,
    verdict: list[Verdict],
    *,
    quick: bool,
    seed: int,
    logs: dict[str, list[str]],
) -> dict[str, Any]:
    tops = best_runs(cells)
    return {
        "machine": machine(),
        "settings": {
            "quick": quick,
            "seed": seed,
            "plan": asdict(plan),
            "wrk_threads": 1,
            "wrk_timeout_s": WRK_TIMEOUT_S,
            "single_pool": SINGLE_POOL,
            "batch_pool": BATCH_POOL,
            "rate_per_s": RATE_NEVER_BINDS,
            "max_batch": MAX_BATCH,
            "settle_s": SETTLE_S,
            "redis": "embedded, appendonly yes, appendfsync everysec, unix socket; fresh per cell",
            "api": "uvicorn engine.api.app:from_env --factory, --no-access-log; fresh per cell",
            "destinations": {"regions": REGIONS, "numbers_per_region": NUMBERS_PER_REGION},
        },
        "cells": [  # every run; "best": the round the tables, ratios and targets use
            {**asdict(c), "durable": c.durable, "ceiling_per_s": round(c.ceiling_per_s), "best": c in tops}
            for c in cells
        ],
        "ratios": ratios(cells),
        "robustness": asdict(robust) if robust else None,
        "logs": logs,  # uvicorn at --log-level warning, and Redis' warnings: empty when all went well
        "targets": {
            "single_accepted_per_s": TARGET_SINGLE_PER_S,
            "single_p99_ms": TARGET_SINGLE_P99_MS,
            "batch_accepted_msgs_per_s": TARGET_BATCH_MSGS_PER_S,
            "robustness_requests": TARGET_ROBUSTNESS_REQUESTS,
            "robustness_5xx": 0,
            "results": [asdict(v) for v in verdict],
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer cells (under a minute)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-robustness", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=230)
    if shutil.which("wrk") is None and not args.skip_throughput:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (or pass --skip-throughput)")
    plan = Plan.of(args.quick)
    began = time.monotonic()
    cells, robust, logs = run_all(
        plan, args.seed, console, speed=not args.skip_throughput, robust=not args.skip_robustness
    )
    verdict = verdicts(cells, robust)
    if cells:
        console.print(cell_table(cells))
        console.print(
            "ceiling = cores on the machine / CPU µs per message (API + Redis + wrk): what this cell's CPU "
            "cost allows with nothing else running; an upper bound. "
            f"Load generator: at most {max(c.generator_cores for c in cells):.2f} cores (wrk, 1 thread)."
        )
        for name, value in ratios(cells).items():
            console.print(f"ratio {name}: {value:.2f}")
    if robust is not None:
        console.print(robustness_table(robust))
        if robust.failures:
            console.print(f"requests without an answer: {robust.failures}")
        console.print(
            f"robustness: generator {robust.generator_cpu_cores:.2f} cores, "
            f"API {robust.cpu_cores['api']:.2f} cores; Redis accepted {robust.redis_accepted:,}, "
            f"the 202s imply {robust.acknowledged_messages:,}"
        )
    for v in verdict:
        console.print(v.line())
    for name, lines in logs.items():
        if lines:
            console.print(f"log ({name}), last {len(lines)} lines:\n" + "\n".join(lines), markup=False)
    load = os.getloadavg()
    console.print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores (shared, noisy); "
        f"{time.monotonic() - began:.0f} s in all"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            document(plan, cells, robust, verdict, quick=args.quick, seed=args.seed, logs=logs), indent=2
        )
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
