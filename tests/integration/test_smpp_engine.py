"""The whole path with a real SMPP peer: HTTP API -> router -> SMPP channel actor -> node-smpp SMSC
-> deliver_sm receipt -> status ``delivered``, with a long message sent as parts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.runtime.api_process import api_settings, create_key, running_api
from tests.integration.conftest import config, running
from tests.smpp.peer import PASSWORD, NodeSmsc, free_port

pytestmark = pytest.mark.usefixtures("ray_session")

TABLE = """
[[channels]]
id = "operator"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "a2p-e2e"
password_env = "A2P_E2E_SMSC_PASSWORD"
tps = 500
window = 50

[[routes]]
country = "*"
candidates = [{{ channel = "operator", price = 0.02 }}]
"""


def test_messages_sent_over_http_are_delivered_through_a_real_smsc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2P_E2E_SMSC_PASSWORD", PASSWORD)  # the channel actor inherits it

    async def scenario(smsc: NodeSmsc) -> list[dict[str, Any]]:
        async with running(config(tmp_path, TABLE.format(port=smsc.port))) as run:
            engine = run.engine
            settings = api_settings(
                engine.redis_url, engine.config.namespace, run.data_dir, None, port=free_port()
            )
            key = (await create_key(engine.redis_url, engine.config.namespace, "acme")).token
            with running_api(settings, tmp_path / "api.log"):
                base, auth = f"http://127.0.0.1:{settings.port}", {"Authorization": f"Bearer {key}"}
                async with httpx.AsyncClient(base_url=base, headers=auth) as http:
                    bodies = ["Your code is 123456", "long " * 60]  # the second goes as two parts
                    ids = []
                    for body in bodies:
                        message = {
                            "to": "+2348031234567",
                            "from": "ACME",
                            "body": body,
                            "traffic_type": "otp",
                        }
                        ids.append((await http.post("/v1/messages", json=message)).json()["id"])

                    async def all_delivered() -> bool:
                        got = [(await http.get(f"/v1/messages/{mid}")).json() for mid in ids]
                        return all(m["status"] == "delivered" for m in got)

                    await run.wait_until(all_delivered, 60, "both messages delivered through the SMSC")
                    return [(await http.get(f"/v1/messages/{mid}")).json() for mid in ids]

    with NodeSmsc() as smsc:
        messages = asyncio.run(scenario(smsc))
        stats = smsc.stats()
    assert [m["segments"] for m in messages] == [1, 2]
    assert all(m["routing"]["channel"] == "operator" for m in messages)
    assert [h["status"] for h in messages[1]["history"]][-3:] == ["sending", "sent", "delivered"]
    assert stats["submits"] == 3  # one submit_sm per part, none twice
    assert stats["unbinds"] >= 1  # the engine's stop closed the bind cleanly
