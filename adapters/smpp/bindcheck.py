"""A bind's answer, asked directly: smpp34 reports a refused bind only as a timeout.

smpp34's ``Client.connect`` waits out its whole connect timeout when the SMSC answers a bind with an
error (ESME_RBINDFAIL, ESME_RINVPASWD, ...), so a wrong password would look like an unreachable
SMSC, ten seconds later. Before handing the bind to smpp34 (the first time, and after a failed
attempt) we bind once ourselves over a plain socket, read the command_status, and unbind at once.
The password goes on the wire only; it is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

BIND_IDS = {"TRX": 0x00000009, "TX": 0x00000002, "RX": 0x00000001}
UNBIND = 0x00000006
INTERFACE_VERSION = 0x34
_HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence_number


class BindRejectedError(Exception):
    """The SMSC answered the bind with a non-zero command_status."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"bind rejected with command_status 0x{status:08X}")


def _cstring(value: str, limit: int) -> bytes:
    return value.encode("latin-1", errors="replace")[: limit - 1] + b"\x00"


def bind_pdu(bind_type: str, system_id: str, password: str, system_type: str, sequence: int = 1) -> bytes:
    """A bind_transceiver / _transmitter / _receiver PDU (SMPP 3.4 section 4.1).

    >>> pdu = bind_pdu("TRX", "esme", "pw", "")
    >>> len(pdu), pdu[4:8].hex(), pdu[16:]
    (29, '00000009', b'esme\\x00pw\\x00\\x004\\x00\\x00\\x00')
    """
    body = (
        _cstring(system_id, 16)
        + _cstring(password, 9)
        + _cstring(system_type, 13)
        + bytes([INTERFACE_VERSION, 0, 0])  # interface_version, addr_ton, addr_npi
        + b"\x00"  # address_range: empty
    )
    return _HEADER.pack(_HEADER.size + len(body), BIND_IDS[bind_type], 0, sequence) + body


async def _read_pdu(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(command_id, command_status) of the next PDU; its body is skipped."""
    length, command_id, status, _ = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if length > _HEADER.size:
        await reader.readexactly(min(length, 4096) - _HEADER.size)
    return command_id, status


async def check_bind(
    host: str, port: int, *, bind_type: str, system_id: str, password: str, system_type: str, timeout_s: float
) -> None:
    """Return if the SMSC accepts the bind; raise :class:`BindRejectedError` if it refuses it.

    Connection problems raise ``OSError`` / ``TimeoutError`` / ``asyncio.IncompleteReadError``, as a
    plain connect would.
    """
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    try:
        writer.write(bind_pdu(bind_type, system_id, password, system_type))
        await writer.drain()
        while True:
            command_id, status = await asyncio.wait_for(_read_pdu(reader), timeout_s)
            if command_id == BIND_IDS[bind_type] | 0x80000000 or command_id == 0x80000000:
                break  # the bind's response, or a generic_nack refusing it
        if status != 0:
            raise BindRejectedError(status)
        writer.write(_HEADER.pack(_HEADER.size, UNBIND, 0, 2))
        with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
            await writer.drain()
            await asyncio.wait_for(_read_pdu(reader), min(timeout_s, 1.0))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
