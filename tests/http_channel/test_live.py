"""Against real loopback HTTP servers: a fake aggregator in a background thread, and a DLR intake
endpoint in the test's loop that the aggregator calls back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from adapters.http import HttpChannel, WebhookReceipt, webhook_parser
from engine.domain.messages import Receipt, ReceiptStatus
from tests.http_channel.fake import HOOK_SECRET, TOKEN, FakeAggregator, running
from tests.http_channel.helpers import Intake, channel_config, intake, make_channel, messages, wait_receipts
from tests.http_channel.server import ThreadedServer, free_port

MAPPINGS = ["twilio_like", "infobip_like"]

Body = Callable[[HttpChannel, FakeAggregator, Intake], Awaitable[None]]


def _run(fake: FakeAggregator, body: Body, **options: float | str) -> None:
    """Serve ``fake``, open a channel on it with an intake endpoint, run ``body``, close all."""

    async def main(server: ThreadedServer) -> None:
        async with intake() as hook:
            channel = make_channel(fake.mapping, server.url, hook.url, **options)
            hook.accept = channel.ingest_webhook
            try:
                await body(channel, fake, hook)
            finally:
                await channel.close()

    with running(fake) as server:
        asyncio.run(main(server))


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_submits_are_accepted_and_receipts_correlate(mapping: str) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        batch = messages(14)  # m13 goes to a number ending in 13: undelivered
        results = await channel.submit(batch)
        assert all(r.accepted for r in results)
        receipts = await wait_receipts(channel, 14)
        by_pid = {r.provider_id: r for r in receipts}
        assert set(by_pid) == {r.provider_id for r in results}
        refs = {r.message_id: by_pid[r.provider_id or ""] for r in results}
        assert all(isinstance(r, WebhookReceipt) and r.message_ref == mid for mid, r in refs.items())
        assert refs["m13"].status is ReceiptStatus.UNDELIVERED
        assert refs["m13"].error_code
        assert {r.status for mid, r in refs.items() if mid != "m13"} == {ReceiptStatus.DELIVERED}
        assert set(hook.answers) == {204}
        assert channel.health().receipts == 14

    _run(FakeAggregator(mapping), body)


@pytest.mark.parametrize(
    ("mapping", "size", "n", "requests"), [("infobip_like", 10, 25, 3), ("twilio_like", 10, 5, 5)]
)
def test_batch_mappings_send_one_request_per_batch(mapping: str, size: int, n: int, requests: int) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        results = await channel.submit(messages(n))
        assert all(r.accepted for r in results)
        assert len(fake.submit_requests()) == channel.requests == requests

    _run(FakeAggregator(mapping), body, batch_size=size)


@pytest.mark.parametrize(
    ("mapping", "raw"), [("twilio_like", "21211"), ("infobip_like", "REJECTED_DESTINATION")]
)
def test_a_refused_number_is_a_permanent_error_for_that_message_only(mapping: str, raw: str) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        batch = messages(3) + messages(2, "bad", to="+9990000{i:04d}")
        results = await channel.submit(batch)
        assert [r.message_id for r in results] == [m.id for m in batch]
        assert [r.accepted for r in results] == [True, True, True, False, False]
        errors = [r.error for r in results if r.error is not None]
        assert all(e.permanent and not e.outcome_unknown and e.raw == raw for e in errors)
        assert (channel.health().submitted, channel.health().failed) == (3, 2)

    _run(FakeAggregator(mapping), body)


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_429_throttles_and_pauses_the_channel_for_retry_after(mapping: str) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        fake.script.append("429")
        first = await channel.submit(messages(1))
        assert all(r.error and r.error.throttled and not r.error.permanent for r in first)
        assert 0.0 < channel.retry_after_s() <= 0.3
        sent = len(fake.requests)
        paused = await channel.submit(messages(2, "p"))  # answered here, nothing sent
        assert all(r.error and r.error.throttled for r in paused)
        assert len(fake.requests) == sent
        await asyncio.sleep(channel.retry_after_s() + 0.01)
        assert all(r.accepted for r in await channel.submit(messages(2, "q")))

    fake = FakeAggregator(mapping, retry_after="0.3")
    _run(fake, body)


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize(
    ("status", "code", "unknown"),
    [("500", "server_error", False), ("503", "server_error", False), ("401", "auth_failed", False),
     ("504", "gateway_timeout", True)],
)  # fmt: skip
def test_server_and_auth_errors_fail_over_and_a_gateway_timeout_is_unknown(
    mapping: str, status: str, code: str, unknown: bool
) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        fake.script.append(status)
        results = await channel.submit(messages(1))
        error = results[0].error
        assert error is not None
        assert (error.code, error.raw, error.outcome_unknown) == (code, f"http {status}", unknown)
        assert (error.permanent, error.throttled) == (False, False)
        assert len(fake.requests) == 1  # never retried here

    _run(FakeAggregator(mapping, retry_after="0.01"), body)


def test_a_batch_refused_whole_is_resent_one_message_per_request() -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        fake.script.append("400")  # the aggregator refuses the batch request as a whole
        batch = messages(3) + messages(1, "bad", to="+9990000{i:04d}")
        results = await channel.submit(batch)
        assert [r.accepted for r in results] == [True, True, True, False]
        assert len(fake.submit_requests()) == 1 + 4

    _run(FakeAggregator("infobip_like"), body)


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize(("action", "code"), [("slow", "response_timeout"), ("hang_up", "connection_lost")])
def test_no_answer_after_sending_is_outcome_unknown_and_never_retried(
    mapping: str, action: str, code: str
) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        fake.script.append(action)
        results = await channel.submit(messages(3 if channel.mapping.batched else 1))
        assert all(r.error and r.error.outcome_unknown and r.error.code == code for r in results)
        assert not any(r.error and (r.error.permanent or r.error.throttled) for r in results)
        await asyncio.sleep(0.1)
        assert len(fake.submit_requests()) == channel.requests == 1
        assert channel.retries == 0

    _run(FakeAggregator(mapping, slow_s=0.6), body, read_timeout_s=0.2)


def test_connect_refused_is_retried_here_until_the_aggregator_is_up() -> None:
    port = free_port()
    fake = FakeAggregator("twilio_like")

    async def main() -> None:
        channel = make_channel(
            "twilio_like", f"http://127.0.0.1:{port}", connect_retries=6, retry_backoff_s=0.05
        )
        task = asyncio.create_task(channel.submit(messages(1)))
        await asyncio.sleep(0.08)  # the first attempts meet a closed port
        with running(fake, port):
            results = await task
            await channel.close()
        assert results[0].accepted
        assert channel.retries >= 1
        assert len(fake.submit_requests()) == 1  # the refused attempts never reached it

    asyncio.run(main())


def test_connect_refused_for_good_fails_over_after_bounded_retries() -> None:
    async def main() -> None:
        channel = make_channel("infobip_like", f"http://127.0.0.1:{free_port()}", connect_retries=2)
        results = await channel.submit(messages(2))
        await channel.close()
        errors = [r.error for r in results]
        assert all(e and e.code == "connect_failed" and e.raw == "ConnectError" for e in errors)
        assert not any(e and (e.permanent or e.outcome_unknown or e.throttled) for e in errors)
        assert (channel.requests, channel.retries) == (3, 2)

    asyncio.run(main())


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_a_forged_or_garbled_webhook_is_refused_and_counted(mapping: str) -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        results = await channel.submit(messages(1))
        await wait_receipts(channel, 1)
        header = "X-Twilio-Signature" if mapping == "twilio_like" else "X-Signature"
        good = {header: "sha256=00" if mapping == "infobip_like" else "AAAA"}
        async with httpx.AsyncClient(trust_env=False) as client:
            forged = f"MessageSid={results[0].provider_id}&MessageStatus=delivered".encode()
            if mapping == "infobip_like":
                forged = json.dumps({"results": [{"messageId": results[0].provider_id}]}).encode()
            answer = await client.post(hook.url, content=forged, headers=good)
            assert answer.status_code == 401
            unsigned = await client.post(hook.url, content=forged)
            assert unsigned.status_code == 401
        assert channel.health().bad_receipts == 2
        assert await channel.receipts(10, 0.05) == []

    _run(FakeAggregator(mapping), body)


def test_duplicate_and_interim_reports_all_come_through() -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        results = await channel.submit(messages(2))
        receipts = await wait_receipts(channel, 8)  # sent + delivered, each twice, per message
        assert len(receipts) == 8
        assert {r.provider_id for r in receipts} == {r.provider_id for r in results}
        statuses = [r.status for r in receipts]
        assert statuses.count(ReceiptStatus.ENROUTE) == statuses.count(ReceiptStatus.DELIVERED) == 4

    _run(FakeAggregator("twilio_like", interim=True, duplicate=True), body)


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_api_style_intake_with_webhook_parser_and_a_relative_url(mapping: str) -> None:
    """What the API does: one parser per configured channel, fed the path the request came to."""
    got: list[Receipt] = []

    async def main(server: ThreadedServer) -> None:
        async with intake() as hook:
            config = channel_config("agg", mapping, server.url, hook.url)
            secrets = (
                {"token": TOKEN}
                if mapping == "twilio_like"
                else {"token": TOKEN, "webhook_secret": HOOK_SECRET}
            )
            parse = webhook_parser(config, secrets)
            # The intake sees only the path and query, as a server behind a proxy would.
            hook.accept = lambda headers, body, url: got.extend(
                parse(headers, body, url[len(hook.server.url) :])
            )
            channel = make_channel(mapping, server.url, hook.url)
            results = await channel.submit(messages(3))
            await channel.close()
            for _ in range(100):
                if len(got) == 3:
                    break
                await asyncio.sleep(0.02)
        assert {r.provider_id for r in got} == {r.provider_id for r in results}
        assert {r.channel for r in got} == {"agg"}
        assert set(hook.answers) == {204}

    with running(FakeAggregator(mapping)) as server:
        asyncio.run(main(server))


def test_a_closed_channel_refuses_submits_and_drops_late_reports() -> None:
    async def body(channel: HttpChannel, fake: FakeAggregator, hook: Intake) -> None:
        await channel.submit(messages(3))
        await channel.close()
        await asyncio.sleep(0.15)  # the reports arrive and are answered 204, then dropped
        assert await channel.receipts(10, 0.5) == []
        after = await channel.submit(messages(2, "late"))
        assert [r.error.code if r.error else None for r in after] == ["channel_closed"] * 2
        assert fake.webhooks_sent == 1  # one batch of three reports
        assert not channel.health().connected

    _run(FakeAggregator("infobip_like"), body)
