"""Every foreign error mapped at the boundary: each httpx exception and HTTP status, through a
channel on httpx's MockTransport (the way httpx tests itself)."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable

import httpx
import pytest

from adapters.http import TRANSPORT, HttpChannel, HttpSettings, transport_failure
from adapters.http.boundary import Fate, retry_after_s, status_error
from engine.domain.messages import SubmitResult
from tests.http_channel.helpers import messages

HTTPX_ERRORS = sorted(
    (obj for obj in vars(httpx).values() if inspect.isclass(obj) and issubclass(obj, Exception)),
    key=lambda cls: cls.__name__,
)


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", "http://agg.test/sms")
    if cls is httpx.HTTPStatusError:
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    try:
        return cls("boom")
    except TypeError:  # the stream errors take no message
        return cls()


def _submit(
    handler: Callable[[httpx.Request], httpx.Response], n: int = 1, **kw: object
) -> tuple[list[SubmitResult], HttpChannel]:
    settings = HttpSettings("infobip_like", "http://agg.test", retry_backoff_s=0.0, **kw)  # type: ignore[arg-type]
    channel = HttpChannel("mock", settings, {"token": "t"}, transport=httpx.MockTransport(handler))

    async def main() -> list[SubmitResult]:
        try:
            return await channel.submit(messages(n))
        finally:
            await channel.close()

    return asyncio.run(main()), channel


def test_httpx_exports_the_errors_we_expect() -> None:
    assert len(HTTPX_ERRORS) >= 28


@pytest.mark.parametrize("cls", HTTPX_ERRORS, ids=lambda c: c.__name__)
def test_every_httpx_exception_class_has_its_own_entry(cls: type[Exception]) -> None:
    assert cls in TRANSPORT
    assert transport_failure(_instance(cls)) is TRANSPORT[cls]


@pytest.mark.parametrize("cls", HTTPX_ERRORS, ids=lambda c: c.__name__)
def test_every_httpx_exception_becomes_a_result_never_a_raise(cls: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise _instance(cls)

    results, channel = _submit(handler, n=2, connect_retries=2)
    failure = TRANSPORT[cls]
    assert [r.message_id for r in results] == ["m0", "m1"]
    for r in results:
        assert r.error is not None
        assert (r.error.code, r.error.raw, r.error.permanent) == (failure.code, cls.__name__, False)
        assert r.error.outcome_unknown is (failure.fate is Fate.UNKNOWN)
        assert r.error.throttled is (failure.fate is Fate.BUSY)
    # Only a connection never made is tried again; whatever may have arrived is sent once.
    assert channel.requests == (3 if failure.fate is Fate.RETRY else 1)


def test_a_request_that_may_have_arrived_is_never_unsure_about_its_fate() -> None:
    sent_then_lost = [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError]
    assert all(TRANSPORT[c].fate is Fate.UNKNOWN for c in sent_then_lost)
    assert {TRANSPORT[c].fate for c in (httpx.ConnectError, httpx.ConnectTimeout)} == {Fate.RETRY}


def test_an_unexpected_exception_is_assumed_to_have_left() -> None:
    assert transport_failure(RuntimeError("bug")).fate is Fate.UNKNOWN
    assert transport_failure(OSError("reset")).fate is Fate.UNKNOWN


def _answer(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("status", "code", "permanent", "throttled", "unknown"),
    [
        (400, "rejected", True, False, False), (422, "rejected", True, False, False),
        (401, "auth_failed", False, False, False), (403, "auth_failed", False, False, False),
        (404, "bad_endpoint", False, False, False), (408, "request_timeout", False, False, False),
        (413, "too_large", False, False, False), (429, "throttled", False, True, False),
        (500, "server_error", False, False, False), (502, "server_error", False, False, False),
        (503, "server_error", False, False, False), (504, "gateway_timeout", False, False, True),
        (301, "unexpected_status", False, False, False),
    ],
)  # fmt: skip
def test_statuses_map_to_errors(
    status: int, code: str, permanent: bool, throttled: bool, unknown: bool
) -> None:
    results, _ = _submit(_answer(status, {}))
    error = results[0].error
    assert error is not None
    assert (error.code, error.permanent, error.throttled, error.outcome_unknown) == (
        code,
        permanent,
        throttled,
        unknown,
    )


def test_status_error_leaves_only_message_faults_to_the_mapping() -> None:
    assert [s for s in range(400, 500) if status_error(s) is None] == [
        s for s in range(400, 500) if s not in (401, 403, 404, 405, 408, 409, 413, 415, 429)
    ]


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"messages": []}', b'{"messages": [1, 2]}'])
def test_a_2xx_we_cannot_read_is_outcome_unknown(body: bytes) -> None:
    results, _ = _submit(lambda r: httpx.Response(200, content=body), n=2)
    assert all(r.error and r.error.outcome_unknown and r.error.code == "bad_response" for r in results)


def test_twilio_codes_that_another_channel_may_carry_are_not_permanent() -> None:
    settings = HttpSettings("twilio_like", "http://agg.test", account="AC1", retry_backoff_s=0.0)

    async def main(code: int) -> SubmitResult:
        body = json.dumps({"code": code, "status": 400}).encode()
        transport = httpx.MockTransport(lambda r: httpx.Response(400, content=body))
        channel = HttpChannel("mock", settings, {"token": "t"}, transport=transport)
        (result,) = await channel.submit(messages(1))
        await channel.close()
        return result

    region, invalid = asyncio.run(main(21408)), asyncio.run(main(21211))
    assert region.error is not None
    assert invalid.error is not None
    assert (region.error.permanent, region.error.raw) == (False, "21408")
    assert (invalid.error.permanent, invalid.error.raw) == (True, "21211")


def test_503_with_retry_after_pauses_the_channel() -> None:
    results, channel = _submit(_answer(503, {}, {"Retry-After": "30"}))
    assert results[0].error is not None
    assert not results[0].error.throttled  # a 503 still fails over...
    assert 29.0 < channel.retry_after_s() <= 30.0  # ...but the channel waits before its next try


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0.5", 0.5), (None, 1.0), ("", 1.0), ("-4", 0.0), ("9999", 60.0), ("nan", 1.0), ("x", 1.0),
     ("Thu, 01 Jan 1970 00:00:10 GMT", 10.0), ("Thu, 01 Jan 1970 00:00:00 +9999", 1.0)],
)  # fmt: skip
def test_retry_after_accepts_seconds_and_dates(value: str | None, expected: float) -> None:
    assert retry_after_s(value, 0.0, 1.0, 60.0) == pytest.approx(expected)
