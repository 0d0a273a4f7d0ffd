"""A simulated channel in real time: submits answered after a latency, receipts on asyncio timers.

It misbehaves on purpose, the way real SMSCs and aggregators do (Jasmin's fake SMSCs are the model):
rejects, throttles, drops receipts, sends some twice, swallows traffic (black hole), reports
everything delivered (fake DLRs), or flaps between healthy and black hole. What it does is a
:class:`Behaviour`, switchable at runtime with :meth:`SimulatedChannel.set_behaviour`.

Randomness comes from the injected numpy ``Generator`` and timestamps from the injected ``Clock``;
delays are real (``asyncio.sleep`` / the event loop's timers), so one channel lives on one event loop.

Receipts are not one ``loop.call_later`` each: a submit's receipts are sorted by due time into one
:class:`_Wave`, the waves wait in a heap, and a single timer, armed for the earliest receipt, hands
every receipt then due to the inbox at once, in due order. The timer wakes at most once per
:data:`RECEIPT_TICK_S`, so a receipt arrives at its due time or up to a tick later (an SMSC's
receipts come in bursts too): at thousands of receipts a second, a wake-up per millisecond cost a
busy channel actor more than the receipts it handed out (about 10 % of its CPU in the engine
pipeline benchmark).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from adapters.inbox import ReceiptInbox
from engine.domain.channel import ChannelHealth, CircuitState
from engine.domain.clock import Clock, SystemClock
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult

THROTTLED_RAW = "0x00000058"  # ESME_RTHROTTLED
REJECTED_RAW = "0x0000000B"  # ESME_RINVDSTADR: invalid destination address
UNDELIVERED_ERR = "001"

_SYSTEM_CLOCK = SystemClock()
_CLOSED = ChannelError("channel_closed", "closed", ErrorClass.PLATFORM, permanent=False)
_THROTTLED = ChannelError("throttled", THROTTLED_RAW, ErrorClass.OPERATOR, throttled=True)
# asyncio runs a timer once ``when < loop.time() + resolution``; receipts are due by the same rule.
_RESOLUTION = time.get_clock_info("monotonic").resolution
RECEIPT_TICK_S = 0.005  # receipts are handed to the inbox at most this often (see the docstring)


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


@dataclass(slots=True)
class _Wave:
    """The receipts one submit scheduled, in due order; ``next`` is the first not yet handed out."""

    due: list[float]  # loop time, ascending
    pids: list[str]
    delivered: list[bool]
    sent: float  # clock time of the submit (the receipt's "submit date")
    next: int = 0


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
        self._waves: list[tuple[float, int, _Wave]] = []  # heap: (next due, seq, wave)
        self._wave_seq = 0
        self._pending = 0  # receipts scheduled, not yet arrived
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf  # when self._timer fires (loop time)
        self._arrived_at = -math.inf  # when it last fired (loop time)
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
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf
        self._waves.clear()
        self._pending = 0
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
        return self._pending

    # --- internals -------------------------------------------------------------------------------

    def _answer(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        b = self._behaviour
        now = self._clock.now()
        dark = self.is_dark()
        n = len(messages)
        # One draw per message per event, vectorised: same seed and batches, same outcomes.
        u = self._rng.random((n, 6))
        delays = self._rng.lognormal(math.log(b.receipt_median_s), b.receipt_sigma, n)
        # Refusals, in the per-message order of precedence: TPS cap, throttle, reject (never when dark).
        if dark:
            refused = np.zeros(n, dtype=np.int8)
        else:
            throttled = u[:, 0] < b.throttle_p
            if b.tps_cap is not None:  # the token bucket is stateful: one message after another
                tokens = np.fromiter((self._take_token(b.tps_cap, now) for _ in range(n)), bool, n)
                throttled |= ~tokens
            rejected = ~throttled & (u[:, 1] < b.reject_p)
            # 0 accepted, 1 throttled, 2 rejected (an index into `errors` below)
            refused = throttled.astype(np.int8) + 2 * rejected.astype(np.int8)
        accepted = refused == 0
        n_ok = int(accepted.sum())
        first_pid = self._next_pid
        self._next_pid += n_ok
        self._submitted += n_ok
        self._failed += n - n_ok
        pids = [f"{p:08X}" for p in range(first_pid, first_pid + n_ok)]
        sent = self._sent
        results: list[SubmitResult] = []
        if n_ok == n:  # the usual batch: everything accepted
            ids = [m.id for m in messages]
            count = sent.get
            for message_id in ids:
                sent[message_id] = count(message_id, 0) + 1
            results = list(map(SubmitResult, ids, pids))
        else:
            rejected_error = ChannelError("rejected", b.reject_raw, ErrorClass.OPERATOR, permanent=True)
            errors = (None, _THROTTLED, rejected_error)
            next_pid = iter(pids)
            for msg, why in zip(messages, refused.tolist(), strict=True):
                if why:
                    results.append(SubmitResult(msg.id, error=errors[why]))
                    continue
                sent[msg.id] = sent.get(msg.id, 0) + 1
                results.append(SubmitResult(msg.id, next(next_pid)))
        if not dark and n_ok:
            self._schedule_wave(b, u=u, delays=delays, accepted=accepted, pids=pids, sent=now)
        return results

    def _schedule_wave(
        self,
        b: Behaviour,
        *,
        u: NDArray[np.float64],
        delays: NDArray[np.float64],
        accepted: NDArray[np.bool_],
        pids: list[str],
        sent: float,
    ) -> None:
        """Schedule the receipts of one submit's accepted messages (``pids`` in message order)."""
        rank = np.cumsum(accepted) - 1  # message i's index into pids, where accepted
        reported = np.flatnonzero(accepted & ~(u[:, 3] < b.missing_rate))
        if not len(reported):
            return
        if b.fake_delivered:
            delay = np.zeros(len(reported))
            delivered = np.ones(len(reported), dtype=bool)
        else:
            delay = delays[reported]
            delivered = u[reported, 2] < b.delivery_p
        twice = u[reported, 4] < b.duplicate_rate
        if twice.any():
            extra = delay[twice] + u[reported[twice], 5] * b.receipt_median_s
            reported = np.concatenate([reported, reported[twice]])
            delay = np.concatenate([delay, extra])
            delivered = np.concatenate([delivered, delivered[twice]])
        order = np.argsort(delay, kind="stable")
        loop = asyncio.get_running_loop()
        due = (loop.time() + delay[order]).tolist()
        wave = _Wave(due, [pids[j] for j in rank[reported[order]].tolist()], delivered[order].tolist(), sent)
        self._wave_seq += 1
        heapq.heappush(self._waves, (due[0], self._wave_seq, wave))
        self._pending += len(due)
        self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Keep the one timer set for the earliest receipt due, a tick after the last hand-over at
        the soonest."""
        if not self._waves:
            return
        when = max(self._waves[0][0], self._arrived_at + RECEIPT_TICK_S)
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer, self._timer_at = loop.call_at(when, self._arrive, loop), when

    def _arrive(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand every receipt now due to the inbox, in due order, and re-arm for the next."""
        armed_for = self._timer_at
        self._timer, self._timer_at, self._arrived_at = None, math.inf, loop.time()
        if self._closed:
            return
        # Everything the timer was armed for is due, even if it fired "early" by the loop's clock:
        # uvloop (Ray's loop) keeps time in whole milliseconds, and re-arming for a receipt it
        # thinks is not due yet would spin until its clock ticks.
        end = max(loop.time() + _RESOLUTION, math.nextafter(armed_for, math.inf))
        at = self._clock.now()
        done = _smpp_date(at)
        channel = self.id
        # The receipt text around the id and the submit date; [False] undelivered, [True] delivered.
        head = (" sub:001 dlvrd:000 submit date:", " sub:001 dlvrd:001 submit date:")
        tail = (
            f" done date:{done} stat:UNDELIV err:{UNDELIVERED_ERR} text:",
            f" done date:{done} stat:DELIVRD err:000 text:",
        )
        status = (ReceiptStatus.UNDELIVERED, ReceiptStatus.DELIVERED)
        error = (UNDELIVERED_ERR, None)
        waves = self._waves
        receipts: list[Receipt] = []
        due: list[float] = []
        several = False
        while waves and waves[0][0] < end:
            _, seq, wave = heapq.heappop(waves)
            start = wave.next
            stop = bisect_left(wave.due, end, start)
            several = several or bool(receipts)
            sent = _smpp_date(wave.sent)
            receipts += [
                Receipt(channel, pid, status[ok], at, error[ok], f"id:{pid}{head[ok]}{sent}{tail[ok]}")
                for pid, ok in zip(wave.pids[start:stop], wave.delivered[start:stop], strict=True)
            ]
            due += wave.due[start:stop]
            wave.next = stop
            if stop < len(wave.due):
                heapq.heappush(waves, (wave.due[stop], seq, wave))
        if several:  # receipts of several submits: merge them in due order, as their timers would fire
            receipts = [receipts[i] for i in sorted(range(len(due)), key=due.__getitem__)]
        self._pending -= len(receipts)
        self._inbox.put(receipts)
        self._arm(loop)

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


_DATES: dict[int, str] = {}


def _smpp_date(t: float) -> str:
    """SMPP receipt date, 10 digits (YYMMDDhhmm, UTC); memoised per minute (gmtime floors ``t``).

    >>> _smpp_date(0.0), _smpp_date(86_399.9)
    ('7001010000', '7001012359')
    """
    minute = int(t // 60)
    date = _DATES.get(minute)
    if date is None:
        if len(_DATES) > 4096:  # a long-lived channel (or a fake clock) must not grow it forever
            _DATES.clear()
        date = _DATES[minute] = time.strftime("%y%m%d%H%M", time.gmtime(minute * 60))
    return date
