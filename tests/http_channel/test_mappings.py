"""Mappings as pure functions: requests built, answers read, webhooks verified and parsed."""

from __future__ import annotations

import contextlib
import doctest
import json
import pickle
from dataclasses import replace
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adapters.http.auth
import adapters.http.boundary
import adapters.http.mappings
import adapters.http.signing
from adapters.http import HttpSettings, WebhookError, WebhookParser, WebhookReceipt, mapping_for
from adapters.http.mappings import ApiMapping
from adapters.http.mappings.base import MAX_WEBHOOK_BYTES
from adapters.http.signing import body_signature, twilio_signature
from engine.domain.clock import ManualClock
from engine.domain.messages import ReceiptStatus
from tests.http_channel.helpers import messages

URL = "https://sms.example.org/v1/channels/agg/dlr"
SECRET = "s3cret"
TWILIO = mapping_for(HttpSettings("twilio_like", "https://api.test", account="AC1", callback_url=URL))
INFOBIP = mapping_for(HttpSettings("infobip_like", "https://api.test", callback_url=URL))


def _twilio_hook(fields: dict[str, str], url: str = URL + "?ref=m7") -> tuple[dict[str, str], bytes, str]:
    return (
        {"X-Twilio-Signature": twilio_signature(url, fields.items(), SECRET)},
        urlencode(fields).encode(),
        url,
    )


def _infobip_hook(report: Any) -> tuple[dict[str, str], bytes, str]:
    body = json.dumps(report).encode()
    return {"x-signature": body_signature(body, SECRET)}, body, URL


def _parse(mapping: ApiMapping, hook: tuple[dict[str, str], bytes, str], secret: str = SECRET) -> list[Any]:
    headers, body, url = hook
    return mapping.parse_webhook(headers, body, url, secret, channel="agg", at=5.0)


# --- requests and answers ------------------------------------------------------------------------


def test_twilio_request_is_a_form_with_our_id_on_the_callback() -> None:
    request = TWILIO.request(messages(1))
    form = dict(parse_qsl(request.content.decode()))
    assert request.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert form == {
        "To": "+234803000000", "From": "ACME", "Body": "code 0000",
        "StatusCallback": URL + "?ref=m0", "ValidityPeriod": "36000",
    }  # fmt: skip


def test_infobip_request_is_one_json_batch() -> None:
    request = INFOBIP.request(messages(2))
    sent = json.loads(request.content)
    assert request.path == "/sms/2/text/advanced"
    assert [m["destinations"] for m in sent["messages"]] == [
        [{"to": "234803000000"}],
        [{"to": "234803000001"}],
    ]
    assert [m["callbackData"] for m in sent["messages"]] == ["m0", "m1"]
    assert {m["notifyUrl"] for m in sent["messages"]} == {URL}


def test_infobip_answer_maps_each_message() -> None:
    pending = {"groupName": "PENDING", "name": "PENDING_ACCEPTED"}
    answer = {
        "messages": [
            {"to": "234803000000", "messageId": "A1", "status": pending},
            {
                "to": "234803000001",
                "status": {"groupName": "REJECTED", "name": "REJECTED_NOT_ENOUGH_CREDITS"},
            },
            {"to": "234803000002", "status": {"groupName": "REJECTED", "name": "REJECTED_FLOODING_FILTER"}},
            {"to": "234803000003", "status": {"groupName": "REJECTED", "name": "REJECTED_SOMETHING_NEW"}},
            {"to": "999", "messageId": "A5", "status": pending},  # not the number we sent
        ]
    }
    results = INFOBIP.accepted(messages(5), json.dumps(answer).encode())
    assert results[0].provider_id == "A1"
    credits, flood, new, swapped = (r.error for r in results[1:])
    assert credits is not None and (credits.permanent, credits.throttled) == (False, False)  # noqa: PT018
    assert flood is not None and flood.throttled  # noqa: PT018
    assert new is not None and (new.raw, new.permanent) == ("REJECTED_SOMETHING_NEW", False)  # noqa: PT018
    assert swapped is not None and swapped.outcome_unknown  # noqa: PT018


def test_mappings_are_found_by_name_and_unknown_ones_listed() -> None:
    with pytest.raises(ValueError, match="known: infobip_like, twilio_like"):
        mapping_for(HttpSettings("vonage_like", "https://api.test"))


