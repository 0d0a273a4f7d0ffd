"""Webhook intake for one configured channel, as a pure callable the API can hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from adapters.http.errors import WebhookError
from adapters.http.mappings import ApiMapping
from engine.domain.clock import Clock
from engine.domain.messages import Receipt


@dataclass(frozen=True)
class WebhookParser:
    """``parser(headers, raw_body, url) -> receipts`` for one channel; raises only WebhookError.

    ``url`` is the URL the aggregator called, with its query string: absolute, or a path that is
    resolved against ``public_url`` (the configured ``callback_url``) because a server behind a
    proxy does not see the scheme and host the aggregator signed.
    """

    channel: str
    mapping: ApiMapping
    secret: str = field(repr=False)
    clock: Clock
    public_url: str = ""

    def __call__(self, headers: Mapping[str, str], raw_body: bytes, url: str) -> list[Receipt]:
        try:
            relative = not urlsplit(url).scheme
        except ValueError:
            raise WebhookError("malformed", "url") from None
        full = urljoin(self.public_url, url) if relative and self.public_url else url
        return self.mapping.parse_webhook(
            headers, raw_body, full, self.secret, channel=self.channel, at=self.clock.now()
        )
