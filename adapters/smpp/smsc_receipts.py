"""Delivery receipts as an SMSC writes them: the de-facto standard text plus the SMPP 3.4 TLVs.

>>> submit = SubmitSm(source_addr="ACME", destination_addr="447700900123", short_message=b"Your code is 1234")
>>> planned = PlannedReceipt("42", "42", delivered=True, submitted_at=0.0, delay_s=1.0,
...                          text=message_text(submit), submit=submit)
>>> print(receipt_text(planned, done_at=60.0))  # doctest: +NORMALIZE_WHITESPACE
id:42 sub:001 dlvrd:001 submit date:7001010000 done date:7001010001 stat:DELIVRD err:000
text:Your code is 1234
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from adapters.smpp.pdu import (
    ESME_RINVESMCLASS,
    TLV_MESSAGE_PAYLOAD,
    TLV_MESSAGE_STATE,
    TLV_RECEIPTED_MESSAGE_ID,
    DeliverSm,
    MessageState,
    PduError,
    SubmitSm,
    Tlv,
    find_tlv,
)

ESM_CLASS_RECEIPT = 0x04  # SMSC delivery receipt (message type bits 2-5)
ESM_CLASS_UDHI = 0x40  # short_message starts with a user data header
DATA_CODING_UCS2 = 0x08
TEXT_LENGTH = 20  # the receipt's text: field quotes the first 20 characters


@dataclass(frozen=True, slots=True)
class PlannedReceipt:
    """A receipt decided at submit time and sent ``delay_s`` later.

    ``message_id`` is the submit_sm_resp id (and the receipted_message_id TLV); ``text_id`` is the id as
    the receipt text spells it, possibly in another base.
    """

    message_id: str
    text_id: str
    delivered: bool
    submitted_at: float
    delay_s: float
    text: str
    submit: SubmitSm


def message_text(submit: SubmitSm) -> str:
    """The text of one part, without its UDH, as printable ASCII for the receipt's text: field.

    Raises PduError (ESME_RINVESMCLASS) when esm_class announces a UDH that does not fit.
    """
    payload = find_tlv(submit.tlvs, TLV_MESSAGE_PAYLOAD)
    data = payload.value if payload is not None else submit.short_message
    if submit.esm_class & ESM_CLASS_UDHI:
        if not data or data[0] + 1 > len(data):
            raise PduError("esm_class 0x40 but no user data header fits the message", ESME_RINVESMCLASS)
        data = data[data[0] + 1 :]
    if submit.data_coding == DATA_CODING_UCS2:
        text = data.decode("utf-16-be", errors="replace")
    else:
        text = data.decode("latin-1")  # unpacked GSM-7 and ASCII agree on letters and digits
    # A receipt is read by parsers that split on spaces and colons; keep it one printable line.
    return "".join(char if " " <= char <= "~" else "?" for char in text[:TEXT_LENGTH])


def receipt_text(planned: PlannedReceipt, done_at: float) -> str:
    delivered = "001" if planned.delivered else "000"
    stat, err = ("DELIVRD", "000") if planned.delivered else ("UNDELIV", "001")
    return (
        f"id:{planned.text_id} sub:001 dlvrd:{delivered} submit date:{_date(planned.submitted_at)} "
        f"done date:{_date(done_at)} stat:{stat} err:{err} text:{planned.text}"
    )


def build_receipt(planned: PlannedReceipt, done_at: float, sequence_number: int) -> DeliverSm:
    """The deliver_sm carrying a receipt: addresses swapped back to the submitter, esm_class 0x04."""
    submit = planned.submit
    state = MessageState.DELIVERED if planned.delivered else MessageState.UNDELIVERABLE
    return DeliverSm(
        source_addr_ton=submit.dest_addr_ton,
        source_addr_npi=submit.dest_addr_npi,
        source_addr=submit.destination_addr,
        dest_addr_ton=submit.source_addr_ton,
        dest_addr_npi=submit.source_addr_npi,
        destination_addr=submit.source_addr,
        esm_class=ESM_CLASS_RECEIPT,
        short_message=receipt_text(planned, done_at).encode("ascii"),
        tlvs=(Tlv.cstring(TLV_RECEIPTED_MESSAGE_ID, planned.message_id), Tlv.u8(TLV_MESSAGE_STATE, state)),
        sequence_number=sequence_number,
    )


def _date(at: float) -> str:
    # YYMMDDhhmm in UTC: the 10-digit form most SMSCs send (some add seconds; parsers must cope).
    return time.strftime("%y%m%d%H%M", time.gmtime(at))
