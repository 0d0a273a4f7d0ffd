"""Delivery-receipt processing: correlation, de-duplication, parking, timeouts."""

from engine.dlr.correlate import Correlation, SentRecord, StatusUpdate, correlate, message_status
from engine.dlr.dedup import BitmapReceipts, SeenReceipts
from engine.dlr.ids import canonical_id, id_forms
from engine.dlr.parking import ParkedReceipts
from engine.dlr.timeouts import expired

__all__ = [
    "BitmapReceipts",
    "Correlation",
    "ParkedReceipts",
    "SeenReceipts",
    "SentRecord",
    "StatusUpdate",
    "canonical_id",
    "correlate",
    "expired",
    "id_forms",
    "message_status",
]
