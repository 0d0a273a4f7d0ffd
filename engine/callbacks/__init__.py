"""Status callbacks to customers, the pure part: events, signatures, the retry schedule, settings.

No Redis and no HTTP here (``engine/infra/callbacks.py`` does the I/O), so the same code is tested
without a network and customers can copy :func:`~engine.callbacks.signing.verify`.
"""

from engine.callbacks.backoff import next_attempt_at, retry_delay, schedule
from engine.callbacks.delivery import Delivery, Verdict, judge, url_problem
from engine.callbacks.payload import EVENT_TYPE, EventError, StatusEvent, new_event_id
from engine.callbacks.settings import CallbackSettings
from engine.callbacks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign, verify

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPE",
    "SIGNATURE_HEADER",
    "CallbackSettings",
    "Delivery",
    "EventError",
    "StatusEvent",
    "Verdict",
    "judge",
    "new_event_id",
    "next_attempt_at",
    "retry_delay",
    "schedule",
    "sign",
    "url_problem",
    "verify",
]
