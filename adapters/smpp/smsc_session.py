"""One ESME connection to the simulator: framing, bind state, and the answer to every PDU.

A PDU that decodes badly gets a generic_nack and the session goes on; a broken frame (absurd
command_length) gets a generic_nack and the connection is closed, since no later PDU boundary can be
trusted. Neither ever reaches the server: one bad peer costs one connection at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from adapters.smpp import pdu

if TYPE_CHECKING:
    from adapters.smpp.smsc_server import SmscSimulator

log = logging.getLogger("a2p.smsc_sim")

_READ_SIZE = 65536
_MAX_SEQUENCE = 0x7FFFFFFF


class Session:
    """One TCP connection: its framing, its bind state and its own sequence numbers."""

    def __init__(
        self, sim: SmscSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._sim = sim
        self._reader = reader
        self._writer = writer
        self._splitter = pdu.FrameSplitter()
        self._sequence = 0
        self._closing = False
        self.mode: pdu.BindMode | None = None
        self.system_id = ""
        self.peer = writer.get_extra_info("peername")
        self._bind_deadline = asyncio.get_running_loop().time() + sim.settings.session_init_timeout_s

    @property
    def can_receive(self) -> bool:
        return self.mode is not None and self.mode.can_receive and not self._closing

    def next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def send(self, message: pdu.Pdu) -> None:
        if not self._writer.is_closing():
            self._writer.write(pdu.encode(message))

    def close(self) -> None:
        self._closing = True
        self._writer.close()

    async def run(self) -> None:
        try:
            while not self._closing:
                data = await self._read()
                if not data:
                    break
                try:
                    frames = self._splitter.feed(data)
                except pdu.FrameError as exc:
                    self._sim.counters.framing_errors += 1
                    log.warning("closing %s: %s", self.peer, exc)
                    self._nack(exc.status, exc.sequence_number or 0)
                    self._closing = True
                    frames = []
                for frame in frames:
                    self._on_frame(frame)
                    if self._closing:
                        break
                await self._writer.drain()
        except (ConnectionError, TimeoutError) as exc:
            log.info("connection %s ended: %r", self.peer, exc)
        except Exception:
            # A bug here must cost this connection only, never the simulator.
            log.exception("session with %s failed", self.peer)
        finally:
            self._closing = True
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def _read(self) -> bytes:
        if self.mode is not None or not self._sim.settings.session_init_timeout_s:
            return await self._reader.read(_READ_SIZE)
        # A deadline from the connection's start, not per read: a byte a minute must not keep it open.
        remaining = self._bind_deadline - asyncio.get_running_loop().time()
        return await asyncio.wait_for(self._reader.read(_READ_SIZE), max(remaining, 0.0))

    def _on_frame(self, frame: bytes) -> None:
        try:
            message = pdu.decode(frame)
        except pdu.PduError as exc:
            log.info("bad PDU from %s: %s", self.peer, exc)
            # Responses are never answered, not even with a nack: that could ping-pong forever.
            if not pdu.is_response(exc.command_id or 0):
                self._nack(exc.status, exc.sequence_number or 0)
            return
        self._dispatch(message)

    def _dispatch(self, message: pdu.Pdu) -> None:
        sequence = message.sequence_number
        match message:
            case pdu.Bind():
                self._on_bind(message)
            case pdu.SubmitSm():
                self._on_submit(message)
            case pdu.EnquireLink():
                self._sim.counters.enquire_links += 1
                self.send(pdu.EnquireLinkResp(sequence_number=sequence))
            case pdu.Unbind():
                self.send(pdu.UnbindResp(sequence_number=sequence))
                self._closing = True
            case pdu.DeliverSmResp():
                if message.command_status == pdu.ESME_ROK:
                    self._sim.counters.receipts_acked += 1
            case pdu.UnbindResp():
                self._closing = True
            case pdu.EnquireLinkResp() | pdu.GenericNack():
                pass
            case _ if pdu.is_response(message.command_id):
                log.info("ignoring an unexpected %s from %s", type(message).__name__, self.peer)
            case _:  # an ESME does not send deliver_sm: that is a request we do not serve
                self._nack(pdu.ESME_RINVCMDID, sequence)

    def _on_bind(self, bind: pdu.Bind) -> None:
        settings = self._sim.settings
        status = pdu.ESME_ROK
        if self.mode is not None:
            status = pdu.ESME_RALYBND
        elif bind.system_id != settings.system_id or bind.password != settings.password:
            status = pdu.ESME_RBINDFAIL
        tlvs = (pdu.Tlv.u8(pdu.TLV_SC_INTERFACE_VERSION, 0x34),) if status == pdu.ESME_ROK else ()
        self.send(
            pdu.BindResp(
                mode=bind.mode, system_id=settings.smsc_system_id, tlvs=tlvs,
                sequence_number=bind.sequence_number, command_status=status,
            )
        )  # fmt: skip
        if status == pdu.ESME_RBINDFAIL:
            self._sim.counters.bind_failures += 1
            log.warning("bind rejected for system_id %r from %s", bind.system_id, self.peer)
            self._closing = True  # as most SMSCs do: the peer must reconnect to try again
        elif status == pdu.ESME_ROK:
            self._sim.counters.binds += 1
            self.mode, self.system_id = bind.mode, bind.system_id
            log.info("%s bound as %s (%s)", self.peer, bind.mode.name.lower(), bind.system_id)
            self._sim.bound(self)

    def _on_submit(self, submit: pdu.SubmitSm) -> None:
        counters = self._sim.counters
        counters.submits += 1
        if self.mode is None or not self.mode.can_submit:
            counters.refused += 1
            self.send(
                pdu.SubmitSmResp(sequence_number=submit.sequence_number, command_status=pdu.ESME_RINVBNDSTS)
            )
            return
        decision = self._sim.behaviour.decide(submit)
        if not decision.answer:
            counters.unanswered += 1
            return
        if decision.status == pdu.ESME_ROK:
            counters.accepted += 1
        elif decision.status == pdu.ESME_RTHROTTLED:
            counters.throttled += 1
        else:
            counters.refused += 1
        self.send(
            pdu.SubmitSmResp(
                message_id=decision.message_id, sequence_number=submit.sequence_number,
                command_status=decision.status,
            )
        )  # fmt: skip
        if decision.receipt is not None:
            self._sim.schedule_receipt(decision.receipt, self)

    def _nack(self, status: int, sequence: int) -> None:
        self._sim.counters.nacks += 1
        self.send(pdu.GenericNack(command_status=status, sequence_number=sequence))