# --- webhooks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "status"),
    [("delivered", ReceiptStatus.DELIVERED), ("undelivered", ReceiptStatus.UNDELIVERED),
     ("failed", ReceiptStatus.REJECTED), ("sent", ReceiptStatus.ENROUTE),
     ("Delivered", ReceiptStatus.DELIVERED), ("teleported", ReceiptStatus.UNKNOWN)],
)  # fmt: skip
def test_twilio_statuses(state: str, status: ReceiptStatus) -> None:
    (receipt,) = _parse(
        TWILIO, _twilio_hook({"MessageSid": "SM1", "MessageStatus": state, "ErrorCode": "30003"})
    )
    assert replace(receipt, raw="") == WebhookReceipt("agg", "SM1", status, 5.0, "30003", message_ref="m7")
    assert receipt.raw == "MessageSid=SM1&MessageStatus=" + state + "&ErrorCode=30003"


@pytest.mark.parametrize(
    ("group", "status"),
    [("DELIVERED", ReceiptStatus.DELIVERED), ("UNDELIVERABLE", ReceiptStatus.UNDELIVERED),
     ("EXPIRED", ReceiptStatus.EXPIRED), ("REJECTED", ReceiptStatus.REJECTED),
     ("PENDING", ReceiptStatus.ENROUTE), ("WHATEVER", ReceiptStatus.UNKNOWN)],
)  # fmt: skip
def test_infobip_statuses_in_a_batch(group: str, status: ReceiptStatus) -> None:
    results = [
        {"messageId": "A1", "status": {"groupName": group}, "error": {"id": 0}, "callbackData": "m1"},
        {"messageId": 42, "status": {"groupName": "UNDELIVERABLE"}, "error": {"id": 1, "name": "EC_X"}},
    ]
    first, second = _parse(INFOBIP, _infobip_hook({"results": results}))
    assert (first.provider_id, first.status, first.error_code, first.message_ref) == (
        "A1",
        status,
        None,
        "m1",
    )
    assert (second.provider_id, second.status, second.error_code, second.message_ref) == (
        "42",
        ReceiptStatus.UNDELIVERED,
        "1",
        "",
    )
    assert '"messageId":"A1"' in first.raw


def test_our_id_alone_still_makes_a_receipt() -> None:
    (twilio,) = _parse(TWILIO, _twilio_hook({"MessageStatus": "delivered"}))
    (infobip,) = _parse(
        INFOBIP, _infobip_hook({"results": [{"callbackData": "m9", "status": {"groupName": "DELIVERED"}}]})
    )
    assert (twilio.provider_id, twilio.message_ref) == ("", "m7")
    assert (infobip.provider_id, infobip.message_ref) == ("", "m9")


@pytest.mark.parametrize(
    ("hook", "reason"),
    [
        (_twilio_hook({"MessageSid": "SM1"}), "missing_field"),
        (_twilio_hook({"MessageSid": "SM1", "MessageStatus": ""}), "missing_field"),
        (_twilio_hook({"MessageStatus": "delivered"}, URL), "missing_field"),  # neither id nor ref
        (({"X-Twilio-Signature": "x"}, b"\xff\xfe", URL), "malformed"),
        (({"X-Twilio-Signature": "x"}, b"a=1&" * 300, URL), "malformed"),  # too many fields
    ],
)
def test_twilio_bad_webhooks(hook: tuple[dict[str, str], bytes, str], reason: str) -> None:
    with pytest.raises(WebhookError) as caught:
        _parse(TWILIO, hook)
    assert caught.value.reason == reason
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        ([], "malformed"), ({}, "missing_field"), ({"results": {}}, "malformed"),
        ({"results": [1]}, "malformed"),
        ({"results": [{"messageId": "A1"}]}, "missing_field"),
        ({"results": [{"messageId": "A1", "status": {"name": "X"}}]}, "missing_field"),
        ({"results": [{"status": {"groupName": "DELIVERED"}}]}, "missing_field"),
        ({"results": [{"messageId": ["A1"], "status": {"groupName": "DELIVERED"}}]}, "malformed"),
        ({"results": [{"messageId": "A1", "status": {"groupName": {}}}]}, "malformed"),
        ({"results": [{"messageId": "A1", "status": {"groupName": "X"}, "error": {"id": [1]}}]}, "malformed"),
    ],
)  # fmt: skip
def test_infobip_bad_webhooks(report: Any, reason: str) -> None:
    with pytest.raises(WebhookError) as caught:
        _parse(INFOBIP, _infobip_hook(report))
    assert caught.value.reason == reason


