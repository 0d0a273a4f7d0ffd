"""Message text: GSM-7 / UCS-2 detection and splitting into SMS parts."""

from engine.text.segments import Segmentation, encoding_for, part_count, septet_length, split

__all__ = ["Segmentation", "encoding_for", "part_count", "septet_length", "split"]
