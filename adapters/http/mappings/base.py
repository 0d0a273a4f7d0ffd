"""The one interface every aggregator dialect implements, and helpers they share.

A mapping turns messages into a request, a 2xx answer into one result per message, a refused
request into an error, and a delivery-report webhook into receipts. It does no I/O: the channel
sends, the API receives; so a mapping is tested with bytes alone.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from adapters.http.errors import WebhookError
from adapters.http.settings import HttpSettings
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, SubmitResult

MAX_WEBHOOK_BYTES = 1 << 20  # larger bodies are refused unread
REF_PARAM = "ref"  # query parameter carrying our message id on a per-message callback URL
MAX_RAW = 4096  # characters of a report kept in Receipt.raw


@dataclass(frozen=True, slots=True)
class HttpRequest:
    path: str
    content: bytes
    content_type: str


# A receipt with our own message id when the aggregator echoed it back (``Receipt.message_ref``).
WebhookReceipt = Receipt


class ApiMapping(ABC):
    """A request/response/webhook dialect; concrete ones register by ``name``."""

    name: ClassVar[str]
    batched: ClassVar[bool]  # several messages per request
    default_auth: ClassVar[str]
    default_path: ClassVar[str]
    default_id_field: ClassVar[str]
    # Secrets that may sign webhooks, first found wins (Twilio signs with the account's auth token).
    webhook_keys: ClassVar[tuple[str, ...]] = ("webhook_secret",)

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings

    @property
    def path(self) -> str:
        return (self.settings.path or self.default_path).replace("{account}", self.settings.account)

    @property
    def auth(self) -> str:
        return self.settings.auth or self.default_auth

    @property
    def id_field(self) -> str:
        return self.settings.id_field or self.default_id_field

    def webhook_key(self, secrets: Mapping[str, str]) -> str:
        """The secret webhooks are verified with ('' when none is configured)."""
        return next((secrets[k] for k in self.webhook_keys if secrets.get(k)), "")

    def chunks(self, messages: Sequence[OutboundMessage]) -> list[Sequence[OutboundMessage]]:
        """How messages are split into requests."""
        size = self.settings.batch_size if self.batched else 1
        return [messages[i : i + size] for i in range(0, len(messages), size)]

    @abstractmethod
    def request(self, messages: Sequence[OutboundMessage]) -> HttpRequest:
        """The request submitting ``messages`` (one chunk)."""

    @abstractmethod
    def accepted(self, messages: Sequence[OutboundMessage], body: bytes) -> list[SubmitResult]:
        """One result per message from a 2xx answer; per-message rejections become errors.

        A 2xx whose body cannot be read means the aggregator took the request but we cannot tell
        which ids it gave: the results are ``outcome_unknown`` (see :func:`unreadable`).
        """

    @abstractmethod
    def refused(self, status: int, body: bytes) -> ChannelError:
        """The error for a 4xx that refused the message itself (bad number, bad text...)."""

    @abstractmethod
    def parse_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, url: str, secret: str, *, channel: str, at: float
    ) -> list[Receipt]:
        """Verify and read one webhook. Raises only :class:`WebhookError`."""

    @abstractmethod
    def sign_webhook(self, url: str, raw_body: bytes, secret: str) -> dict[str, str]:
        """The headers an aggregator would sign this webhook with (for fakes and tests)."""


# --- helpers -------------------------------------------------------------------------------------


def unreadable(messages: Sequence[OutboundMessage], why: str) -> list[SubmitResult]:
    error = ChannelError("bad_response", why, permanent=False, outcome_unknown=True)
    return [SubmitResult(m.id, error=error) for m in messages]


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value, case-insensitively ('' when absent)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def with_ref(url: str, ref: str) -> str:
    """``url`` with our message id added as a query parameter."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (REF_PARAM, ref)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def ref_of(url: str) -> str:
    """Our message id from a callback URL ('' when absent)."""
    try:
        return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(REF_PARAM, "")
    except ValueError:
        return ""


def check_size(raw_body: bytes) -> None:
    if len(raw_body) > MAX_WEBHOOK_BYTES:
        raise WebhookError("malformed", f"body over {MAX_WEBHOOK_BYTES} bytes")


def json_value(raw: bytes) -> Any:
    """Parsed JSON, or WebhookError("malformed"): never another exception, whatever the bytes."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # bad UTF-8 / syntax, huge integers, deep nesting
        raise WebhookError("malformed", "body is not valid JSON") from None


def json_text(value: Any, where: str) -> str:
    """A JSON scalar as text (ids may come as numbers); WebhookError when it is not a scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise WebhookError("malformed", f"{where} is not a string")


def clip(text: str) -> str:
    return text[:MAX_RAW]
