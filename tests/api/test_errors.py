"""Every bad input gets a precise problem document, never a 5xx; fuzzed with hypothesis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api

GOOD = {"to": "+2348031234567", "from": "ACME", "body": "hi", "traffic_type": "otp"}


Headers = dict[str, str] | None


def _problem(
    api: Api, body: Any = None, *, raw: bytes | None = None, headers: Headers = None,
    path: str = "/v1/messages", tenant: str | None = "acme",
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    with api.client(tenant) as http:
        if raw is not None:
            answer = http.post(path, content=raw, headers=headers or {"content-type": "application/json"})
        else:
            answer = http.post(path, json=body, headers=headers)
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"to": "12345"}, "to", "invalid_request"),
        ({"to": "+441632960000"}, "to", "invalid_request"),  # a UK fixed line, not a mobile
        ({"body": ""}, "body", "invalid_request"),
        ({"body": "x" * 3_000}, "body", "invalid_request"),  # 20 parts
        ({"traffic_type": "spam"}, "traffic_type", "invalid_request"),
        ({"send_at": "tomorrow"}, "send_at", "invalid_request"),
        ({"send_at": "2030-01-01T00:00:00"}, "send_at", "invalid_request"),  # no zone
        ({"status_callback": "ftp://x"}, "status_callback", "invalid_request"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_each_bad_field_is_named(api: Api, change: dict[str, Any], field: str, code: str) -> None:
    status, problem = _problem(api, {**GOOD, **change})
    assert status == 422
    assert problem["code"] == code
    assert field in {p["name"] for p in problem["invalid_params"]}


def test_a_bad_message_in_a_batch_is_named_by_its_index(api: Api) -> None:
    status, problem = _problem(api, {"messages": [GOOD, {**GOOD, "to": "nope"}]}, path="/v1/batches")
    assert status == 422
    assert [p["name"] for p in problem["invalid_params"]] == ["messages[1].to"]


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        (b"{not json", None, 400, "malformed_json"),
        (b'{"to": "\\ud800"}', None, 400, "malformed_json"),  # a lone surrogate: not text
        (b'{"to": NaN}', None, 400, "malformed_json"),
        (b'{"validity_s": 1' + b"0" * 30 + b"}", None, 422, "invalid_request"),  # past 64 bits
        (b"\xff\xfe{}", None, 400, "malformed_json"),
        (b"to=+234", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        (b"{" + b" " * 70_000 + b"}", None, 413, "body_too_large"),
    ],
)
def test_unreadable_bodies(
    api: Api, raw: bytes, headers: dict[str, str] | None, status: int, code: str
) -> None:
    assert _problem(api, raw=raw, headers=headers)[0] == status
    assert _problem(api, raw=raw, headers=headers)[1]["code"] == code


def test_a_batch_over_the_limit_is_refused(api: Api) -> None:
    status, problem = _problem(api, {"messages": [GOOD] * 501}, path="/v1/batches")
    assert (status, problem["code"]) == (413, "batch_too_large")


def test_no_key_or_a_wrong_key_is_refused(api: Api) -> None:
    assert _problem(api, GOOD, tenant=None)[1]["code"] == "unauthenticated"
    status, problem = _problem(
        api, GOOD, headers={"Authorization": "Bearer a2p_0000000000000000_" + "x" * 30}
    )
    assert (status, problem["code"]) == (401, "invalid_api_key")


def test_a_tenant_over_its_rate_gets_429_with_retry_after(api: Api) -> None:
    with api.client("limited") as http:
        answers = [http.post("/v1/batches", json={"messages": [GOOD] * 150}) for _ in range(3)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert int(limited[0].headers["retry-after"]) >= 1


def test_unknown_paths_and_methods_are_problems(api: Api) -> None:
    with api.client() as http:
        missing, wrong = http.get("/v1/nothing"), http.delete("/v1/messages")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "to": st.one_of(st.text(max_size=20), st.just("+2348031234567"), JSONISH),
        "from": st.one_of(st.text(max_size=14), JSONISH), "body": st.one_of(st.text(max_size=200), JSONISH),
        "traffic_type": st.one_of(st.sampled_from(["otp", "marketing", "x"]), JSONISH),
        "send_at": JSONISH, "validity_s": JSONISH, "max_price": JSONISH, "metadata": JSONISH,
        "status_callback": JSONISH, "client_ref": JSONISH, "extra": JSONISH,
    },
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(FIELDS, JSONISH, st.fixed_dictionaries({"messages": st.lists(FIELDS, max_size=3)})))
def test_generated_requests_never_get_a_5xx(api: Api, body: Any) -> None:
    with api.client() as http:
        for path in ("/v1/messages", "/v1/batches"):
            answer = http.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
            assert answer.status_code < 500, (path, body, answer.text)


def test_an_oversize_body_without_a_length_is_413_too(api: Api) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, counted as it arrives
        yield b'{"to": "'
        for _ in range(100):
            yield b"x" * 1_000
        yield b'"}'

    with api.client() as http:
        answer = http.post("/v1/messages", content=chunks(), headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["code"]) == (413, "body_too_large")
