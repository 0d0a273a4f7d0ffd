"""``infobip_like``: JSON batches (``{"messages": [{"destinations": [{"to": ...}], "from", "text"}]}``),
``Authorization: App <key>``, one ``messageId`` and ``status.groupName`` per message in the answer,
delivery reports as JSON batches (``{"results": [...]}``) signed with HMAC-SHA256 over the raw body.

Our message id rides in each message's ``callbackData``, which the aggregator echoes in its report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.http.errors import WebhookError
from adapters.http.mappings.base import (
    ApiMapping,
    HttpRequest,
    WebhookReceipt,
    check_size,
    clip,
    header,
    json_text,
    json_value,
    unreadable,
)
from adapters.http.signing import body_signature, same
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult

SIGNATURE_HEADER = "X-Signature"

STATUS = {
    "DELIVERED": ReceiptStatus.DELIVERED,
    "UNDELIVERABLE": ReceiptStatus.UNDELIVERED,
    "EXPIRED": ReceiptStatus.EXPIRED,
    "REJECTED": ReceiptStatus.REJECTED,
    "PENDING": ReceiptStatus.ENROUTE,
    "ACCEPTED": ReceiptStatus.ENROUTE,
}
_TAKEN = frozenset({"PENDING", "ACCEPTED", "DELIVERED"})  # submit-answer groups meaning "accepted"

_H, _P, _O, _X = ErrorClass.HANDSET, ErrorClass.POLICY, ErrorClass.OPERATOR, ErrorClass.PLATFORM
# Per-message rejection (status.name) -> (class, permanent, throttled). Permanent means no channel
# could send it (the number or the text is wrong); the others fail over or wait.
REJECTIONS: dict[str, tuple[ErrorClass, bool, bool]] = {
    "REJECTED_PREFIX_MISSING": (_H, True, False),
    "REJECTED_DESTINATION": (_H, True, False),
    "REJECTED_INVALID_DESTINATION": (_H, True, False),
    "REJECTED_DESTINATION_NOT_REGISTERED": (_H, True, False),
    "MISSING_TO": (_H, True, False),
    "REJECTED_DND": (_P, True, False),
    "REJECTED_INVALID_UDH": (_O, True, False),
    "REJECTED_MESSAGE_TOO_LONG": (_O, True, False),
    "REJECTED_FLOODING_FILTER": (_O, False, True),
    "REJECTED_NETWORK": (_O, False, False),
    "REJECTED_ROUTE_NOT_AVAILABLE": (_O, False, False),
    "REJECTED_NOT_ENOUGH_CREDITS": (_X, False, False),
    "REJECTED_PREPAID_PACKAGE_EXPIRED": (_X, False, False),
    "REJECTED_SOURCE": (_X, False, False),
    "REJECTED_SENDER": (_X, False, False),
    "REJECTED_SYSTEM_ERROR": (_X, False, False),
}
_UNLISTED = (_O, False, False)  # an unknown reason: let another channel try


class InfobipLike(ApiMapping):
    name = "infobip_like"
    batched = True
    default_auth = "app"
    default_path = "/sms/2/text/advanced"
    default_id_field = "messageId"

    def request(self, messages: Sequence[OutboundMessage]) -> HttpRequest:
        items = [self._item(m) for m in messages]
        return HttpRequest(self.path, json.dumps({"messages": items}).encode(), "application/json")

    def _item(self, msg: OutboundMessage) -> dict[str, Any]:
        item: dict[str, Any] = {
            "destinations": [{"to": _bare(msg.to)}],
            "from": msg.sender,
            "text": msg.body,
            "callbackData": msg.id,
            "validityPeriod": max(1, int(msg.validity_s // 60)),  # minutes
        }
        if self.settings.callback_url:
            item["notifyUrl"] = self.settings.callback_url
            item["notifyContentType"] = "application/json"
        return item

    def accepted(self, messages: Sequence[OutboundMessage], body: bytes) -> list[SubmitResult]:
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            return unreadable(messages, "2xx body is not JSON")
        entries = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(entries, list) or len(entries) != len(messages):
            return unreadable(messages, "2xx answer does not list every message")
        # The answer lists messages in request order; `to` guards against a reordering aggregator.
        return [self._result(m, e) for m, e in zip(messages, entries, strict=True)]

    def _result(self, msg: OutboundMessage, entry: Any) -> SubmitResult:
        if not isinstance(entry, dict):
            return unreadable([msg], "answer entry is not an object")[0]
        status = entry.get("status")
        group = status.get("groupName") if isinstance(status, dict) else None
        name = status.get("name") if isinstance(status, dict) else None
        pid = entry.get(self.id_field)
        to = entry.get("to")
        if to is not None and _bare(str(to)) != _bare(msg.to):
            return unreadable([msg], "answer entries out of order")[0]
        if group in _TAKEN and isinstance(pid, str) and pid:
            return SubmitResult(msg.id, provider_id=pid)
        if isinstance(group, str) and group not in _TAKEN:
            raw = name if isinstance(name, str) and name else group
            cls, permanent, throttled = REJECTIONS.get(raw, _UNLISTED)
            code = "throttled" if throttled else "rejected"
            return SubmitResult(msg.id, error=ChannelError(code, raw, cls, permanent, throttled))
        return unreadable([msg], "answer entry without id or status")[0]

    def refused(self, status: int, body: bytes) -> ChannelError:
        raw = f"http {status}"
        try:
            answer = json.loads(body)
            raw = str(answer["requestError"]["serviceException"]["messageId"]) or raw
        except (ValueError, RecursionError, KeyError, TypeError):
            pass  # keep the status as the raw code
        return ChannelError("rejected", raw, ErrorClass.OPERATOR, permanent=True)

    def parse_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, url: str, secret: str, *, channel: str, at: float
    ) -> list[Receipt]:
        check_size(raw_body)
        # The signature covers the raw bytes: check it before parsing anything an attacker wrote.
        given = header(headers, SIGNATURE_HEADER)
        if not secret or not given or not same(given, body_signature(raw_body, secret)):
            raise WebhookError("bad_signature", SIGNATURE_HEADER)
        report = json_value(raw_body)
        if not isinstance(report, dict):
            raise WebhookError("malformed", "body is not a JSON object")
        if "results" not in report:
            raise WebhookError("missing_field", "results")
        results = report["results"]
        if not isinstance(results, list):
            raise WebhookError("malformed", "results is not a list")
        return [_receipt(entry, i, channel, at) for i, entry in enumerate(results)]

    def sign_webhook(self, url: str, raw_body: bytes, secret: str) -> dict[str, str]:
        return {SIGNATURE_HEADER: body_signature(raw_body, secret)}


def _receipt(entry: Any, i: int, channel: str, at: float) -> Receipt:
    where = f"results[{i}]"
    if not isinstance(entry, dict):
        raise WebhookError("malformed", f"{where} is not an object")
    pid = json_text(entry["messageId"], f"{where}.messageId") if "messageId" in entry else ""
    ref = json_text(entry["callbackData"], f"{where}.callbackData") if "callbackData" in entry else ""
    if not pid and not ref:
        raise WebhookError("missing_field", f"{where}.messageId")
    status = entry.get("status")
    if not isinstance(status, dict) or "groupName" not in status:
        raise WebhookError("missing_field", f"{where}.status.groupName")
    group = json_text(status["groupName"], f"{where}.status.groupName")
    error = entry.get("error")
    code = error.get("id") if isinstance(error, dict) else None
    error_code = json_text(code, f"{where}.error.id") if code not in (None, 0, "0", "") else None
    try:
        raw = clip(json.dumps(entry, separators=(",", ":")))
    except (ValueError, RecursionError):  # nested as deep as the parser allowed
        raw = ""
    return WebhookReceipt(
        channel, pid, STATUS.get(group.upper(), ReceiptStatus.UNKNOWN), at, error_code, raw, ref
    )


def _bare(number: str) -> str:
    """Infobip writes numbers without the leading '+'."""
    return number.removeprefix("+")
