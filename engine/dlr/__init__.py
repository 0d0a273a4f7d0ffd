"""Delivery-receipt processing: correlation, de-duplication, timeouts."""

from engine.dlr.dedup import BitmapReceipts, SeenReceipts

__all__ = ["BitmapReceipts", "SeenReceipts"]