@pytest.mark.parametrize("mapping", [TWILIO, INFOBIP], ids=lambda m: m.name)
def test_a_wrong_missing_or_keyless_signature_is_refused(mapping: ApiMapping) -> None:
    good = (
        _twilio_hook({"MessageSid": "SM1", "MessageStatus": "delivered"})
        if mapping is TWILIO
        else _infobip_hook({"results": []})
    )
    headers, body, url = good
    assert _parse(mapping, good) is not None
    tampered = body + b"&x=1" if mapping is TWILIO else body + b" "
    cases = [
        ((headers, body, url), "other"),  # another key
        (({}, body, url), SECRET),  # no signature
        ((headers, body, url), ""),  # no key configured: nothing can verify
        ((headers, tampered, url), SECRET),
        ((headers, body, url + "&ref=m8"), SECRET if mapping is TWILIO else "other"),  # twilio signs the URL
    ]
    for hook, secret in cases:
        with pytest.raises(WebhookError) as caught:
            _parse(mapping, hook, secret)
        assert caught.value.reason == "bad_signature"
        assert caught.value.http_status == 401


def test_an_oversized_body_is_refused_unread() -> None:
    with pytest.raises(WebhookError, match="malformed"):
        _parse(INFOBIP, ({}, b" " * (MAX_WEBHOOK_BYTES + 1), URL))


def test_the_parser_resolves_a_path_against_the_public_callback_url() -> None:
    parse = WebhookParser("agg", TWILIO, SECRET, ManualClock(9.0), public_url=URL)
    headers, body, _ = _twilio_hook({"MessageSid": "SM1", "MessageStatus": "delivered"})
    (receipt,) = parse(headers, body, "/v1/channels/agg/dlr?ref=m7")
    assert (receipt.channel, receipt.at, receipt.status) == ("agg", 9.0, ReceiptStatus.DELIVERED)
    with pytest.raises(WebhookError, match="malformed"):
        parse(headers, body, "http://[::1/x")


# --- never anything but WebhookError ---------------------------------------------------------------

KEYS = st.sampled_from(["results", "messageId", "status", "groupName", "error", "id", "callbackData", "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=20,
)  # fmt: skip
FIELDS = st.dictionaries(
    st.sampled_from(["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "x"]),
    st.text(max_size=10),
)


@pytest.mark.parametrize("mapping", [TWILIO, INFOBIP], ids=lambda m: m.name)
@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300), url=st.text(max_size=40), sign=st.booleans())
def test_arbitrary_bytes_raise_only_webhook_error(
    mapping: ApiMapping, body: bytes, url: str, sign: bool
) -> None:
    headers = {}
    if sign:  # a valid signature gets the bytes past the check and into the parser
        with contextlib.suppress(WebhookError):  # the body may not even be a form
            headers = mapping.sign_webhook(url, body, SECRET)
    reason: str
    try:
        receipts = mapping.parse_webhook(headers, body, url, SECRET, channel="agg", at=0.0)
    except WebhookError as exc:
        reason = exc.reason
    else:
        reason = "ok"
        assert all(r.channel == "agg" for r in receipts)
    assert reason in ("ok", "bad_signature", "malformed", "missing_field")


@settings(max_examples=150, deadline=None)
@given(report=JSON)
def test_arbitrary_signed_json_raises_only_webhook_error(report: Any) -> None:
    with contextlib.suppress(WebhookError):
        _parse(INFOBIP, _infobip_hook(report))


@settings(max_examples=150, deadline=None)
@given(fields=FIELDS, url=st.sampled_from([URL, URL + "?ref=m1"]))
def test_arbitrary_signed_forms_raise_only_webhook_error(fields: dict[str, str], url: str) -> None:
    try:
        receipts = _parse(TWILIO, _twilio_hook(fields, url))
    except WebhookError:
        return
    assert len(receipts) == 1


def test_deep_nesting_is_malformed_not_a_recursion_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(WebhookError, match="malformed"):
        _parse(INFOBIP, ({"X-Signature": body_signature(body, SECRET)}, body, URL))


def test_webhook_receipts_survive_pickling_as_ray_moves_them() -> None:
    (receipt,) = _parse(TWILIO, _twilio_hook({"MessageSid": "SM1", "MessageStatus": "delivered"}))
    assert pickle.loads(pickle.dumps(receipt)) == receipt


@pytest.mark.parametrize(
    "module", [adapters.http.signing, adapters.http.boundary, adapters.http.auth, adapters.http.mappings]
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
