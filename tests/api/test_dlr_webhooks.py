"""Delivery reports pushed by an HTTP aggregator: signature checked, handed on, bad ones refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.http.signing import body_signature
from tests.api.conftest import Api, serve

ROUTES = """
[[channels]]
id = "agg"
kind = "http"
mapping = "infobip_like"
base_url = "http://127.0.0.1:9"
callback_url = "http://127.0.0.1:8080/v1/channels/agg/dlr"
token_env = "A2P_TEST_AGG_TOKEN"
webhook_secret_env = "A2P_TEST_AGG_HOOK"

[[routes]]
country = "*"
candidates = [{ channel = "agg", price = 0.01 }]
"""
SECRET = "hook-secret"


@pytest.fixture(scope="module")
def api_with_channel(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A2P_TEST_AGG_TOKEN", "token")
        patch.setenv("A2P_TEST_AGG_HOOK", SECRET)
        table = Path(tmp_path_factory.mktemp("routes")) / "routes.toml"
        table.write_text(ROUTES)
        with serve(redis_url, route_table=str(table)) as api:
            yield api


def _report(status: str = "DELIVERED") -> bytes:
    result = {"messageId": "42", "to": "2348031234567", "callbackData": "m1", "status": {"groupName": status}}
    return json.dumps({"results": [result]}).encode()


def _post(api: Api, body: bytes, signature: str | None, channel: str = "agg") -> httpx.Response:
    headers = {"content-type": "application/json", **({"X-Signature": signature} if signature else {})}
    with httpx.Client(base_url=api.url) as http:
        return http.post(f"/v1/channels/{channel}/dlr", content=body, headers=headers)


def test_a_signed_report_is_taken_for_the_receipt_processor(api_with_channel: Api) -> None:
    body = _report()
    answer = _post(api_with_channel, body, body_signature(body, SECRET))

    async def inbound(store: Any) -> Any:
        return await store.client.xrange(store.keys.inbound())

    assert (answer.status_code, answer.json()) == (200, {"received": 1})
    (_, fields), *_ = api_with_channel.run(inbound)
    assert (fields["channel"], fields["provider_id"], fields["status"]) == ("agg", "42", "delivered")


@pytest.mark.parametrize(
    ("body", "signature", "status", "code"),
    [
        (_report(), "sha256=" + "0" * 64, 401, "webhook_bad_signature"),
        (_report(), None, 401, "webhook_bad_signature"),
        (b"{not json", body_signature(b"{not json", SECRET), 400, "webhook_malformed"),
    ],
)
def test_forged_or_broken_reports_are_refused(
    api_with_channel: Api, body: bytes, signature: str | None, status: int, code: str
) -> None:
    answer = _post(api_with_channel, body, signature)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_reports_for_a_channel_that_takes_none_are_404(api_with_channel: Api) -> None:
    answer = _post(api_with_channel, _report(), None, channel="nope")
    assert (answer.status_code, answer.json()["code"]) == (404, "channel_not_found")
