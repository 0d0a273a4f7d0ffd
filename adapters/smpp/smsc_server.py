"""The SMSC simulator's asyncio server: it owns the listening socket, the sessions (one per
connection, see ``smsc_session``), the counters, and routes receipts to a bind that can receive them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from adapters.smpp.smsc_behaviour import SmscBehaviour
from adapters.smpp.smsc_receipts import PlannedReceipt, build_receipt
from adapters.smpp.smsc_session import Session
from adapters.smpp.smsc_settings import SmscSettings
from engine.domain.clock import Clock, SystemClock

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("a2p.smsc_sim")


@dataclass(slots=True)
class SmscCounters:
    """Running totals since start; ``line()`` is the one-line status the CLI prints."""

    connections: int = 0
    binds: int = 0
    bind_failures: int = 0
    submits: int = 0
    accepted: int = 0
    throttled: int = 0
    refused: int = 0  # any other non-zero submit status (rejected destination, bad UDH, wrong bind)
    unanswered: int = 0  # swallowed by the stall mode
    receipts_sent: int = 0
    receipts_acked: int = 0
    receipts_dropped: int = 0  # no receiver bind and the queue was full, or the simulator stopped
    enquire_links: int = 0
    nacks: int = 0
    framing_errors: int = 0

    def line(self) -> str:
        return " ".join(f"{name}={value}" for name, value in asdict(self).items())


class SmscSimulator:
    """An SMPP 3.4 SMSC for tests and demos. ``await start()``, then connect to ``port``.

    ``rng`` and ``clock`` are injected: the same seed gives the same ids, statuses and delays; the
    clock stamps receipt dates and drives the TPS throttle window.
    """

    def __init__(
        self,
        settings: SmscSettings | None = None,
        *,
        rng: np.random.Generator | None = None,
        clock: Clock | None = None,
    ) -> None:
        if rng is None:
            import numpy as np  # noqa: PLC0415  # kept off the import path of `a2p --help`

            rng = np.random.default_rng()
        self.settings = settings or SmscSettings()
        self.clock: Clock = clock or SystemClock()
        self.counters = SmscCounters()
        self.behaviour = SmscBehaviour(self.settings, rng, self.clock)
        self._server: asyncio.Server | None = None
        self._sessions: dict[Session, asyncio.Task[None]] = {}
        self._receipt_timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_ids = itertools.count()
        self._queued: deque[PlannedReceipt] = deque()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the simulator is not listening: await start() first")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def queued_receipts(self) -> int:
        return len(self._queued)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.settings.host, self.settings.port)
        log.info("SMSC simulator listening on %s:%d", self.settings.host, self.port)

    async def stop(self) -> None:
        """Stop listening, close every connection and drop the receipts not sent yet."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for handle in self._receipt_timers.values():
            handle.cancel()
        self.counters.receipts_dropped += len(self._receipt_timers) + len(self._queued)
        self._receipt_timers.clear()
        self._queued.clear()
        for session in list(self._sessions):
            session.close()
        tasks = list(self._sessions.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if server is not None:
            # Last: from Python 3.12 on, wait_closed also waits for every connection to end.
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection callback always runs in a task
        session = Session(self, reader, writer)
        self._sessions[session] = task
        self.counters.connections += 1
        try:
            await session.run()
        finally:
            del self._sessions[session]

    # --- receipts -------------------------------------------------------------------------------

    def schedule_receipt(self, planned: PlannedReceipt, origin: Session) -> None:
        timer = next(self._timer_ids)
        loop = asyncio.get_running_loop()
        self._receipt_timers[timer] = loop.call_later(
            planned.delay_s, self._receipt_due, timer, planned, origin
        )

    def _receipt_due(self, timer: int, planned: PlannedReceipt, origin: Session) -> None:
        del self._receipt_timers[timer]
        target = origin if origin.can_receive else self._receiver_for(origin.system_id)
        if target is None:
            # A real SMSC stores receipts until a receiver binds; keep the newest ones.
            self._queued.append(planned)
            while len(self._queued) > self.settings.max_queued_receipts:
                self._queued.popleft()
                self.counters.receipts_dropped += 1
            return
        self._send_receipt(target, planned)

    def _send_receipt(self, target: Session, planned: PlannedReceipt) -> None:
        target.send(build_receipt(planned, self.clock.now(), target.next_sequence()))
        self.counters.receipts_sent += 1

    def _receiver_for(self, system_id: str) -> Session | None:
        return next((s for s in self._sessions if s.can_receive and s.system_id == system_id), None)

    def bound(self, session: Session) -> None:
        """A bind succeeded: a receiving bind takes the receipts that waited for one."""
        if session.can_receive:
            while self._queued:
                self._send_receipt(session, self._queued.popleft())
