"""The command_status table against the SMPP 3.4 specification's own list (section 5.1.3), plus 5.0's."""

from __future__ import annotations

import pytest

from adapters.smpp.status import STATUSES, channel_error, raw, status_name
from engine.domain.enums import ErrorClass

# Transcribed from the specification, independently of the module under test.
SPEC_34 = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND", 0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG",
    0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x11: "ESME_RCANCELFAIL",
    0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL", 0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS",
    0x34: "ESME_RINVDLNAME", 0x40: "ESME_RINVDESTFLAG", 0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI", 0x53: "ESME_RINVSYSTYP", 0x54: "ESME_RINVREPFLAG",
    0x55: "ESME_RINVNUMMSGS", 0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN", 0x66: "ESME_RX_R_APPN",
    0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM", 0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM", 0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}  # fmt: skip
SPEC_50_ADDITIONS = {
    0x100: "ESME_RSERTYPUNAUTH", 0x101: "ESME_RPROHIBITED", 0x102: "ESME_RSERTYPUNAVAIL",
    0x103: "ESME_RSERTYPDENIED", 0x104: "ESME_RINVDCS", 0x105: "ESME_RINVSRCADDRSUBUNIT",
    0x106: "ESME_RINVDSTADDRSUBUNIT", 0x107: "ESME_RINVBCASTFREQINT", 0x108: "ESME_RINVBCASTALIAS_NAME",
    0x109: "ESME_RINVBCASTAREAFMT", 0x10A: "ESME_RINVNUMBCAST_AREAS", 0x10B: "ESME_RINVBCASTCNTTYPE",
    0x10C: "ESME_RINVBCASTMSGCLASS", 0x10D: "ESME_RBCASTFAIL", 0x10E: "ESME_RBCASTQUERYFAIL",
    0x10F: "ESME_RBCASTCANCELFAIL", 0x110: "ESME_RINVBCAST_REP", 0x111: "ESME_RINVBCASTSRVGRP",
    0x112: "ESME_RINVBCASTCHANIND",
}  # fmt: skip
SPEC = SPEC_34 | SPEC_50_ADDITIONS


def test_every_code_of_the_spec_table_is_mapped_under_its_name() -> None:
    assert {value: s.name for value, s in STATUSES.items()} == SPEC


@pytest.mark.parametrize("value", sorted(set(SPEC) - {0}))
def test_each_error_carries_its_name_raw_code_and_class(value: int) -> None:
    error = channel_error(value)
    assert error.code == SPEC[value]
    assert error.raw == f"0x{value:08X}"
    assert len(error.raw) == 10
    assert isinstance(error.error_class, ErrorClass)
    assert not (error.permanent and error.throttled)
    assert not error.outcome_unknown  # an answer came: the outcome is known


def test_only_throttling_and_queue_full_are_throttles() -> None:
    assert {v for v in SPEC if v and channel_error(v).throttled} == {0x14, 0x58}


def test_only_the_messages_own_faults_are_permanent() -> None:
    assert {SPEC[v] for v in SPEC if v and channel_error(v).permanent} == {
        "ESME_RINVDSTADR", "ESME_RX_P_APPN", "ESME_RX_R_APPN",
    }  # fmt: skip


def test_bind_and_configuration_errors_are_the_platforms_and_fail_over() -> None:
    for value in (0x0D, 0x0E, 0x0F, 0x04, 0x48, 0x50, 0x104):
        error = channel_error(value)
        assert error.error_class is ErrorClass.PLATFORM
        assert not error.permanent


@pytest.mark.parametrize(
    ("value", "code"),
    [(0x09, "ESME_RESERVED"), (0x16, "ESME_RESERVED"), (0x68, "ESME_RESERVED"), (0xFD, "ESME_RESERVED"),
     (0x113, "ESME_RESERVED"), (0x3FF, "ESME_RESERVED"), (0x400, "ESME_VENDOR_SPECIFIC"),
     (0x4FF, "ESME_VENDOR_SPECIFIC"), (0x500, "ESME_RESERVED"), (0xFFFFFFFF, "ESME_RESERVED")],
)  # fmt: skip
def test_unknown_and_vendor_codes_get_a_sane_retryable_default(value: int, code: str) -> None:
    error = channel_error(value)
    assert (error.code, error.raw) == (code, raw(value))
    assert error.error_class is ErrorClass.OPERATOR
    assert not (error.permanent)
    assert not (error.throttled)
    assert not (error.outcome_unknown)
    assert status_name(value) == code


def test_rok_is_not_an_error() -> None:
    with pytest.raises(ValueError, match="success"):
        channel_error(0)
