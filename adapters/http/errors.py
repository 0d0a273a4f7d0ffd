"""What the HTTP adapter raises on purpose, drawn once.

    WebhookError                 a delivery-report webhook that must be refused (answer 4xx)
        reason "bad_signature"   the signature header is missing or does not verify
        reason "malformed"       the body cannot be read (encoding, syntax, shape, size)
        reason "missing_field"   a field every report needs is absent

Submit failures are never raised: they are :class:`~engine.domain.messages.ChannelError` values in
the submit results (see :mod:`adapters.http.boundary`). Configuration problems are
:class:`~engine.errors.RouteTableError`.
"""

from __future__ import annotations

from typing import Literal

WebhookReason = Literal["bad_signature", "malformed", "missing_field"]


class WebhookError(Exception):
    """A webhook the API must refuse: 401/403 for ``bad_signature``, 400 for the others.

    ``detail`` names the field or the problem; it never quotes the body (it may hold numbers).
    """

    def __init__(self, reason: WebhookReason, detail: str = "") -> None:
        self.reason: WebhookReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)

    @property
    def http_status(self) -> int:
        """The status the webhook endpoint should answer with."""
        return 401 if self.reason == "bad_signature" else 400
