"""A simulated channel in real time: submits answered after a latency, receipts on asyncio timers.

It misbehaves on purpose, the way real SMSCs and aggregators do (Jasmin's fake SMSCs are the model):
rejects, throttles, drops receipts, sends some twice, swallows traffic (black hole), reports
everything delivered (fake DLRs), or flaps between healthy and black hole. What it does is a
:class:`Behaviour`, switchable at runtime with :meth:`SimulatedChannel.set_behaviour`.

Randomness comes from the injected numpy ``Generator`` and timestamps from the injected ``Clock``;
delays are real (``asyncio.sleep`` / ``loop.call_later``), so one channel lives on one event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from adapters.inbox import ReceiptInbox
from engine.domain.channel import ChannelHealth, CircuitState
from engine.domain.clock import Clock, SystemClock
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult

THROTTLED_RAW = "0x00000058"  # ESME_RTHROTTLED
REJECTED_RAW = "0x0000000B"  # ESME_RINVDSTADR: invalid destination address
UNDELIVERED_ERR = "001"

_SYSTEM_CLOCK = SystemClock()
_STAT = {ReceiptStatus.DELIVERED: "DELIVRD", ReceiptStatus.UNDELIVERED: "UNDELIV"}
_CLOSED = ChannelError("channel_closed", "closed", ErrorClass.PLATFORM, permanent=False)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a simulated channel behaves. Probabilities are per message; durations in seconds.

    Precedence per accepted submit: ``black_hole`` (or the dark half of a flap) swallows the message
    silently; otherwise ``fake_delivered`` reports DELIVRD at once whatever the truth; otherwise the
    message is delivered with ``delivery_p`` and reported after a lognormal latency. Independently,
    ``missing_rate`` of the receipts never come and ``duplicate_rate`` come twice.

    >>> Behaviour(receipt_median_s=2.0, flap_period_s=60.0).scaled(0.01).receipt_median_s
    0.02
    """

    delivery_p: float = 0.97
    receipt_median_s: float = 1.5
    receipt_sigma: float = 0.5
    missing_rate: float = 0.0
    submit_latency_s: float = 0.001
    reject_p: float = 0.0
    reject_raw: str = REJECTED_RAW
    throttle_p: float = 0.0
    tps_cap: float | None = None  # accepted submits per second (1 s burst); above it: throttled
    black_hole: bool = False
    fake_delivered: bool = False
    duplicate_rate: float = 0.0
    flapping: bool = False  # healthy for flap_period_s, then black hole for flap_period_s, ...
    flap_period_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("delivery_p", "missing_rate", "reject_p", "throttle_p", "duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Behaviour.{name} must be a probability in [0, 1], got {value}")
        for name in ("receipt_median_s", "flap_period_s"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"Behaviour.{name} must be > 0, got {getattr(self, name)}")
        for name in ("receipt_sigma", "submit_latency_s"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"Behaviour.{name} must be >= 0, got {getattr(self, name)}")
        if self.tps_cap is not None and not self.tps_cap > 0.0:
            raise ValueError(f"Behaviour.tps_cap must be > 0 or None, got {self.tps_cap}")

    def scaled(self, factor: float) -> Behaviour:
        """The same behaviour with every delay multiplied by ``factor`` (receipt and submit latency,
        flap period); probabilities and the TPS cap are unchanged. Tests use ``scaled(0.01)``."""
        if not factor > 0.0:
            raise ValueError(f"scale factor must be > 0, got {factor}")
        return replace(
            self,
            receipt_median_s=self.receipt_median_s * factor,
            submit_latency_s=self.submit_latency_s * factor,
            flap_period_s=self.flap_period_s * factor,
        )


