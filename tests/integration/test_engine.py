"""End to end through the live engine: accept, route, submit, receipts, final statuses."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.domain.enums import Lane, MessageStatus
from engine.infra import decision_log
from engine.infra.decision_schema import SCHEMA
from tests.integration.conftest import config, finals, running, statuses, time_ordered, traffic

pytestmark = pytest.mark.usefixtures("ray_session")

TWO_COUNTRIES = """
[[channels]]
id = "fast-a"
preset = "healthy"
receipt_median_s = 0.2
tps = 2000
window = 500

[[channels]]
id = "fast-b"
preset = "healthy"
receipt_median_s = 0.2
missing_rate = 0.05
tps = 2000
window = 500

[[routes]]
country = "NG"
candidates = [
  { channel = "fast-a", price = 0.020, tps = 1000 },
  { channel = "fast-b", price = 0.018, tps = 1000 },
]

[[routes]]
country = "*"
candidates = [
  { channel = "fast-a", price = 0.012 },
  { channel = "fast-b", price = 0.010 },
]
"""


def test_every_message_reaches_a_final_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(config(tmp_path, TWO_COUNTRIES)) as run:
            sent = traffic(["NG", "GB"], 500, list(Lane))
            t0 = time.monotonic()
            await run.engine.accept(sent)
            took = await run.wait_final(len(sent), timeout_s=60)
            print(f"500 messages final in {took:.1f} s (accept {time.monotonic() - t0 - took:.2f} s)")
            ids = [m.id for m in sent]
            records = await run.records(ids)
            histories = await run.histories(ids)
            counters = await run.engine.store.counters()
        assert counters["accepted"] == len(sent)
        assert finals(counters) == len(sent)
        by_status = {r["status"] for r in records}
        assert all(MessageStatus(s).is_final for s in by_status), by_status
        assert {r["lane"] for r in records} == {lane.label for lane in Lane}
        for record in records:
            history = histories[record["id"]]
            assert time_ordered(history), (record["id"], history)
            assert statuses(history)[:2] == ["accepted", "queued"], history
            assert statuses(history)[-1] == record["status"]
            if record["status"] == MessageStatus.DELIVERED:
                assert record["provider_ids"]
                assert record["channel"] in {"fast-a", "fast-b"}
                decision = json.loads(record["decision"])
                assert decision["channel"] == record["channel"]
                assert {name for name, _ in decision["alternatives"]} == {"fast-a", "fast-b"}
                assert statuses(history)[-3:] == ["sending", "sent", "delivered"], history
        delivered = sum(r["status"] == MessageStatus.DELIVERED for r in records)
        assert delivered > 0.8 * len(sent)

    asyncio.run(scenario())


def test_decision_log_has_one_row_per_routed_message(tmp_path: Path) -> None:
    # Every receipt comes, within a second or so: the engine stops right after the last one.
    table = TWO_COUNTRIES.replace("missing_rate = 0.05", "missing_rate = 0.0")

    async def scenario() -> tuple[Path, dict[str, str]]:
        async with running(config(tmp_path, table)) as run:
            sent = traffic(["NG", "GB"], 300, list(Lane), seed=7)
            await run.engine.accept(sent)
            await run.wait_final(len(sent), timeout_s=60)
            records = await run.records([m.id for m in sent])
        return run.data_dir, {r["id"]: r["status"] for r in records}

    data_dir, final = asyncio.run(scenario())  # the engine is stopped: its logs are flushed
    frame = decision_log.load(data_dir / "decision-log")
    assert list(frame.columns) == SCHEMA.names
    assert len(frame) == len(final)
    assert frame["message"].nunique() == len(final)
    assert ((frame["propensity"] > 0) & (frame["propensity"] <= 1)).all()
    assert set(frame["route"].astype(str)) <= {"fast-a", "fast-b"}
    assert set(frame["lane"].astype(str)) == {lane.label for lane in Lane}
    assert {c.split("/")[0] for c in frame["context"].astype(str)} == {"NG", "GB"}
    statuses_now = Counter(final.values())
    assert int(frame["delivered"].sum()) == statuses_now[MessageStatus.DELIVERED], statuses_now
    receipts = (frame["dlr_status"].astype(str) != "none").sum()
    assert receipts == statuses_now[MessageStatus.DELIVERED] + statuses_now[MessageStatus.UNDELIVERED]
    assert (frame["cost"] > 0).all()
