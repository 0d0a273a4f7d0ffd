"""The simulator against a raw socket: bind failures, keep-alives, stalls, and garbage it must survive."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from adapters.smpp import pdu
from tests.smsc_sim.support import RawEsme, running


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


async def still_serves(port: int) -> None:
    """A fresh client can still bind and submit: the server outlived whatever came before."""
    async with RawEsme.connect(port) as esme:
        assert (await esme.bind()).command_status == pdu.ESME_ROK
        answer = await esme.submit()
        assert isinstance(answer, pdu.SubmitSmResp)
        assert answer.command_status == pdu.ESME_ROK


def test_a_wrong_password_gets_bindfail_and_the_connection_closes() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            answer = await esme.bind(password="wrong")
            assert (answer.command_status, answer.mode) == (pdu.ESME_RBINDFAIL, pdu.BindMode.TRANSCEIVER)
            assert await esme.receive() is None
            await still_serves(sim.port)

    run(main)


def test_a_good_bind_names_the_smsc_and_a_second_bind_is_refused() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            answer = await esme.bind(pdu.BindMode.TRANSMITTER)
            assert (answer.command_status, answer.system_id) == (pdu.ESME_ROK, "A2PSIM")
            assert pdu.find_tlv(answer.tlvs, pdu.TLV_SC_INTERFACE_VERSION) == pdu.Tlv(0x0210, b"\x34")
            assert (await esme.bind()).command_status == pdu.ESME_RALYBND

    run(main)


def test_enquire_link_is_answered_bound_or_not() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            await esme.send(pdu.EnquireLink(sequence_number=41))
            assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=41)
            await esme.bind()
            await esme.send(pdu.EnquireLink(sequence_number=42))
            assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=42)
            assert sim.counters.enquire_links == 2

    run(main)


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        (None, pdu.ESME_RINVBNDSTS),
        (pdu.BindMode.RECEIVER, pdu.ESME_RINVBNDSTS),
        (pdu.BindMode.TRANSMITTER, 0),
    ],
)
def test_submits_need_a_bind_that_can_send(mode: pdu.BindMode | None, status: int) -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            if mode is not None:
                await esme.bind(mode)
            answer = await esme.submit()
            assert isinstance(answer, pdu.SubmitSmResp)
            assert answer.command_status == status

    run(main)


def test_unbind_is_answered_then_the_connection_closes() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            await esme.bind()
            await esme.send(pdu.Unbind(sequence_number=9))
            assert await esme.receive() == pdu.UnbindResp(sequence_number=9)
            assert await esme.receive() is None

    run(main)


def test_stall_binds_and_keeps_alive_but_never_answers_a_submit() -> None:
    async def main() -> None:
        async with running(stall=True) as sim, RawEsme.connect(sim.port) as esme:
            assert (await esme.bind()).command_status == pdu.ESME_ROK
            await esme.send(pdu.SubmitSm(destination_addr="447700900123", sequence_number=2))
            assert await esme.silent(0.3)
            await esme.send(pdu.EnquireLink(sequence_number=3))
            assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=3)
            assert (sim.counters.submits, sim.counters.unanswered) == (1, 1)

    run(main)


def test_a_pdu_written_one_byte_at_a_time_is_answered() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            for byte in pdu.encode(pdu.EnquireLink(sequence_number=5)):
                await esme.write(bytes([byte]))
            assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=5)

    run(main)


def _frame(command_id: int, body: bytes, sequence: int) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (_frame(0x00000103, b"", 11), pdu.ESME_RINVCMDID),  # data_sm: well framed, not served
        (_frame(0x12345678, b"junk", 11), pdu.ESME_RINVCMDID),
        (_frame(pdu.CommandId.DELIVER_SM, bytes(33), 11), pdu.ESME_RINVCMDID),  # an ESME does not send these
        (
            _frame(pdu.CommandId.SUBMIT_SM, b"\x00\x01", 11),
            pdu.ESME_RINVCMDLEN,
        ),  # truncated in source_addr_ton/npi
        (_frame(pdu.CommandId.SUBMIT_SM, b"\x00\x01\x01" + b"9" * 30, 11), pdu.ESME_RINVSRCADR),  # no NUL
        (_frame(pdu.CommandId.ENQUIRE_LINK, b"trailing", 11), pdu.ESME_RINVCMDLEN),
    ],
)
def test_a_bad_pdu_gets_a_generic_nack_and_the_session_goes_on(frame: bytes, status: int) -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            await esme.bind()
            await esme.write(frame)
            assert await esme.receive() == pdu.GenericNack(command_status=status, sequence_number=11)
            answer = await esme.submit()  # the same connection still works
            assert isinstance(answer, pdu.SubmitSmResp)
            assert answer.command_status == pdu.ESME_ROK
            assert sim.counters.nacks == 1

    run(main)


def test_a_bad_response_is_ignored_not_nacked() -> None:
    async def main() -> None:
        async with running() as sim, RawEsme.connect(sim.port) as esme:
            await esme.write(_frame(pdu.CommandId.SUBMIT_SM_RESP, b"no terminating nul", 3))
            await esme.send(pdu.EnquireLink(sequence_number=4))
            assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=4)
            assert sim.counters.nacks == 0

    run(main)


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # command_length 0x47455420: over 64 KiB
        struct.pack(">IIII", 8, 0x15, 0, 12),  # shorter than a header
        b"\xff" * 32,
        b"\x00\x00\x00\x00",
    ],
)
def test_broken_framing_gets_a_nack_then_the_connection_closes_and_the_server_stays_up(
    garbage: bytes,
) -> None:
    async def main() -> None:
        async with running() as sim:
            async with RawEsme.connect(sim.port) as esme:
                await esme.write(garbage)
                answer = await esme.receive()
                assert isinstance(answer, pdu.GenericNack)
                assert answer.command_status == pdu.ESME_RINVCMDLEN
                assert await esme.receive() is None
            assert (sim.counters.framing_errors, sim.counters.nacks) == (1, 1)
            await still_serves(sim.port)

    run(main)


def test_a_peer_that_vanishes_mid_pdu_costs_nothing() -> None:
    async def main() -> None:
        async with running() as sim:
            async with RawEsme.connect(sim.port) as esme:
                await esme.bind()
                await esme.write(pdu.encode(pdu.SubmitSm(destination_addr="447700900123"))[:30])
            await still_serves(sim.port)

    run(main)


def test_an_unbound_connection_is_closed_after_the_session_init_timeout() -> None:
    async def main() -> None:
        async with running(session_init_timeout_s=0.3) as sim, RawEsme.connect(sim.port) as esme:
            for sequence in (1, 2):  # keep-alives do not extend the deadline
                await asyncio.sleep(0.1)
                await esme.send(pdu.EnquireLink(sequence_number=sequence))
                assert await esme.receive() == pdu.EnquireLinkResp(sequence_number=sequence)
            assert await esme.receive(timeout=2.0) is None

    run(main)


def test_stop_closes_connected_clients_and_drops_pending_receipts() -> None:
    async def main() -> None:
        async with running(receipt_delay_median_s=30.0) as sim, RawEsme.connect(sim.port) as esme:
            await esme.bind()
            await esme.submit()
            await sim.stop()
            assert await esme.receive() is None
            assert sim.counters.receipts_dropped == 1

    run(main)
