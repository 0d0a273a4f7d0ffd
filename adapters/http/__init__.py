"""A generic HTTP aggregator channel: endpoint, auth, and a named mapping for the request, the
answer and the delivery-report webhooks (``twilio_like``, ``infobip_like``).

Webhook intake for the API::

    from adapters.http import WebhookError, webhook_parser
    from engine.runtime.adapters import secrets_of

    parse = webhook_parser(channel, secrets_of(channel))        # once per channel
    try:
        receipts = parse(request.headers, raw_body, str(request.url))
    except WebhookError as exc:                                 # answer exc.http_status (401/400)
        ...
"""

from adapters.http.boundary import TRANSPORT, transport_failure
from adapters.http.channel import HttpChannel
from adapters.http.config import build, check, webhook_parser
from adapters.http.errors import WebhookError
from adapters.http.mappings import MAPPINGS, ApiMapping, WebhookReceipt, known_mappings, mapping_for
from adapters.http.settings import HttpSettings, settings_of
from adapters.http.webhooks import WebhookParser

__all__ = [
    "MAPPINGS",
    "TRANSPORT",
    "ApiMapping",
    "HttpChannel",
    "HttpSettings",
    "WebhookError",
    "WebhookParser",
    "WebhookReceipt",
    "build",
    "check",
    "known_mappings",
    "mapping_for",
    "settings_of",
    "transport_failure",
    "webhook_parser",
]
