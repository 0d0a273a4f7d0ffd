"""Foreign errors mapped at the boundary: httpx exceptions and HTTP statuses -> ChannelError.

What decides the mapping is whether the request may have reached the aggregator:

- never left (no connection): safe to try again at once, a bounded number of times, then fail over;
- left, but the answer was lost (read timeout, connection dropped, garbled reply): the message may
  be on its way, so ``outcome_unknown``; resending would risk a duplicate;
- answered: the status says who is at fault (see :func:`status_error`).

Lookup walks the exception's MRO, so the most specific entry wins and an exception class a future
httpx adds falls back to its parent's entry (and a test checks every class httpx exports has its own).
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from enum import Enum

import httpx

from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError


class Fate(Enum):
    """What became of a request that raised."""

    RETRY = "retry"  # never left: try again here, then fail over
    NOT_SENT = "not_sent"  # never left, and trying again at once would not help: fail over
    BUSY = "busy"  # never left because our own pool is full: come back later
    UNKNOWN = "unknown"  # may have reached the aggregator: never resend


@dataclass(frozen=True, slots=True)
class TransportFailure:
    code: str
    fate: Fate
    error_class: ErrorClass

    def error(self, raw: str) -> ChannelError:
        return ChannelError(
            self.code,
            raw,
            self.error_class,
            permanent=False,
            throttled=self.fate is Fate.BUSY,
            outcome_unknown=self.fate is Fate.UNKNOWN,
        )


_NET, _PLATFORM, _OPERATOR = ErrorClass.NETWORK, ErrorClass.PLATFORM, ErrorClass.OPERATOR
_LOST = TransportFailure("connection_lost", Fate.UNKNOWN, _NET)
_CLIENT = TransportFailure("client_error", Fate.UNKNOWN, _PLATFORM)

TRANSPORT: dict[type[BaseException], TransportFailure] = {
    # Connection never made: the request cannot have been read.
    httpx.ConnectError: TransportFailure("connect_failed", Fate.RETRY, _NET),
    httpx.ConnectTimeout: TransportFailure("connect_timeout", Fate.RETRY, _NET),
    httpx.PoolTimeout: TransportFailure("pool_exhausted", Fate.BUSY, _PLATFORM),
    httpx.ProxyError: TransportFailure("proxy_failed", Fate.NOT_SENT, _NET),
    httpx.UnsupportedProtocol: TransportFailure("bad_url", Fate.NOT_SENT, _PLATFORM),
    httpx.InvalidURL: TransportFailure("bad_url", Fate.NOT_SENT, _PLATFORM),
    httpx.LocalProtocolError: TransportFailure("bad_request", Fate.NOT_SENT, _PLATFORM),
    httpx.CookieConflict: TransportFailure("client_error", Fate.NOT_SENT, _PLATFORM),
    # Bytes left: a complete request may sit at the aggregator even when writing failed late.
    httpx.WriteTimeout: TransportFailure("write_timeout", Fate.UNKNOWN, _NET),
    httpx.WriteError: _LOST,
    httpx.ReadTimeout: TransportFailure("response_timeout", Fate.UNKNOWN, _NET),
    httpx.ReadError: _LOST,
    httpx.CloseError: _LOST,
    httpx.RemoteProtocolError: _LOST,  # "server disconnected without sending a response"
    httpx.DecodingError: TransportFailure("bad_response", Fate.UNKNOWN, _OPERATOR),
    httpx.TooManyRedirects: TransportFailure("redirected", Fate.UNKNOWN, _PLATFORM),
    httpx.HTTPStatusError: TransportFailure("bad_response", Fate.UNKNOWN, _OPERATOR),
    # Reading a stream twice and the like: our bug, after the request may have gone.
    httpx.StreamConsumed: _CLIENT,
    httpx.StreamClosed: _CLIENT,
    httpx.ResponseNotRead: _CLIENT,
    httpx.RequestNotRead: _CLIENT,
    # Parents, for subclasses a later httpx may add: assume the worst (it may have gone).
    httpx.StreamError: _CLIENT,
    httpx.TimeoutException: TransportFailure("timeout", Fate.UNKNOWN, _NET),
    httpx.NetworkError: _LOST,
    httpx.ProtocolError: _LOST,
    httpx.TransportError: _LOST,
    httpx.RequestError: _LOST,
    httpx.HTTPError: _LOST,
    BaseException: _CLIENT,  # anything else raised while sending
}


def transport_failure(exc: BaseException) -> TransportFailure:
    """The entry for the most specific class of ``exc``.

    >>> transport_failure(httpx.ReadTimeout("slow")).fate
    <Fate.UNKNOWN: 'unknown'>
    """
    for cls in type(exc).__mro__:
        found = TRANSPORT.get(cls)
        if found is not None:
            return found
    return _CLIENT  # unreachable: BaseException is in every MRO


# Statuses that are not about the message itself. 4xx not listed here are the message's fault
# (the mapping reads the aggregator's code from the body); 5xx not listed fail over.
_STATUS: dict[int, tuple[str, ErrorClass, bool, bool]] = {
    # status: (code, class, throttled, outcome_unknown)
    401: ("auth_failed", _PLATFORM, False, False),
    403: ("auth_failed", _PLATFORM, False, False),
    404: ("bad_endpoint", _PLATFORM, False, False),  # a wrong URL or account, not a wrong number
    405: ("bad_endpoint", _PLATFORM, False, False),
    408: ("request_timeout", _NET, False, False),  # the server gave up reading: nothing processed
    409: ("conflict", _OPERATOR, False, False),
    413: ("too_large", _PLATFORM, False, False),
    415: ("bad_endpoint", _PLATFORM, False, False),
    429: ("throttled", _OPERATOR, True, False),
    # A gateway that timed out waiting for the aggregator cannot say whether it sent the message.
    504: ("gateway_timeout", _NET, False, True),
}


def status_error(status: int) -> ChannelError | None:
    """The error for a non-2xx answer, or None when the message itself was refused (most 4xx).

    >>> status_error(429).throttled, status_error(400)
    (True, None)
    """
    raw = f"http {status}"
    known = _STATUS.get(status)
    if known is not None:
        code, cls, throttled, unknown = known
        return ChannelError(code, raw, cls, throttled=throttled, outcome_unknown=unknown)
    if 400 <= status < 500:
        return None
    if 500 <= status < 600:
        return ChannelError("server_error", raw, _OPERATOR)
    return ChannelError("unexpected_status", raw, _PLATFORM)  # 1xx/3xx: redirects are not followed


def retry_after_s(value: str | None, now: float, default: float, cap: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped.

    >>> retry_after_s("2", 0.0, 1.0, 60.0), retry_after_s("soon", 0.0, 1.0, 60.0)
    (2.0, 1.0)
    """
    if not value:
        return default
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
    if not math.isfinite(seconds):
        return default
    return min(max(seconds, 0.0), cap)
