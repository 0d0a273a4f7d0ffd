"""One SMPP bind kept alive over smpp34: bind, read deliver_sm, watch, rebind with backoff.

smpp34 does the protocol (framing, sequence numbers, enquire_link PDUs on its own timer,
deliver_sm_resp for every deliver_sm); this layer adds what it lacks:

- a refused bind is known at once and reported as :attr:`BindState.BIND_REJECTED` (smpp34 would
  time out): see :mod:`adapters.smpp.bindcheck`; it is retried only after a long pause;
- reconnection with exponential backoff and jitter after a lost or failed bind;
- our own response timeout, which tells an *unknown* outcome apart from a refusal, and a session
  that stops answering altogether (smpp34's own timer is 30 s) is dropped and bound again;
- TCP_NODELAY on its socket (see :mod:`adapters.smpp.nodelay`);
- a liveness check every ``enquire_link_s`` (``Client.is_alive``): the binding exposes no
  enquire_link call of its own.

What a submit's failure means for its message is decided here, where it is known:
:class:`NotSentError` (no bind: it was never written, safe to send elsewhere) or
:class:`OutcomeUnknownError` (it may have left: never resend it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import smpp34

from adapters.smpp.bindcheck import BindRejectedError, check_bind
from adapters.smpp.nodelay import set_nodelay
from adapters.smpp.pacing import Backoff
from adapters.smpp.settings import SmppSettings
from adapters.smpp.status import status_name

log = logging.getLogger(__name__)
INBOUND_CAPACITY = 1 << 16  # smpp34 wedges the session when its inbound queue is full: never let it fill
STOP_TIMEOUT_S = 2.0
DRAIN_S = 0.5


class BindState(StrEnum):
    IDLE = "idle"  # not started: binds lazily, on first use
    CONNECTING = "connecting"
    BOUND = "bound"
    DISCONNECTED = "disconnected"  # between attempts, backing off
    BIND_REJECTED = "bind_rejected"  # the SMSC refused our credentials: long pause, then retry
    CLOSED = "closed"


class NotSentError(Exception):
    """The submit was not written: there was no bind to write it on."""

    def __init__(self, state: BindState) -> None:
        self.state = state
        super().__init__(f"no bind ({state.value})")


class OutcomeUnknownError(Exception):
    """The submit may have reached the SMSC, but its answer never came."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # "response_timeout" or "connection_lost"
        super().__init__(reason)


class BindChecker(Protocol):
    def __call__(
        self, host: str, port: int, *, bind_type: str, system_id: str, password: str, system_type: str,
        timeout_s: float,
    ) -> Awaitable[None]: ...  # fmt: skip


ClientFactory = Callable[..., smpp34.Client]
Deliver = Callable[[smpp34.DeliverSmEvent], None]


