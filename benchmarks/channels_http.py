"""HTTP channel speed: submits/s through the HTTP adapter against the fake aggregator.

Run with ``python -m benchmarks.channels_http [--quick]``. The fake aggregator
(``tests.http_channel.fake``) runs in its own process on loopback, so client and server do not
share a GIL; it answers at once and sends no delivery reports. Each mapping is driven the way the
channel actor drives it: ``submit`` calls of ``CALL_SIZE`` messages, one after another.

- ``twilio_like``: one request per message, up to ``max_connections`` in flight;
- ``infobip_like``: one request per ``batch_size`` messages.

Webhook parsing (verify + parse, no network) is timed per mapping too. Results are printed as a
table and written to ``benchmarks/results/channels_http.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.http import HttpChannel, HttpSettings, mapping_for
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage
from tests.http_channel.fake import ACCOUNT, HOOK_SECRET, TOKEN

RESULTS = Path(__file__).parent / "results" / "channels_http.json"
ROOT = Path(__file__).resolve().parent.parent
CALL_SIZE = 500  # messages per submit call, as the dispatcher batches them


@dataclass(frozen=True)
class HttpFigure:
    mapping: str
    messages: int
    requests: int
    seconds: float
    submits_per_s: float
    requests_per_s: float
    accepted: int
    max_connections: int
    batch_size: int


def _messages(n: int, prefix: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(f"{prefix}{i}", f"+2348030{i % 100_000:05d}", "ACME", "code 1234", Lane.OTP)
        for i in range(n)
    ]


class _FakeProcess:
    """The fake aggregator in a child process; stopped by closing its stdin."""

    def __init__(self, mapping: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.http_channel.serve", "--mapping", mapping],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line[:1] != ["port"]:
            self.stop()
            raise RuntimeError("the fake aggregator did not start")
        self.url = f"http://127.0.0.1:{line[1]}"

    def stop(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _drive(channel: HttpChannel, n: int, prefix: str) -> tuple[int, float]:
    accepted = 0
    started = time.perf_counter()
    for start in range(0, n, CALL_SIZE):
        results = await channel.submit(_messages(min(CALL_SIZE, n - start), f"{prefix}{start}-"))
        accepted += sum(r.accepted for r in results)
    return accepted, time.perf_counter() - started


def measure_http(
    mappings: Sequence[str] = ("twilio_like", "infobip_like"),
    messages: dict[str, int] | None = None,
    max_connections: int = 32,
    batch_size: int = 100,
) -> list[HttpFigure]:
    """Submits/s per mapping against a fake aggregator in a child process (after a warm-up)."""
    counts = {"twilio_like": 5_000, "infobip_like": 50_000, **(messages or {})}
    figures = []
    for mapping in mappings:
        fake = _FakeProcess(mapping)
        try:
            settings = HttpSettings(
                mapping, fake.url, account=ACCOUNT, max_connections=max_connections, batch_size=batch_size
            )
            channel = HttpChannel(f"bench-{mapping}", settings, {"token": TOKEN})

            async def run(channel: HttpChannel = channel, n: int = counts[mapping]) -> tuple[int, float]:
                try:
                    await _drive(channel, min(n, 2 * CALL_SIZE), "warm")  # connections opened, code warm
                    before = channel.requests
                    result = await _drive(channel, n, "m")
                    channel.requests -= before  # count the measured requests only
                    return result
                finally:
                    await channel.close()

            accepted, seconds = asyncio.run(run())
        finally:
            fake.stop()
        n = counts[mapping]
        figures.append(
            HttpFigure(mapping, n, channel.requests, round(seconds, 3), round(n / seconds, 1),
                       round(channel.requests / seconds, 1), accepted, max_connections, batch_size)
        )  # fmt: skip
    return figures


@dataclass(frozen=True)
class ParseFigure:
    mapping: str
    reports_per_webhook: int
    webhooks_per_s: float
    reports_per_s: float


def _report(i: int) -> dict[str, Any]:
    return {
        "messageId": str(i),
        "status": {"groupName": "DELIVERED"},
        "error": {"id": 0},
        "callbackData": f"m{i}",
    }


def measure_webhook_parsing(rounds: int = 5_000) -> list[ParseFigure]:
    """Verify-and-parse speed of each mapping's webhooks (pure CPU, no network)."""
    url = "https://sms.example.org/v1/channels/agg/dlr?ref=m1"
    bodies = {
        "twilio_like": (b"MessageSid=SM0123&MessageStatus=delivered&AccountSid=AC1&To=%2B2348030000", 1),
        "infobip_like": (
            json.dumps({"results": [_report(i) for i in range(50)]}).encode(),
            50,
        ),
    }  # fmt: skip
    figures = []
    for name, (body, per) in bodies.items():
        mapping = mapping_for(HttpSettings(name, "https://api.test", account=ACCOUNT))
        secret = TOKEN if name == "twilio_like" else HOOK_SECRET
        headers = mapping.sign_webhook(url, body, secret)
        n = rounds if per == 1 else max(1, rounds // 10)
        started = time.perf_counter()
        for _ in range(n):
            mapping.parse_webhook(headers, body, url, secret, channel="agg", at=0.0)
        seconds = time.perf_counter() - started
        figures.append(ParseFigure(name, per, round(n / seconds, 1), round(n * per / seconds, 1)))
    return figures


def _tables(figures: list[HttpFigure], parsing: list[ParseFigure]) -> tuple[Table, Table]:
    table = Table(title="HTTP channel: submits against a fake aggregator (separate process, loopback)")
    for column in ("mapping", "messages", "requests", "seconds", "submits/s", "requests/s", "accepted"):
        table.add_column(column, justify="left" if column == "mapping" else "right")
    for f in figures:
        table.add_row(f.mapping, f"{f.messages:,}", f"{f.requests:,}", f"{f.seconds:.2f}",
                      f"{f.submits_per_s:,.0f}", f"{f.requests_per_s:,.0f}", f"{f.accepted:,}")  # fmt: skip
    parse = Table(title="Webhook intake: verify + parse (CPU only)")
    for column in ("mapping", "reports/webhook", "webhooks/s", "reports/s"):
        parse.add_column(column, justify="left" if column == "mapping" else "right")
    for p in parsing:
        parse.add_row(
            p.mapping, str(p.reports_per_webhook), f"{p.webhooks_per_s:,.0f}", f"{p.reports_per_s:,.0f}"
        )
    return table, parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP channel submits/s against the fake aggregator")
    parser.add_argument("--quick", action="store_true", help="fewer messages (a smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    counts = {"twilio_like": 1_000, "infobip_like": 5_000} if args.quick else None
    figures = measure_http(messages=counts)
    parsing = measure_webhook_parsing(500 if args.quick else 5_000)
    console = Console(width=max(Console().width, 110))
    for table in _tables(figures, parsing):
        console.print(table)
    doc: dict[str, Any] = {
        "benchmark": "channels_http",
        "submits": [asdict(f) for f in figures],
        "webhook_parsing": [asdict(p) for p in parsing],
        "call_size": CALL_SIZE,
        "httpx": version("httpx"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
