"""What runs inside a channel actor, without Ray: the gate in front of an adapter, and the pump
that hands its receipts on. Plain asyncio, so it is tested without a cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from engine.channels.gate import CircuitBreaker, TpsLimiter, Window
from engine.dispatch.ports import Submitted
from engine.domain.channel import Channel, ChannelHealth, CircuitState
from engine.domain.clock import Clock
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, SubmitResult

log = logging.getLogger(__name__)

CIRCUIT_OPEN = ChannelError("circuit_open", "circuit open", ErrorClass.PLATFORM)
MAX_WAIT_S = 2.0  # how long a submit may wait for TPS budget before it is refused as throttled
# Receipts trickle in one by one; each hand-over is a Ray call (0.7-1.1 ms of CPU on each side,
# measured between two actors on the 2-core machine), so they are handed on at most this often, in
# batches of up to HANDOVER_MAX. Every 50 ms, three channels' hand-overs took about 6 % of the
# machine under load; a quarter of a second later is nothing to a router that learns over minutes.
HANDOVER_EVERY_S = 0.25
HANDOVER_MAX = 5_000


class ChannelService:
    def __init__(self, adapter: Channel, tps: float, window: int, clock: Clock) -> None:
        self.adapter = adapter
        self.clock = clock
        self.limiter = TpsLimiter(tps, clock=clock)
        self.window = Window(window)
        self.breaker = CircuitBreaker(clock=clock)
        self._pump: asyncio.Task[None] | None = None
        self._closing = False

    async def submit(self, messages: Sequence[OutboundMessage]) -> Submitted:
        """Submit within the TPS budget (OTP may use the reserve) and the window."""
        if not self.breaker.allow():
            return Submitted(
                [SubmitResult(m.id, error=CIRCUIT_OPEN) for m in messages], [self.clock.now()] * len(messages)
            )
        results: list[SubmitResult] = []
        times: list[float] = []
        waited = 0.0
        todo = list(messages)
        while todo:
            lane = todo[0].lane
            allowed = self.window.acquire(self.limiter.take(lane, len(todo)))
            if allowed == 0:
                pause = max(self.limiter.wait_s(lane), 0.001)
                if waited + pause > MAX_WAIT_S:
                    throttled = ChannelError(
                        "throttled", "local TPS limit", ErrorClass.PLATFORM, throttled=True
                    )
                    results += [SubmitResult(m.id, error=throttled) for m in todo]
                    times += [self.clock.now()] * len(todo)
                    break
                waited += pause
                await asyncio.sleep(pause)
                continue
            batch, todo = todo[:allowed], todo[allowed:]
            try:
                answers = await self.adapter.submit(batch)
            finally:
                self.window.release(allowed)
            self._record(answers)
            results += answers
            times += [self.clock.now()] * len(answers)
        return Submitted(results, times)

    def _record(self, answers: Sequence[SubmitResult]) -> None:
        if self.breaker.state is CircuitState.CLOSED and all(a.error is None for a in answers):
            # The usual batch: in a closed circuit a success only resets the failure count, so one
            # record_success stands for all of them (a call per message was most of this method).
            if answers:
                self.breaker.record_success()
            return
        for answer in answers:
            if answer.error is None:
                self.breaker.record_success()
            elif not answer.error.throttled:
                self.breaker.record_failure()

    def start_pump(self, deliver: Callable[[list[Receipt]], Awaitable[None]]) -> None:
        """Hand receipts on in batches (every few tens of ms) until :meth:`close`."""
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump(deliver))

    async def _run_pump(self, deliver: Callable[[list[Receipt]], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self._closing:
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            batch = await self.adapter.receipts(HANDOVER_MAX, HANDOVER_EVERY_S)
            if not batch:
                await asyncio.sleep(0)  # an adapter that returns at once must not starve the loop
                continue
            due = loop.time() + HANDOVER_EVERY_S
            while True:  # a receipt is never dropped here: a restarting receiver is waited for
                try:
                    await deliver(batch)
                    break
                except Exception:
                    log.exception("could not hand %d receipts on; retrying", len(batch))
                    await asyncio.sleep(0.5)

    def health(self) -> ChannelHealth:
        base = self.adapter.health()
        return ChannelHealth(
            base.channel, base.connected, self.breaker.state, base.in_flight, base.submitted,
            base.failed, base.receipts, base.bad_receipts,
        )  # fmt: skip

    async def close(self) -> None:
        self._closing = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.adapter.close()
