"""The simulator's decisions, free of sockets: answer a submit or not, with what status and id, and
which receipt to send when. Randomness and time are injected, so a seed replays the same decisions.

>>> import numpy as np
>>> from engine.domain.clock import ManualClock
>>> behaviour = SmscBehaviour(SmscSettings(), np.random.default_rng(1), ManualClock(0.0))
>>> decision = behaviour.decide(SubmitSm(destination_addr="447700900123", registered_delivery=1))
>>> decision.status, decision.receipt is not None and decision.receipt.delivered
(0, True)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.smpp.pdu import ESME_RINVDSTADR, ESME_ROK, ESME_RTHROTTLED, PduError, SubmitSm
from adapters.smpp.smsc_receipts import PlannedReceipt, message_text
from adapters.smpp.smsc_settings import SmscSettings
from engine.domain.clock import Clock

if TYPE_CHECKING:
    import numpy as np

_ID_LIMIT = 2**31  # ids fit in a signed 32-bit integer, as ESMEs that store them as int expect
_RECEIPT_ALWAYS, _RECEIPT_ON_FAILURE = 1, 2  # registered_delivery bits 0-1 (3 is reserved: treat as 1)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one submit_sm. ``answer`` False: swallow it (stall mode)."""

    answer: bool
    status: int = ESME_ROK
    message_id: str = ""
    receipt: PlannedReceipt | None = None


class SmscBehaviour:
    def __init__(self, settings: SmscSettings, rng: np.random.Generator, clock: Clock) -> None:
        self.settings = settings
        self._rng = rng
        self._clock = clock
        # Ids start at a random point so a restarted simulator does not reuse the previous run's ids.
        self._next_id = int(rng.integers(1, _ID_LIMIT // 2))
        self._accepted_at: deque[float] = deque()

    def decide(self, submit: SubmitSm) -> Decision:
        settings = self.settings
        if settings.stall:
            return Decision(answer=False)
        try:
            text = message_text(submit)
        except PduError as exc:
            return Decision(answer=True, status=exc.status)
        now = self._clock.now()
        if self._throttled(now):
            return Decision(answer=True, status=ESME_RTHROTTLED)
        if self._rejected(submit.destination_addr):
            return Decision(answer=True, status=ESME_RINVDSTADR)
        if settings.throttle_tps is not None:
            self._accepted_at.append(now)
        number = self._next_id
        self._next_id = self._next_id + 1 if self._next_id + 1 < _ID_LIMIT else 1
        message_id = settings.message_id_format.render(number)
        text_id = (settings.receipt_text_id_format or settings.message_id_format).render(number)
        delivered = bool(self._rng.random() < settings.delivery_probability)
        receipt = None
        if self._wants_receipt(submit.registered_delivery, delivered):
            receipt = PlannedReceipt(message_id, text_id, delivered, now, self._delay(), text, submit)
        return Decision(answer=True, message_id=message_id, receipt=receipt)

    def _throttled(self, now: float) -> bool:
        settings = self.settings
        if settings.throttle_fraction and self._rng.random() < settings.throttle_fraction:
            return True
        if settings.throttle_tps is None:
            return False
        # A sliding one-second window of accepted submits, over the whole account.
        while self._accepted_at and self._accepted_at[0] <= now - 1.0:
            self._accepted_at.popleft()
        return len(self._accepted_at) >= settings.throttle_tps

    def _rejected(self, destination: str) -> bool:
        settings = self.settings
        number = destination.removeprefix("+")
        if any(number.startswith(prefix.removeprefix("+")) for prefix in settings.reject_prefixes):
            return True
        return bool(settings.reject_fraction and self._rng.random() < settings.reject_fraction)

    def _wants_receipt(self, registered_delivery: int, delivered: bool) -> bool:
        if self.settings.black_hole:
            return False
        wanted = registered_delivery & 0x03
        return wanted in (_RECEIPT_ALWAYS, 3) or (wanted == _RECEIPT_ON_FAILURE and not delivered)

    def _delay(self) -> float:
        settings = self.settings
        if settings.receipt_delay_median_s <= 0:
            return 0.0
        delay = float(
            self._rng.lognormal(math.log(settings.receipt_delay_median_s), settings.receipt_delay_sigma)
        )
        return min(delay, settings.receipt_delay_max_s)
