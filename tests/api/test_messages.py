"""Sending, reading, listing, idempotency, scheduling and tenant isolation, over real HTTP."""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api

NG = "+2348031234567"
GOOD = {"to": NG, "from": "ACME", "body": "Your code is 123456", "traffic_type": "otp"}


def test_a_sent_message_is_durable_and_readable(api: Api) -> None:
    with api.client() as http:
        sent = http.post("/v1/messages", json={**GOOD, "client_ref": "order-1", "metadata": {"k": "v"}})
        got = http.get(f"/v1/messages/{sent.json()['id']}")
    assert sent.status_code == 202, sent.text
    assert sent.headers["location"] == f"/v1/messages/{sent.json()['id']}"
    body = got.json()
    assert (body["status"], body["client_ref"], body["metadata"]) == ("queued", "order-1", {"k": "v"})
    assert (body["segments"], body["encoding"]) == (1, "gsm7")
    assert [h["status"] for h in body["history"]] == ["accepted", "queued"]

    async def stored(store: Any) -> Any:
        return (await store.fetch([body["id"]]))[0]

    assert api.run(stored)["to"] == NG


def test_the_same_idempotency_key_never_sends_twice(api: Api) -> None:
    with api.client() as http:
        headers = {"Idempotency-Key": "abc-1"}
        first = http.post("/v1/messages", json=GOOD, headers=headers)
        again = http.post("/v1/messages", json=GOOD, headers=headers)
        changed = http.post("/v1/messages", json={**GOOD, "body": "other"}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_conflict"


def test_a_tenant_never_sees_another_tenants_messages(api: Api) -> None:
    with api.client("acme") as acme, api.client("globex") as globex:
        mid = acme.post("/v1/messages", json=GOOD).json()["id"]
        assert globex.get(f"/v1/messages/{mid}").status_code == 404
        assert globex.post(f"/v1/messages/{mid}/cancel").status_code == 404
        assert globex.post(f"/v1/messages/{mid}/conversion").status_code == 404
        listed = globex.get("/v1/messages").json()["messages"]
    assert mid not in {m["id"] for m in listed}


def test_a_scheduled_message_can_be_canceled_once(api: Api) -> None:
    with api.client() as http:
        sent = http.post("/v1/messages", json={**GOOD, "send_at": time.time() + 86_400}).json()
        canceled = http.post(f"/v1/messages/{sent['id']}/cancel")
        again = http.post(f"/v1/messages/{sent['id']}/cancel")
    assert sent["status"] == "scheduled"
    assert canceled.json()["status"] == "canceled"
    assert [h["status"] for h in canceled.json()["history"]] == ["accepted", "scheduled", "canceled"]
    assert again.status_code == 409


def test_a_message_already_queued_cannot_be_canceled(api: Api) -> None:
    with api.client() as http:
        mid = http.post("/v1/messages", json=GOOD).json()["id"]
        answer = http.post(f"/v1/messages/{mid}/cancel")
    assert (answer.status_code, answer.json()["code"]) == (409, "not_cancelable")


def test_listing_pages_through_everything_newest_first(api: Api) -> None:
    with api.client("globex") as http:
        ids = http.post("/v1/batches", json={"messages": [GOOD] * 7}).json()["ids"]
        ids.append(http.post("/v1/messages", json=GOOD).json()["id"])
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = http.get(
                "/v1/messages", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
            ).json()
            seen += [m["id"] for m in page["messages"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        filtered = http.get("/v1/messages", params={"status": "delivered"}).json()["messages"]
    assert len(set(ids)) == 8  # ids drawn for a whole batch at once are still distinct
    assert sorted(seen) == sorted(ids)
    assert seen[0] == ids[-1]  # the newest first
    assert filtered == []


def test_a_batch_is_accepted_whole(api: Api) -> None:
    with api.client() as http:
        answer = http.post("/v1/batches", json={"messages": [GOOD, {**GOOD, "traffic_type": "marketing"}]})
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2


def test_a_conversion_is_taken(api: Api) -> None:
    with api.client() as http:
        mid = http.post("/v1/messages", json=GOOD).json()["id"]
        answer = http.post(f"/v1/messages/{mid}/conversion")

    async def inbound(store: Any) -> Any:
        return await store.client.xrange(store.keys.inbound())

    assert answer.status_code == 202
    assert any(fields.get("id") == mid for _, fields in api.run(inbound))


def test_health_readiness_metrics_and_docs(api: Api) -> None:
    with api.client(None) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ready"}
        metrics = http.get("/metrics").text
        spec = http.get("/openapi.json").json()
        assert http.get("/docs").status_code == 200
    assert 'a2p_messages_accepted_total{lane="otp"}' in metrics
    assert "a2p_queue_depth" in metrics
    assert {"/v1/messages", "/v1/batches", "/v1/messages/{message_id}"} <= set(spec["paths"])
