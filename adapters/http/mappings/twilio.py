"""``twilio_like``: one form-encoded request per message, Basic auth (account SID + token), the
provider id in the JSON answer's ``sid``, status callbacks as signed form posts.

Our message id rides on each message's ``StatusCallback`` URL (``?ref=<id>``), which the signature
covers, so a report can be placed even before its submit answer is indexed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from adapters.http.errors import WebhookError
from adapters.http.mappings.base import (
    ApiMapping,
    HttpRequest,
    WebhookReceipt,
    check_size,
    clip,
    header,
    ref_of,
    unreadable,
    with_ref,
)
from adapters.http.signing import same, twilio_signature
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FIELDS = 200
MAX_VALIDITY_S = 36_000  # the longest ValidityPeriod Twilio accepts

STATUS = {
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.DELIVERED,
    "undelivered": ReceiptStatus.UNDELIVERED,
    "failed": ReceiptStatus.REJECTED,  # never reached the carrier
    "canceled": ReceiptStatus.DELETED,
    **dict.fromkeys(("accepted", "scheduled", "queued", "sending", "sent"), ReceiptStatus.ENROUTE),
}

# Error codes of a refused message that another channel might still carry (not the message's fault).
_ROUTE_CODES = {
    "21408": ErrorClass.POLICY,  # sending to this region is not enabled on the account
    "21606": ErrorClass.PLATFORM,  # the From number cannot send to this destination
    "21612": ErrorClass.OPERATOR,  # the destination is not reachable from this account
    "30001": ErrorClass.PLATFORM,  # queue overflow
}
_MESSAGE_CODES = {
    "21211": ErrorClass.HANDSET,  # not a valid phone number
    "21614": ErrorClass.HANDSET,  # not a mobile number
    "21610": ErrorClass.POLICY,  # the recipient replied STOP
}


class TwilioLike(ApiMapping):
    name = "twilio_like"
    batched = False
    default_auth = "basic"
    default_path = "/2010-04-01/Accounts/{account}/Messages.json"
    default_id_field = "sid"
    webhook_keys = ("webhook_secret", "token")

    def request(self, messages: Sequence[OutboundMessage]) -> HttpRequest:
        (msg,) = messages
        form = {"To": msg.to, "From": msg.sender, "Body": msg.body}
        if self.settings.callback_url:
            form["StatusCallback"] = with_ref(self.settings.callback_url, msg.id)
        form["ValidityPeriod"] = str(max(1, min(int(msg.validity_s), MAX_VALIDITY_S)))
        return HttpRequest(self.path, urlencode(form).encode(), "application/x-www-form-urlencoded")

    def accepted(self, messages: Sequence[OutboundMessage], body: bytes) -> list[SubmitResult]:
        (msg,) = messages
        answer = _json_object(body)
        sid = answer.get(self.id_field) if answer is not None else None
        if not isinstance(sid, str) or not sid:
            return unreadable(messages, f"2xx without {self.id_field}")
        return [SubmitResult(msg.id, provider_id=sid)]

    def refused(self, status: int, body: bytes) -> ChannelError:
        answer = _json_object(body) or {}
        code = answer.get("code")
        raw = str(code) if isinstance(code, int | str) and not isinstance(code, bool) else f"http {status}"
        if raw in _ROUTE_CODES:
            return ChannelError("refused", raw, _ROUTE_CODES[raw], permanent=False)
        return ChannelError("rejected", raw, _MESSAGE_CODES.get(raw, ErrorClass.OPERATOR), permanent=True)

    def parse_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, url: str, secret: str, *, channel: str, at: float
    ) -> list[Receipt]:
        check_size(raw_body)
        params = _form(raw_body)
        given = header(headers, SIGNATURE_HEADER)
        if not secret or not given or not same(given, twilio_signature(url, params, secret)):
            raise WebhookError("bad_signature", SIGNATURE_HEADER)
        fields = dict(params)
        sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
        ref = ref_of(url)
        if not sid and not ref:
            raise WebhookError("missing_field", "MessageSid")
        state = fields.get("MessageStatus") or fields.get("SmsStatus")
        if not state:
            raise WebhookError("missing_field", "MessageStatus")
        code = fields.get("ErrorCode", "").strip()
        status = STATUS.get(state.strip().lower(), ReceiptStatus.UNKNOWN)
        raw = clip(raw_body.decode())
        return [WebhookReceipt(channel, sid, status, at, code if code not in ("", "0") else None, raw, ref)]

    def sign_webhook(self, url: str, raw_body: bytes, secret: str) -> dict[str, str]:
        return {SIGNATURE_HEADER: twilio_signature(url, _form(raw_body), secret)}


def _form(raw_body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw_body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # bad UTF-8, too many fields
        raise WebhookError("malformed", "body is not a form") from None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