class SimulatedChannel:
    """Implements :class:`engine.domain.channel.Channel` in real time with asyncio.

    Provider ids are unique 8-digit hex strings, counting up from a seeded random start as an
    SMSC's would. ``sent_count`` / ``submitted_ids`` let tests prove nothing was sent twice.
    """

    def __init__(
        self, id: str, behaviour: Behaviour, *, rng: np.random.Generator, clock: Clock = _SYSTEM_CLOCK
    ) -> None:
        self.id = id
        self._behaviour = behaviour
        self._rng = rng
        self._clock = clock
        self._epoch = clock.now()  # start of the flap cycle
        self._tokens, self._tokens_at = self._full_bucket(), self._epoch
        self._next_pid = int(rng.integers(0x1000_0000, 0x7000_0000))
        self._sent: dict[str, int] = {}
        self._inbox = ReceiptInbox()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_seq = 0
        self._in_flight = 0
        self._submitted = 0
        self._failed = 0
        self._closed = False

    # --- the Channel interface -------------------------------------------------------------------

    async def submit(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        """One result per message, in order; per-message problems are results, never exceptions."""
        if not messages:
            return []
        if not self._closed and self._behaviour.submit_latency_s > 0.0:
            self._in_flight += len(messages)
            try:
                await asyncio.sleep(self._behaviour.submit_latency_s)
            finally:
                self._in_flight -= len(messages)
        if self._closed:
            self._failed += len(messages)
            return [SubmitResult(m.id, error=_CLOSED) for m in messages]
        return self._answer(messages)

    async def receipts(self, max_items: int, timeout_s: float) -> list[Receipt]:
        return await self._inbox.take(max_items, timeout_s)

    def health(self) -> ChannelHealth:
        return ChannelHealth(
            channel=self.id,
            connected=not self._closed,
            circuit=CircuitState.CLOSED,  # the channel actor's breaker owns the circuit state
            in_flight=self._in_flight,
            submitted=self._submitted,
            failed=self._failed,
            receipts=self._inbox.received,
            bad_receipts=0,
        )

    async def close(self) -> None:
        """Cancel every pending receipt and wake waiting readers. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._inbox.close()

    # --- control and inspection ------------------------------------------------------------------

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    def set_behaviour(self, behaviour: Behaviour) -> None:
        """Switch behaviour for submits from now on; receipts already scheduled still come.

        The flap cycle and the TPS bucket restart.
        """
        self._behaviour = behaviour
        self._epoch = self._clock.now()
        self._tokens, self._tokens_at = self._full_bucket(), self._epoch

    def is_dark(self) -> bool:
        """Whether a submit now would vanish (black hole, or the dark half of a flap)."""
        b = self._behaviour
        if b.black_hole:
            return True
        return b.flapping and int((self._clock.now() - self._epoch) // b.flap_period_s) % 2 == 1

    def sent_count(self, message_id: str) -> int:
        """How many times this message id was accepted (sent on to the network)."""
        return self._sent.get(message_id, 0)

    def submitted_ids(self) -> list[str]:
        """Every accepted message id once, in order of first acceptance."""
        return list(self._sent)

    @property
    def pending_receipts(self) -> int:
        """Receipts scheduled but not yet arrived."""
        return len(self._timers)

    # --- internals -------------------------------------------------------------------------------

    def _answer(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        b = self._behaviour
        now = self._clock.now()
        dark = self.is_dark()
        n = len(messages)
        # One draw per message per event, vectorised: same seed and batches, same outcomes.
        u = self._rng.random((n, 6))
        delays = self._rng.lognormal(math.log(b.receipt_median_s), b.receipt_sigma, n)
        loop = asyncio.get_running_loop()
        results: list[SubmitResult] = []
        for i, msg in enumerate(messages):
            error = None if dark else self._refusal(b, now, u[i, 0], u[i, 1])
            if error is not None:
                self._failed += 1
                results.append(SubmitResult(msg.id, error=error))
                continue
            pid = f"{self._next_pid:08X}"
            self._next_pid += 1
            self._sent[msg.id] = self._sent.get(msg.id, 0) + 1
            self._submitted += 1
            results.append(SubmitResult(msg.id, provider_id=pid))
            if dark or u[i, 3] < b.missing_rate:
                continue
            if b.fake_delivered:
                status, delay = ReceiptStatus.DELIVERED, 0.0
            else:
                delivered = u[i, 2] < b.delivery_p
                status = ReceiptStatus.DELIVERED if delivered else ReceiptStatus.UNDELIVERED
                delay = float(delays[i])
            self._schedule(loop, delay, pid, status, now)
            if u[i, 4] < b.duplicate_rate:
                self._schedule(loop, delay + float(u[i, 5]) * b.receipt_median_s, pid, status, now)
        return results

    def _refusal(self, b: Behaviour, now: float, u_throttle: float, u_reject: float) -> ChannelError | None:
        if b.tps_cap is not None and not self._take_token(b.tps_cap, now):
            return ChannelError("throttled", THROTTLED_RAW, ErrorClass.OPERATOR, throttled=True)
        if u_throttle < b.throttle_p:
            return ChannelError("throttled", THROTTLED_RAW, ErrorClass.OPERATOR, throttled=True)
        if u_reject < b.reject_p:
            return ChannelError("rejected", b.reject_raw, ErrorClass.OPERATOR, permanent=True)
        return None

    def _full_bucket(self) -> float:
        cap = self._behaviour.tps_cap
        return max(cap, 1.0) if cap is not None else 0.0

    def _take_token(self, tps: float, now: float) -> bool:
        elapsed = max(0.0, now - self._tokens_at)
        self._tokens = min(max(tps, 1.0), self._tokens + elapsed * tps)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _schedule(
        self, loop: asyncio.AbstractEventLoop, delay: float, pid: str, status: ReceiptStatus, sent: float
    ) -> None:
        self._timer_seq += 1
        seq = self._timer_seq
        self._timers[seq] = loop.call_later(delay, self._arrive, seq, pid, status, sent)

    def _arrive(self, seq: int, pid: str, status: ReceiptStatus, sent: float) -> None:
        self._timers.pop(seq, None)
        if self._closed:
            return
        at = self._clock.now()
        error = None if status is ReceiptStatus.DELIVERED else UNDELIVERED_ERR
        raw = (
            f"id:{pid} sub:001 dlvrd:{'001' if error is None else '000'} "
            f"submit date:{_smpp_date(sent)} done date:{_smpp_date(at)} "
            f"stat:{_STAT[status]} err:{error or '000'} text:"
        )
        self._inbox.put([Receipt(self.id, pid, status, at, error, raw)])


def _smpp_date(t: float) -> str:
    """SMPP receipt date, 10 digits (YYMMDDhhmm, UTC)."""
    return time.strftime("%y%m%d%H%M", time.gmtime(t))
