"""The SMPP channel against a real SMPP stack written by others: node-smpp's server (tests/peers)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from adapters.smpp import BindMode, BindState
from engine.domain.messages import ReceiptStatus
from tests.smpp.helpers import channel, collect, messages, until
from tests.smpp.peer import NodeSmsc


def test_bind_submit_and_delivered_receipts_by_id(smsc: NodeSmsc, system_id: str) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id)
        assert await ch.connect() is BindState.BOUND
        results = await ch.submit(messages(20))
        assert [r.message_id for r in results] == [f"m{i}" for i in range(20)]
        ids = [r.provider_id or "" for r in results]
        assert all(r.accepted for r in results)
        assert len(set(ids)) == 20
        receipts = await collect(ch, 20)
        assert sorted(r.provider_id for r in receipts) == sorted(ids)
        assert {r.status for r in receipts} == {ReceiptStatus.DELIVERED}
        assert all(r.raw.startswith(f"id:{r.provider_id} ") and r.channel == "smpp-test" for r in receipts)
        assert ch.health().receipts == 20
        assert ch.health().bad_receipts == 0
        await ch.close()

    asyncio.run(main())


def test_undelivered_and_12_digit_dates_come_through(smsc: NodeSmsc, system_id: str) -> None:
    smsc.set(stat_by_prefix={"234803000001": "UNDELIV", "234803000002": "EXPIRED"}, date_digits=12)

    async def main() -> None:
        ch = channel(smsc, system_id)
        results = await ch.submit(messages(30))
        status = {r.provider_id: (r.status, r.error_code) for r in await collect(ch, 30)}
        by_message = [status[r.provider_id or ""] for r in results]
        assert by_message[:10] == [(ReceiptStatus.DELIVERED, None)] * 10
        assert by_message[10:20] == [(ReceiptStatus.UNDELIVERED, "001")] * 10
        assert by_message[20:] == [(ReceiptStatus.EXPIRED, "001")] * 10
        await ch.close()

    asyncio.run(main())


def test_transmitter_receiver_binds_hex_ids_and_tlvs_that_win(smsc: NodeSmsc, system_id: str) -> None:
    smsc.set(
        hex_ids=True, receipt_tlvs=True, receipt_tlv_id_differs=True, stat_by_prefix={"2348030000": "DELIVRD"}
    )

    async def main() -> None:
        ch = channel(smsc, system_id, bind_mode=BindMode.TRANSMITTER_RECEIVER)
        assert await ch.connect() is BindState.BOUND
        assert [s.bind_type for s in ch.sessions] == ["TX", "RX"]
        results = await ch.submit(messages(10))
        ids = {r.provider_id or "" for r in results}
        assert all(set(i) <= set("0123456789ABCDEF") for i in ids)
        assert any(set(i) & set("ABCDEF") for i in ids)
        receipts = await collect(ch, 10)
        assert {r.provider_id for r in receipts} == ids  # the text says "X<id>", the TLV wins
        assert all("id:X" in r.raw for r in receipts)
        assert await until(lambda: smsc.stats()["receipts_acked"] == 10)
        assert smsc.stats()["binds"] == 4  # a bind check and a bind for each of TX and RX
        await ch.close()

    asyncio.run(main())


def test_receipts_out_of_order_and_before_the_submit_resp_are_correlated(
    smsc: NodeSmsc, system_id: str
) -> None:
    smsc.set(receipt_out_of_order=True, receipt_before_resp=True)

    async def main() -> None:
        ch = channel(smsc, system_id)
        results = await ch.submit(messages(40))
        receipts = await collect(ch, 40)
        assert len(receipts) == 40
        assert {r.provider_id for r in receipts} == {r.provider_id for r in results}
        await ch.close()

    asyncio.run(main())


def test_throttling_gives_throttled_errors_and_slows_the_session(smsc: NodeSmsc, system_id: str) -> None:
    smsc.set(throttle_every=4, queue_full_every=0)

    async def main() -> None:
        ch = channel(smsc, system_id, window=1, throttle_pause_s=0.02, throttle_pause_max_s=0.05)
        started = time.monotonic()
        results = await ch.submit(messages(40))
        elapsed = time.monotonic() - started
        errors = [r.error for r in results if r.error is not None]
        assert len(errors) == 10
        assert sum(r.accepted for r in results) == 30
        assert all(e.throttled and not e.permanent and not e.outcome_unknown for e in errors)
        assert {(e.code, e.raw) for e in errors} == {("ESME_RTHROTTLED", "0x00000058")}
        assert ch.throttles == 10
        assert elapsed >= 0.02 * 10  # each throttle paused the next write
        await ch.close()

    asyncio.run(main())


def test_queue_full_is_a_throttle_too(smsc: NodeSmsc, system_id: str) -> None:
    smsc.set(queue_full_every=5)

    async def main() -> None:
        ch = channel(smsc, system_id)
        errors = [r.error for r in await ch.submit(messages(20)) if r.error is not None]
        assert errors
        assert all(e.throttled and e.code == "ESME_RMSGQFUL" for e in errors)
        await ch.close()

    asyncio.run(main())


def test_rejected_destination_is_permanent(smsc: NodeSmsc, system_id: str) -> None:
    smsc.set(reject_prefixes=["234803000001"])

    async def main() -> None:
        ch = channel(smsc, system_id)
        results = await ch.submit(messages(12))
        rejected = {r.message_id: r.error for r in results if r.error is not None}
        assert sorted(rejected) == ["m10", "m11"]
        assert all(
            e.permanent and e.code == "ESME_RINVDSTADR" and e.raw == "0x0000000B" for e in rejected.values()
        )
        await ch.close()

    asyncio.run(main())


def test_wrong_password_is_a_bind_rejection_at_once_and_not_retried_hot(
    smsc: NodeSmsc, system_id: str
) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id, password="wrong", bind_rejected_backoff_s=30.0)
        started = time.monotonic()
        results = await ch.submit(messages(3))
        assert time.monotonic() - started < 2.0
        assert {(r.error.code, r.error.raw) for r in results if r.error} == {("bind_rejected", "0x0000000D")}
        assert not any(
            r.accepted or (r.error and (r.error.permanent or r.error.outcome_unknown)) for r in results
        )
        assert ch.state() is BindState.BIND_REJECTED
        assert not ch.health().connected
        assert "ESME_RBINDFAIL" in ch.transmitter.last_error
        assert "wrong" not in ch.transmitter.last_error
        await asyncio.sleep(0.3)
        assert smsc.stats()["bind_failures"] == 1  # the long pause: no hammering
        await ch.close()

    asyncio.run(main())


def test_disconnect_mid_burst_loses_and_duplicates_nothing_and_rebinds(
    smsc: NodeSmsc, system_id: str
) -> None:
    smsc.set(drop_after=60, track_bodies=True, receipt_delay_ms=50)

    async def main() -> None:
        ch = channel(smsc, system_id, window=20)
        burst = messages(150, body="burst {i:04d}")
        results = await ch.submit(burst)
        kinds = Counter(
            "accepted" if r.accepted else "unknown" if r.error and r.error.outcome_unknown else
            "retryable" if r.error and not r.error.permanent else "other"
            for r in results
        )  # fmt: skip
        # Unknown: only what was in flight (the window) when the connection went; what waited
        # behind the window went on the next bind.
        assert kinds["other"] == 0
        assert 1 <= kinds["unknown"] <= 20
        assert kinds["accepted"] >= 130
        assert sum(kinds.values()) == 150
        unknown = [r for r in results if r.error and r.error.outcome_unknown]
        assert {r.error.code for r in unknown if r.error} <= {"connection_lost", "response_timeout"}
        accepted_ids = [r.provider_id for r in results if r.accepted]
        assert len(set(accepted_ids)) == len(accepted_ids)
        stats = smsc.stats()
        assert max(stats["bodies"].values()) == 1  # nothing reached the SMSC twice
        # The SMSC took every accepted message once, and some of the unknown ones: their answers
        # were lost with the connection. Those are exactly why "unknown" is never resent.
        assert len(accepted_ids) <= stats["accepted"] <= len(accepted_ids) + len(unknown)
        assert await until(lambda: ch.health().connected)
        assert ch.transmitter.binds == 2
        assert ch.transmitter.disconnects == 1
        later = await ch.submit(messages(10, prefix="after"))
        assert all(r.accepted for r in later)
        expected = set(accepted_ids) | {r.provider_id for r in later}
        receipts = await collect(ch, stats["accepted"] + 10)
        assert expected <= {r.provider_id for r in receipts}  # those held over the drop came too
        assert len(receipts) == stats["accepted"] + 10
        await ch.close()

    asyncio.run(main())


def test_messages_waiting_for_the_window_when_the_bind_is_lost_are_not_sent(
    smsc: NodeSmsc, system_id: str
) -> None:
    smsc.set(drop_after=5)

    async def main() -> None:
        ch = channel(smsc, system_id, window=2, submit_wait_s=0.0, reconnect_min_s=1.0, reconnect_max_s=1.0)
        assert await ch.connect(5.0) is BindState.BOUND
        results = await ch.submit(messages(30))
        codes = Counter(r.error.code if r.error else "accepted" for r in results)
        assert codes["accepted"] == 4
        assert codes["not_connected"] >= 20
        assert codes["connection_lost"] >= 1
        not_sent = [r.error for r in results if r.error and r.error.code == "not_connected"]
        assert all(not e.permanent and not e.outcome_unknown and not e.throttled for e in not_sent)
        assert smsc.stats()["submits"] <= 4 + 2  # the window: at most two were in flight at the drop
        await ch.close()

    asyncio.run(main())


def test_response_timeout_is_an_unknown_outcome_and_a_silent_session_is_rebound(
    smsc: NodeSmsc, system_id: str
) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id, response_timeout_s=0.3)
        assert await ch.connect() is BindState.BOUND
        smsc.set(stall=True)
        started = time.monotonic()
        results = await ch.submit(messages(3))
        assert 0.25 < time.monotonic() - started < 2.0
        assert all(
            r.error and r.error.code == "response_timeout" and r.error.outcome_unknown for r in results
        )
        smsc.set(stall=False)
        assert await until(lambda: ch.transmitter.binds == 2)  # nothing answered for 0.3 s: rebound
        assert all(r.accepted for r in await ch.submit(messages(3, prefix="again")))
        await ch.close()

    asyncio.run(main())


def test_long_messages_one_id_and_one_receipt_per_part(smsc: NodeSmsc, system_id: str) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id)
        gsm = "G" * 152 + "€" + "g" * 200  # 356 septets: 3 parts, the € starts part 2
        ucs2 = "Ж" * 66 + "😀" + "ж" * 10  # 78 UTF-16 units: 2 parts, the emoji starts part 2
        results = await ch.submit(messages(1, prefix="gsm", body=gsm) + messages(1, prefix="ucs", body=ucs2))
        assert [len((r.provider_id or "").split(",")) for r in results] == [3, 2]
        parts = {p["id"]: p for p in smsc.stats()["parts"]}
        gsm_ids, ucs_ids = ((r.provider_id or "").split(",") for r in results)
        assert [parts[i]["data_coding"] for i in gsm_ids] == [0, 0, 0]
        assert [parts[i]["data_coding"] for i in ucs_ids] == [8, 8]
        # node-smpp shows the UDH's IEs without the length octet: IEI 00, length 03, ref, total, seq
        refs = {parts[i]["udh"][:6] for i in gsm_ids}
        assert len(refs) == 1
        assert [parts[i]["udh"][6:] for i in gsm_ids] == ["0301", "0302", "0303"]
        receipts = await collect(ch, 5)
        assert sorted(r.provider_id for r in receipts) == sorted(gsm_ids + ucs_ids)
        await ch.close()

    asyncio.run(main())


def test_garbage_receipts_are_counted_answered_and_harmless(
    smsc: NodeSmsc, system_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    smsc.set(garbage_every=2)

    async def main() -> None:
        ch = channel(smsc, system_id)
        results = await ch.submit(messages(10))
        receipts = await collect(ch, 10)
        assert {r.provider_id for r in receipts} == {r.provider_id for r in results}
        smsc.deliver(b"\xff\xfe\x00 total nonsense", system_id=system_id)
        smsc.deliver("id:77 stat:WHATEVER", system_id=system_id)
        assert await until(lambda: ch.health().bad_receipts == 5 + 2)
        assert await until(lambda: smsc.stats()["delivers_acked"] == 2)
        stats = smsc.stats()
        assert stats["garbage_acked"] == stats["garbage_sent"] == 5  # every deliver_sm was answered
        assert ch.health().connected
        await ch.close()

    asyncio.run(main())
    assert "unparseable receipt 'id:77 stat:WHATEVER'" in caplog.text


def test_close_unbinds_cleanly_and_refuses_afterwards(smsc: NodeSmsc, system_id: str) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id)
        assert all(r.accepted for r in await ch.submit(messages(3)))
        await ch.close()
        await ch.close()
        assert await until(lambda: smsc.stats()["unbinds"] >= 2)  # the bind check's and ours
        assert ch.state() is BindState.CLOSED
        assert not ch.health().connected
        after = await ch.submit(messages(2, prefix="late"))
        assert [r.error.code if r.error else None for r in after] == ["channel_closed"] * 2
        assert await ch.receipts(10, 1.0) == []

    asyncio.run(main())


def test_lazy_bind_on_first_use_and_reconnect_after_the_smsc_drops_us(smsc: NodeSmsc, system_id: str) -> None:
    async def main() -> None:
        ch = channel(smsc, system_id)
        assert ch.state() is BindState.IDLE
        assert smsc.stats()["binds"] == 0
        assert all(r.accepted for r in await ch.submit(messages(2)))
        smsc.drop()
        assert await until(lambda: ch.transmitter.disconnects == 1 and ch.health().connected)
        assert all(r.accepted for r in await ch.submit(messages(2, prefix="b")))
        assert smsc.stats()["binds"] == 3  # check, bind, rebind (credentials known good: no check)
        await ch.close()

    asyncio.run(main())
