"""SMPP channels in the channel contract, against the node-smpp SMSC (``tests/peers/smsc.js``).

Each case starts its own SMSC process (about 0.2 s) and binds before handing the channel over, so
``health().connected`` holds from the start as the contract expects. ``smpp_cases(ChannelCase)``
takes the case class as an argument, so this module never imports the contract module.

- ``smpp-transceiver``: one bind, decimal ids, text receipts; rejects the destinations the contract's
  60-message batch ends with (ESME_RINVDSTADR) and throttles every 7th submit (ESME_RTHROTTLED);
- ``smpp-tx-rx``: a transmitter and a receiver bind, hex ids, receipts with TLVs written before the
  submit_sm_resp and released out of order.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import numpy as np

from adapters.smpp import BindMode, BindState, SmppChannel, SmppSettings
from engine.domain.channel import Channel
from tests.smpp.peer import PASSWORD, NodeSmsc

C = TypeVar("C")
_IDS = itertools.count()

TRANSCEIVER = {"reject_prefixes": ["234803000005"], "throttle_every": 7, "receipt_delay_ms": 10}
TX_RX = {"hex_ids": True, "receipt_tlvs": True, "receipt_before_resp": True, "receipt_out_of_order": True,
         "receipt_batch_ms": 10}  # fmt: skip


def _opener(
    smsc_config: dict[str, Any], mode: BindMode
) -> Callable[[], AbstractAsyncContextManager[Channel]]:
    @asynccontextmanager
    async def open_channel() -> AsyncIterator[Channel]:
        with NodeSmsc(**smsc_config) as smsc:
            settings = SmppSettings(
                host=smsc.host, port=smsc.port, system_id=f"contract{next(_IDS)}", bind_mode=mode,
                throttle_pause_s=0.002, throttle_pause_max_s=0.01, reconnect_min_s=0.05, seed=5,
            )  # fmt: skip
            channel = SmppChannel(f"smpp-{mode.value}", settings, PASSWORD, rng=np.random.default_rng(5))
            try:
                assert await channel.connect(5.0) is BindState.BOUND
                yield channel
            finally:
                await channel.close()

    return open_channel


def smpp_cases(make: Callable[..., C]) -> list[C]:
    """The SMPP cases, built with the contract's ``ChannelCase``."""
    return [
        make(name="smpp-transceiver", open=_opener(TRANSCEIVER, BindMode.TRANSCEIVER), delivers=True,
             rejects=True, throttles=True),
        make(name="smpp-tx-rx", open=_opener(TX_RX, BindMode.TRANSMITTER_RECEIVER), delivers=True,
             rejects=False, throttles=False),
    ]  # fmt: skip