class Session:
    """One bind (``bind_type`` "TRX", "TX" or "RX"); binds on :meth:`start`, rebinds until :meth:`close`."""

    def __init__(
        self,
        settings: SmppSettings,
        password: str,
        bind_type: str,
        on_deliver: Deliver,
        *,
        rng: np.random.Generator,
        name: str = "",
        window: int = 50,
        client_factory: ClientFactory = smpp34.Client,
        bind_checker: BindChecker = check_bind,
    ) -> None:
        self.settings = settings
        self.bind_type = bind_type
        self.name = name or f"{settings.system_id}@{settings.host}:{settings.port}/{bind_type}"
        self.state = BindState.IDLE
        self.bind_status: int | None = None  # the command_status of the last refused bind
        self.last_error = ""
        self.binds = 0
        self.disconnects = 0
        self._password = password
        self._on_deliver = on_deliver
        self._rng = rng
        self._window = window
        self._client_factory = client_factory
        self._bind_checker = bind_checker
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s, settings.reconnect_jitter)
        self._checked = not settings.bind_check  # whether these credentials were seen to bind
        self._client: smpp34.Client | None = None
        self._smsc: smpp34.Smsc | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed: asyncio.Event | None = None
        self._recycle: asyncio.Event | None = None
        self._answers = 0  # submit answers received: a response timeout with none since is a stuck session

    @property
    def closed(self) -> bool:
        return self.state is BindState.CLOSED

    def __repr__(self) -> str:
        return f"Session({self.name!r}, {self.state.value})"  # never the password

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start binding in the background (idempotent; needs a running event loop)."""
        if self._task is None and self.state is not BindState.CLOSED:
            self._changed = asyncio.Event()
            self._recycle = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"smpp {self.name}")

    async def wait_bound(self, timeout_s: float) -> BindState:
        """Wait until bound, refused or closed, at most ``timeout_s``; return the state then."""
        self.start()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.state not in (BindState.BOUND, BindState.BIND_REJECTED, BindState.CLOSED):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or self._changed is None:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return self.state

    async def close(self) -> None:
        """Unbind cleanly if bound, then stop; idempotent."""
        if self.state is BindState.CLOSED:
            return
        smsc, client, bound = self._smsc, self._client, self.state is BindState.BOUND
        self._set(BindState.CLOSED)
        if smsc is not None and bound:
            try:
                await asyncio.wait_for(smsc.unbind(), STOP_TIMEOUT_S)
            except (smpp34.SmppError, TimeoutError) as exc:
                log.info("%s: unbind not answered: %s", self.name, exc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if client is not None:
            await self._stop(client)

    # --- submits -----------------------------------------------------------------------------

    async def submit(self, destination_addr: str, short_message: bytes, **fields: Any) -> smpp34.SubmitSmResp:
        smsc = self._smsc
        if smsc is None or self.state is not BindState.BOUND:
            raise NotSentError(self.state)
        if len(short_message) > 254:  # smpp34 panics (a BaseException) on a longer one
            raise ValueError(f"short_message of {len(short_message)} octets; SMPP allows 254")
        answers_before = self._answers
        try:
            async with asyncio.timeout(self.settings.response_timeout_s):
                resp = await smsc.submit_sm(destination_addr, short_message, **fields)
        except TimeoutError:
            if self._answers == answers_before:
                self._drop_silent_session()
            raise OutcomeUnknownError("response_timeout") from None
        except smpp34.SmppError as exc:
            # smpp34 raises (ESME_RSYSERR) when the session died under the submit; whether the
            # PDU was written before cannot be known, so the outcome is unknown. Later submits
            # must not be handed to the dead session (they would be "unknown" too): they wait
            # for the next bind instead.
            self.last_error = str(exc)
            if self._smsc is smsc and self.state is BindState.BOUND:
                self._set(BindState.DISCONNECTED)
                if self._recycle is not None:
                    self._recycle.set()
            raise OutcomeUnknownError("connection_lost") from exc
        self._answers += 1
        return resp

    def _drop_silent_session(self) -> None:
        # One late answer is the SMSC's business; no answer to anything for a whole response
        # timeout means the session is stuck: drop it and bind again.
        if self._recycle is not None and not self._recycle.is_set():
            log.warning("%s: no answer at all for %.1f s; dropping the session", self.name,
                        self.settings.response_timeout_s)  # fmt: skip
            self._recycle.set()

    # --- the bind loop -----------------------------------------------------------------------

    def _set(self, state: BindState) -> None:
        if self.state is BindState.CLOSED:
            return
        self.state = state
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def _run(self) -> None:
        attempt = 0
        while not self.closed:
            try:
                attempt = await self._attempt(attempt)
            except Exception:  # a bug or a library surprise must not leave the channel unbound for good
                log.exception("%s: unexpected failure; binding again", self.name)
                self._smsc = None
                self._set(BindState.DISCONNECTED)
                if self._client is not None:
                    await self._stop(self._client)
                    self._client = None
                await asyncio.sleep(self._backoff.delay(attempt, self._rng))
                attempt += 1

    async def _attempt(self, attempt: int) -> int:
        """One bind and, if it works, its whole life; returns the next attempt's number."""
        self._set(BindState.CONNECTING)
        try:
            client, smsc = await self._bind()
        except BindRejectedError as exc:
            self.bind_status = exc.status
            self.last_error = f"bind rejected: {status_name(exc.status)} (0x{exc.status:08X})"
            log.warning("%s: %s", self.name, self.last_error)
            self._set(BindState.BIND_REJECTED)
            pause = self.settings.bind_rejected_backoff_s
            await asyncio.sleep(Backoff(pause, pause, self.settings.reconnect_jitter).delay(0, self._rng))
            return 0
        except (smpp34.SmppError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self._checked = not self.settings.bind_check  # the next attempt asks directly
            self.last_error = f"bind failed: {exc!r}"
            log.info("%s: %s (attempt %d)", self.name, self.last_error, attempt + 1)
            self._set(BindState.DISCONNECTED)
            await asyncio.sleep(self._backoff.delay(attempt, self._rng))
            return attempt + 1
        self._checked = True
        self.bind_status = None
        self.binds += 1
        self._client, self._smsc = client, smsc
        if self.settings.tcp_nodelay:
            set_nodelay(self.settings.port)
        self._set(BindState.BOUND)
        log.info("%s: bound", self.name)
        await self._serve(client, smsc)
        self._smsc = None
        if self.closed:
            return 0
        self.disconnects += 1
        log.warning("%s: connection lost; binding again", self.name)
        self._set(BindState.DISCONNECTED)
        await self._stop(client)
        self._client = None
        await asyncio.sleep(self._backoff.delay(0, self._rng))
        return 0

    async def _bind(self) -> tuple[smpp34.Client, smpp34.Smsc]:
        s = self.settings
        if not self._checked:
            await self._bind_checker(
                s.host, s.port, bind_type=self.bind_type, system_id=s.system_id, password=self._password,
                system_type=s.system_type, timeout_s=s.connect_timeout_s,
            )  # fmt: skip
        client = self._client_factory(
            s.host, s.port, s.system_id, self._password, bind_type=self.bind_type, system_type=s.system_type,
            window_size=max(self._window, 1), inbound_capacity=INBOUND_CAPACITY,
            connect_timeout_ms=int(s.connect_timeout_s * 1000),
        )  # fmt: skip
        try:
            async with asyncio.timeout(s.connect_timeout_s + 1.0):
                smsc = await client.connect()
        except BaseException:
            await self._stop(client)
            raise
        return client, smsc

    async def _serve(self, client: smpp34.Client, smsc: smpp34.Smsc) -> None:
        """Until the session ends: hand deliver_sm on, check liveness, drop it if wedged."""
        reader = asyncio.ensure_future(self._read(smsc))
        watchdog = asyncio.ensure_future(self._watch(client))
        try:
            await asyncio.wait({reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if not reader.done():
                # Receipts smpp34 has already acknowledged may still be queued: let the reader
                # take them (it ends at Disconnected) before the session is dropped.
                await asyncio.wait({reader}, timeout=DRAIN_S)
        finally:
            for task in (reader, watchdog):
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except smpp34.SmppError as exc:  # the session ended under the reader or the watchdog
                    log.info("%s: session ended: %s", self.name, exc)

    async def _read(self, smsc: smpp34.Smsc) -> None:
        while True:
            event = await smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return  # Disconnected: the only other event a client session yields
            try:
                self._on_deliver(event)
            except Exception:  # one bad deliver_sm must not end the session
                log.exception("%s: deliver_sm handler failed", self.name)

    async def _watch(self, client: smpp34.Client) -> None:
        assert self._recycle is not None
        self._recycle.clear()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recycle.wait(), self.settings.enquire_link_s)
            if self._recycle.is_set() or not await client.is_alive():
                return

    async def _stop(self, client: smpp34.Client) -> None:
        try:
            await asyncio.wait_for(client.stop(), STOP_TIMEOUT_S)
        except (smpp34.SmppError, TimeoutError, RuntimeError) as exc:
            log.debug("%s: stop: %s", self.name, exc)
