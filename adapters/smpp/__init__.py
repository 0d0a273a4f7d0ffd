"""SMPP 3.4 channels (ESME side) over the ``smpp34`` library, with our own session layer.

Modules: :mod:`~adapters.smpp.settings` (options), :mod:`~adapters.smpp.session` (one bind kept
alive), :mod:`~adapters.smpp.channel` (the Channel), :mod:`~adapters.smpp.status` (command_status
table), :mod:`~adapters.smpp.udh` (parts and concatenation), :mod:`~adapters.smpp.receipts`
(receipt parser), :mod:`~adapters.smpp.bindcheck` (a refused bind, told at once),
:mod:`~adapters.smpp.pacing` (backoff and throttling pauses), :mod:`~adapters.smpp.nodelay`
(TCP_NODELAY on smpp34's socket), :mod:`~adapters.smpp.config` (``check`` / ``build`` for the runtime).

What smpp34 1.5 does not do, or does in a way that needed a layer here (found while building this):
a refused bind is a 10 s timeout; no window enforcement, reconnect, receipt parsing or
segmentation; Nagle left on (5 ms per submit once receipts interleave); a full inbound queue
wedges the session instead of NAKing (so its capacity is set far above any window); ``stop()``
does not wake a pending ``next()``; a short_message over 254 octets panics the Rust core; a lost
connection and a dead session both surface as ``SmppError('ESME_RSYSERR')``; its response timer
(30 s) and enquire_link timer are not configurable from Python.
"""

from adapters.smpp.channel import SmppChannel
from adapters.smpp.session import BindState
from adapters.smpp.settings import BindMode, SmppSettings

__all__ = ["BindMode", "BindState", "SmppChannel", "SmppSettings"]
