"""The SMPP channel: messages in, submit_sm out through our window, receipts back from deliver_sm.

What each message's :class:`~engine.domain.messages.SubmitResult` says:

- accepted: ``provider_id`` is the SMSC's message_id, or for a long message the comma-joined ids of
  its parts, in order (one receipt comes per part);
- throttled (ESME_RTHROTTLED, ESME_RMSGQFUL): not taken, try later; the session also pauses (see
  :class:`~adapters.smpp.pacing.ThrottlePause`);
- ``not_connected`` / ``bind_rejected``: never written, safe to fail over;
- ``response_timeout`` / ``connection_lost`` with ``outcome_unknown``: it may have been sent, so it
  is never resent;
- ``partial_submit`` with ``outcome_unknown``: some parts of a long message went, one did not;
  resending the whole would duplicate the parts that went;
- any other command_status: :func:`adapters.smpp.status.channel_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import smpp34

from adapters.smpp.pacing import ThrottlePause
from adapters.smpp.receipts import parse_receipt
from adapters.smpp.session import BindState, NotSentError, OutcomeUnknownError, Session
from adapters.smpp.settings import SmppSettings
from adapters.smpp.status import channel_error
from adapters.smpp.udh import Part, encode
from engine.domain.channel import ChannelHealth, CircuitState
from engine.domain.clock import Clock, SystemClock
from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, SubmitResult

log = logging.getLogger(__name__)

CLOSED = ChannelError("channel_closed", "closed", ErrorClass.PLATFORM)
NOT_CONNECTED = ChannelError("not_connected", "no bind", ErrorClass.PLATFORM)
RESPONSE_TIMEOUT = ChannelError("response_timeout", "timeout", ErrorClass.NETWORK, outcome_unknown=True)
CONNECTION_LOST = ChannelError("connection_lost", "disconnected", ErrorClass.NETWORK, outcome_unknown=True)
INTERNAL_ERROR = ChannelError("internal_error", "exception", ErrorClass.PLATFORM, outcome_unknown=True)
TOO_LONG = ChannelError("message_too_long", "more than 255 parts", ErrorClass.POLICY, permanent=True)
RECEIPT_ESM_TYPES = (0x04, 0x20)  # esm_class bits 2-5: SMSC delivery receipt, intermediate notification
LATER_PART_RETRIES = 3  # a throttled part after the first is retried: the first ones are already out
MAX_VALIDITY_S = 30 * 86_400


def bind_rejected(status: int | None) -> ChannelError:
    return ChannelError("bind_rejected", f"0x{(status or 0):08X}", ErrorClass.PLATFORM)


def partial(error: ChannelError) -> ChannelError:
    return ChannelError("partial_submit", error.raw, error.error_class, outcome_unknown=True)


def validity_period(seconds: float) -> str:
    """SMPP relative time ``YYMMDDhhmmss000R``, capped at 30 days; '' (SMSC default) for none.

    >>> validity_period(86_400), validity_period(3_725), validity_period(0)
    ('000001000000000R', '000000010205000R', '')
    """
    total = int(min(seconds, MAX_VALIDITY_S))
    if total <= 0:
        return ""
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def source_address(sender: str, ton: int, npi: int) -> tuple[str, int, int]:
    """(address, TON, NPI) for a sender; TON/NPI -1 means chosen from the sender's form.

    >>> source_address("ACME", -1, -1), source_address("+4477001", -1, -1), source_address("12345", -1, -1)
    (('ACME', 5, 0), ('4477001', 1, 1), ('12345', 3, 0))
    """
    digits = sender.removeprefix("+")
    if not digits.isdigit():
        auto = (5, 0)  # alphanumeric
    elif sender.startswith("+") or len(digits) > 8:
        auto = (1, 1)  # international number
    else:
        auto = (3, 0)  # short code: network specific
    address = digits if auto[0] == 1 else sender
    return address, auto[0] if ton < 0 else ton, auto[1] if npi < 0 else npi


class SmppChannel:
    """An SMPP 3.4 channel over one transceiver bind, or a transmitter plus a receiver bind."""

    def __init__(
        self,
        channel_id: str,
        settings: SmppSettings,
        password: str,
        *,
        window: int = 50,
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.id = channel_id
        self.settings = settings
        self.clock = clock or SystemClock()
        self.rng = rng or np.random.default_rng()
        self.window = max(1, window)
        self.sessions = [
            Session(settings, password, bind_type, self._on_deliver, rng=self.rng,
                    name=f"{channel_id}/{bind_type}", window=self.window)
            for bind_type in settings.bind_types
        ]  # fmt: skip
        self.pause = ThrottlePause(settings.throttle_pause_s, settings.throttle_pause_max_s, self.clock)
        self._reference = int(self.rng.integers(0, 256))
        self._slots: asyncio.Semaphore | None = None
        self._receipts: deque[Receipt] = deque()
        self._arrived: asyncio.Event | None = None
        self._closed = False
        self.in_flight = 0
        self.submitted = 0
        self.failed = 0
        self.receipt_count = 0
        self.bad_receipts = 0
        self.other_deliveries = 0  # deliver_sm that are not receipts (mobile-originated messages)
        self.throttles = 0

    @property
    def transmitter(self) -> Session:
        return self.sessions[0]

    def state(self) -> BindState:
        """The worst state among the binds (``bind_rejected`` shows here and in :meth:`health`)."""
        return max((s.state for s in self.sessions), key=_SEVERITY.__getitem__)

    # --- Channel -----------------------------------------------------------------------------

    async def connect(self, timeout_s: float | None = None) -> BindState:
        """Bind now instead of on first use; return the transmitting bind's state."""
        self._start()
        wait = self.settings.submit_wait_s if timeout_s is None else timeout_s
        states = await asyncio.gather(*(s.wait_bound(wait) for s in self.sessions))
        return states[0]

    async def submit(self, messages: Sequence[OutboundMessage]) -> list[SubmitResult]:
        if self._closed:
            return self._count([SubmitResult(m.id, error=CLOSED) for m in messages])
        if not messages:
            return []
        self._start()
        results = await asyncio.gather(*(self._submit_one(m) for m in messages))
        return self._count(list(results))

    async def receipts(self, max_items: int, timeout_s: float) -> list[Receipt]:
        if self._closed:
            return []
        self._start()
        assert self._arrived is not None
        if not self._receipts and timeout_s > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
        out: list[Receipt] = []
        while self._receipts and len(out) < max_items:
            out.append(self._receipts.popleft())
        return out

    def health(self) -> ChannelHealth:
        connected = not self._closed and all(s.state is BindState.BOUND for s in self.sessions)
        return ChannelHealth(
            self.id, connected, CircuitState.CLOSED, self.in_flight, self.submitted, self.failed,
            self.receipt_count, self.bad_receipts,
        )  # fmt: skip

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._receipts:  # acknowledged to the SMSC already: they are gone for good
            log.warning("%s: closing with %d receipts not collected", self.id, len(self._receipts))
        self._receipts.clear()
        if self._arrived is not None:
            self._arrived.set()  # readers waiting now return at once, with nothing
        await asyncio.gather(*(s.close() for s in self.sessions))

    # --- submitting --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.window)
            self._arrived = asyncio.Event()
        for session in self.sessions:
            session.start()

    def _count(self, results: list[SubmitResult]) -> list[SubmitResult]:
        accepted = sum(r.accepted for r in results)
        self.submitted += accepted
        self.failed += len(results) - accepted
        return results

    async def _submit_one(self, message: OutboundMessage) -> SubmitResult:
        try:
            parts = encode(message.body, self._next_reference(), sixteen_bit=self.settings.udh_16bit)
        except ValueError:
            return SubmitResult(message.id, error=TOO_LONG)
        ids: list[str] = []
        for index, part in enumerate(parts):
            tries = 1 if index == 0 else LATER_PART_RETRIES + 1
            for _ in range(tries):
                outcome = await self._submit_part(message, part)
                if not (isinstance(outcome, ChannelError) and outcome.throttled):
                    break
            if isinstance(outcome, ChannelError):
                if index == 0:
                    return SubmitResult(message.id, error=outcome)
                log.warning("%s: %s: part %d/%d failed after %d sent: %s", self.id, message.id, index + 1,
                            len(parts), index, outcome.code)  # fmt: skip
                return SubmitResult(message.id, error=partial(outcome))
            ids.append(outcome)
        return SubmitResult(message.id, provider_id=",".join(ids))

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    async def _submit_part(self, message: OutboundMessage, part: Part) -> str | ChannelError:
        """The SMSC's message_id for one part, or why it has none."""
        assert self._slots is not None
        session = self.transmitter
        async with self._slots:
            wait = self.pause.wait_s()
            if wait > 0:
                await asyncio.sleep(wait)
            if session.state is not BindState.BOUND:
                state = await session.wait_bound(self.settings.submit_wait_s)
                if state is BindState.BIND_REJECTED:
                    return bind_rejected(session.bind_status)
                if state is not BindState.BOUND:
                    return CLOSED if state is BindState.CLOSED else NOT_CONNECTED
            self.in_flight += 1
            try:
                resp = await session.submit(
                    message.to.removeprefix("+"), part.short_message, **self._fields(message),
                    esm_class=part.esm_class, data_coding=part.data_coding,
                )  # fmt: skip
            except NotSentError as exc:
                return CLOSED if exc.state is BindState.CLOSED else NOT_CONNECTED
            except OutcomeUnknownError as exc:
                return RESPONSE_TIMEOUT if exc.reason == "response_timeout" else CONNECTION_LOST
            except Exception:  # not ours to know whether it left: never resend it
                log.exception("%s: %s: submit_sm failed unexpectedly", self.id, message.id)
                return INTERNAL_ERROR
            finally:
                self.in_flight -= 1
        return self._answer(resp)

    def _fields(self, message: OutboundMessage) -> dict[str, Any]:
        s = self.settings
        source, ton, npi = source_address(message.sender, s.source_ton, s.source_npi)
        return {
            "source_addr": source, "source_addr_ton": ton, "source_addr_npi": npi,
            "dest_addr_ton": s.dest_ton, "dest_addr_npi": s.dest_npi, "service_type": s.service_type,
            "registered_delivery": s.registered_delivery,
            "validity_period": validity_period(message.validity_s) if s.send_validity else "",
        }  # fmt: skip

    def _answer(self, resp: smpp34.SubmitSmResp) -> str | ChannelError:
        status = resp.command_status
        if status == 0 and resp.message_id:
            self.pause.ok()
            return resp.message_id
        if status == 0:  # accepted without an id: nothing to correlate its receipt with
            return ChannelError("missing_message_id", "0x00000000", ErrorClass.OPERATOR, outcome_unknown=True)
        error = channel_error(status)
        if error.throttled:
            self.throttles += 1
            self.pause.hit()
        return error

    # --- receipts ----------------------------------------------------------------------------

    def _on_deliver(self, event: smpp34.DeliverSmEvent) -> None:
        """Every deliver_sm (smpp34 has already answered it): a receipt, a bad one, or not one."""
        if self._closed:
            return
        if event.esm_class & 0x3C not in RECEIPT_ESM_TYPES:
            self.other_deliveries += 1
            return
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        parsed = parse_receipt(event.short_message, tlvs, event.data_coding)
        raw = event.short_message.decode("latin-1")
        if parsed is None:
            self.bad_receipts += 1
            log.warning("%s: unparseable receipt %r (tlvs %s)", self.id, raw[:200], sorted(tlvs))
            return
        self.receipt_count += 1
        self._receipts.append(
            Receipt(self.id, parsed.message_id, parsed.status, self.clock.now(), parsed.error_code, raw)
        )
        if self._arrived is not None:
            self._arrived.set()


_SEVERITY = {
    BindState.BOUND: 0,
    BindState.IDLE: 1,
    BindState.CONNECTING: 2,
    BindState.DISCONNECTED: 3,
    BindState.BIND_REJECTED: 4,
    BindState.CLOSED: 5,
}
