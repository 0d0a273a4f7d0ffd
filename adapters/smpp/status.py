"""SMPP command_status values mapped to :class:`~engine.domain.messages.ChannelError`.

The table is SMPP 3.4's (section 5.1.3) plus the 0x100-0x112 codes SMPP 5.0 added, which SMSCs
that speak 3.4 on the wire send anyway. What each status means for a *submit*:

- ``throttled``: the SMSC wants us slower (0x58, 0x14); the message was not taken, retry later;
- ``permanent``: the message itself is at fault (an invalid destination, a receiver that refuses it
  for good); another channel would refuse it too, so it is not failed over;
- anything else: this channel could not take it now (a bind or configuration problem, a system
  error); another channel may, so the dispatcher fails it over.

Reserved and vendor-specific codes (0x400-0x4FF) are not the message's fault as far as we know:
retryable operator errors under a stable code.

>>> channel_error(0x58).throttled, channel_error(0x0B).permanent, channel_error(0x0B).raw
(True, True, '0x0000000B')
>>> channel_error(0x0450).code
'ESME_VENDOR_SPECIFIC'
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.enums import ErrorClass
from engine.domain.messages import ChannelError

OK = 0x00000000
THROTTLED = 0x00000058
QUEUE_FULL = 0x00000014
VENDOR_RANGE = range(0x00000400, 0x00000500)

_H, _O, _N, _P, _Y = (ErrorClass.HANDSET, ErrorClass.OPERATOR, ErrorClass.NETWORK, ErrorClass.PLATFORM,
                      ErrorClass.POLICY)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Status:
    value: int
    name: str
    meaning: str
    error_class: ErrorClass
    permanent: bool = False
    throttled: bool = False


# fmt: off
_TABLE = (
    Status(0x000, "ESME_ROK", "No error", _O),
    Status(0x001, "ESME_RINVMSGLEN", "Message length is invalid", _P),
    Status(0x002, "ESME_RINVCMDLEN", "Command length is invalid", _P),
    Status(0x003, "ESME_RINVCMDID", "Invalid command ID", _P),
    Status(0x004, "ESME_RINVBNDSTS", "Incorrect bind status for given command", _P),
    Status(0x005, "ESME_RALYBND", "ESME already in bound state", _P),
    Status(0x006, "ESME_RINVPRTFLG", "Invalid priority flag", _P),
    Status(0x007, "ESME_RINVREGDLVFLG", "Invalid registered delivery flag", _P),
    Status(0x008, "ESME_RSYSERR", "System error", _O),
    Status(0x00A, "ESME_RINVSRCADR", "Invalid source address", _Y),
    Status(0x00B, "ESME_RINVDSTADR", "Invalid destination address", _H, permanent=True),
    Status(0x00C, "ESME_RINVMSGID", "Message ID is invalid", _P),
    Status(0x00D, "ESME_RBINDFAIL", "Bind failed", _P),
    Status(0x00E, "ESME_RINVPASWD", "Invalid password", _P),
    Status(0x00F, "ESME_RINVSYSID", "Invalid system ID", _P),
    Status(0x011, "ESME_RCANCELFAIL", "cancel_sm failed", _O),
    Status(0x013, "ESME_RREPLACEFAIL", "replace_sm failed", _O),
    Status(0x014, "ESME_RMSGQFUL", "Message queue full", _O, throttled=True),
    Status(0x015, "ESME_RINVSERTYP", "Invalid service type", _P),
    Status(0x033, "ESME_RINVNUMDESTS", "Invalid number of destinations", _P),
    Status(0x034, "ESME_RINVDLNAME", "Invalid distribution list name", _P),
    Status(0x040, "ESME_RINVDESTFLAG", "Destination flag is invalid (submit_multi)", _P),
    Status(0x042, "ESME_RINVSUBREP", "Invalid 'submit with replace' request", _P),
    Status(0x043, "ESME_RINVESMCLASS", "Invalid esm_class field data", _P),
    Status(0x044, "ESME_RCNTSUBDL", "Cannot submit to distribution list", _P),
    Status(0x045, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed", _O),
    Status(0x048, "ESME_RINVSRCTON", "Invalid source address TON", _P),
    Status(0x049, "ESME_RINVSRCNPI", "Invalid source address NPI", _P),
    Status(0x050, "ESME_RINVDSTTON", "Invalid destination address TON", _P),
    Status(0x051, "ESME_RINVDSTNPI", "Invalid destination address NPI", _P),
    Status(0x053, "ESME_RINVSYSTYP", "Invalid system_type field", _P),
    Status(0x054, "ESME_RINVREPFLAG", "Invalid replace_if_present flag", _P),
    Status(0x055, "ESME_RINVNUMMSGS", "Invalid number of messages", _P),
    Status(0x058, "ESME_RTHROTTLED", "Throttling error: ESME exceeded allowed message limits", _O,
           throttled=True),
    Status(0x061, "ESME_RINVSCHED", "Invalid scheduled delivery time", _P),
    Status(0x062, "ESME_RINVEXPIRY", "Invalid message validity period (expiry time)", _P),
    Status(0x063, "ESME_RINVDFTMSGID", "Predefined message invalid or not found", _P),
    Status(0x064, "ESME_RX_T_APPN", "ESME receiver temporary app error", _H),
    Status(0x065, "ESME_RX_P_APPN", "ESME receiver permanent app error", _H, permanent=True),
    Status(0x066, "ESME_RX_R_APPN", "ESME receiver reject message error", _H, permanent=True),
    Status(0x067, "ESME_RQUERYFAIL", "query_sm request failed", _O),
    Status(0x0C0, "ESME_RINVOPTPARSTREAM", "Error in the optional part of the PDU body", _P),
    Status(0x0C1, "ESME_ROPTPARNOTALLWD", "Optional parameter not allowed", _P),
    Status(0x0C2, "ESME_RINVPARLEN", "Invalid parameter length", _P),
    Status(0x0C3, "ESME_RMISSINGOPTPARAM", "Expected optional parameter missing", _P),
    Status(0x0C4, "ESME_RINVOPTPARAMVAL", "Invalid optional parameter value", _P),
    Status(0x0FE, "ESME_RDELIVERYFAILURE", "Delivery failure (data_sm_resp)", _N),
    Status(0x0FF, "ESME_RUNKNOWNERR", "Unknown error", _O),
    # SMPP 5.0 additions, seen from SMSCs that otherwise speak 3.4.
    Status(0x100, "ESME_RSERTYPUNAUTH", "ESME not authorised to use specified service_type", _Y),
    Status(0x101, "ESME_RPROHIBITED", "ESME prohibited from using specified operation", _Y),
    Status(0x102, "ESME_RSERTYPUNAVAIL", "Specified service_type is unavailable", _O),
    Status(0x103, "ESME_RSERTYPDENIED", "Specified service_type is denied", _Y),
    Status(0x104, "ESME_RINVDCS", "Invalid data coding scheme", _P),
    Status(0x105, "ESME_RINVSRCADDRSUBUNIT", "Source address subunit is invalid", _P),
    Status(0x106, "ESME_RINVDSTADDRSUBUNIT", "Destination address subunit is invalid", _P),
    Status(0x107, "ESME_RINVBCASTFREQINT", "Broadcast frequency interval is invalid", _P),
    Status(0x108, "ESME_RINVBCASTALIAS_NAME", "Broadcast alias name is invalid", _P),
    Status(0x109, "ESME_RINVBCASTAREAFMT", "Broadcast area format is invalid", _P),
    Status(0x10A, "ESME_RINVNUMBCAST_AREAS", "Number of broadcast areas is invalid", _P),
    Status(0x10B, "ESME_RINVBCASTCNTTYPE", "Broadcast content type is invalid", _P),
    Status(0x10C, "ESME_RINVBCASTMSGCLASS", "Broadcast message class is invalid", _P),
    Status(0x10D, "ESME_RBCASTFAIL", "broadcast_sm operation failed", _O),
    Status(0x10E, "ESME_RBCASTQUERYFAIL", "query_broadcast_sm operation failed", _O),
    Status(0x10F, "ESME_RBCASTCANCELFAIL", "cancel_broadcast_sm operation failed", _O),
    Status(0x110, "ESME_RINVBCAST_REP", "Number of repeated broadcasts is invalid", _P),
    Status(0x111, "ESME_RINVBCASTSRVGRP", "Broadcast service group is invalid", _P),
    Status(0x112, "ESME_RINVBCASTCHANIND", "Broadcast channel indicator is invalid", _P),
)
# fmt: on

STATUSES: dict[int, Status] = {s.value: s for s in _TABLE}
BIND_REJECTIONS = frozenset({0x00D, 0x00E, 0x00F, 0x053, 0x005})  # what a refused bind answers


def status_name(value: int) -> str:
    """The ESME_ name of a command_status, or a stable name for reserved and vendor codes.

    >>> status_name(0x0E), status_name(0x09), status_name(0x401)
    ('ESME_RINVPASWD', 'ESME_RESERVED', 'ESME_VENDOR_SPECIFIC')
    """
    known = STATUSES.get(value)
    if known is not None:
        return known.name
    return "ESME_VENDOR_SPECIFIC" if value in VENDOR_RANGE else "ESME_RESERVED"


def raw(value: int) -> str:
    return f"0x{value & 0xFFFFFFFF:08X}"


def channel_error(value: int) -> ChannelError:
    """The error a submit answered with ``value`` maps to. ``ESME_ROK`` is not an error."""
    if value == OK:
        raise ValueError("ESME_ROK (0x00000000) is success, not an error")
    known = STATUSES.get(value)
    if known is None:
        return ChannelError(status_name(value), raw(value), ErrorClass.OPERATOR)
    return ChannelError(known.name, raw(value), known.error_class, known.permanent, known.throttled)
