"""Liveness, readiness, Prometheus metrics, and quality per country x operator x channel."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.exceptions import RedisError

from engine.api.deps import State, Tenant
from engine.api.problems import Problem
from engine.api.schemas import QualityPublic, QualityRow
from engine.domain.channel import CircuitState
from engine.domain.enums import Lane
from engine.infra.keys import DISPATCH_GROUP

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> dict[str, str]:
    """Redis answers, so an accepted message can be made durable."""
    try:
        await state.store.client.ping()
    except (RedisError, OSError):
        raise Problem(503, "not_ready", "Redis is not reachable") from None
    return {"status": "ready"}


def _nan(value: Any) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


@router.get("/v1/quality", response_model=QualityPublic)
async def quality(state: State, tenant: Tenant, country: str | None = None) -> Any:
    """Delivery rate (95 % CI), DLR latency p50/p95, unknown rate and cost per delivered message."""
    frame = state.quality()
    if country:
        frame = frame[frame["country"] == country.upper()]
    rows = []
    for r in frame.to_dict("records"):
        row: dict[str, Any] = {str(k): v for k, v in r.items()}
        quality_row = QualityRow(
            country=str(row["country"]), operator=str(row["operator"]), channel=str(row["channel"]),
            messages=int(row["messages"]), delivered=int(row["delivered"]),
            delivery_rate=float(row["delivery_rate"]),
            delivery_ci95=(float(row["ci_low"]), float(row["ci_high"])),
            dlr_latency_p50_s=_nan(row["dlr_latency_p50_s"]),
            dlr_latency_p95_s=_nan(row["dlr_latency_p95_s"]),
            unknown_rate=float(row["unknown_rate"]), cost_per_delivered=_nan(row["cost_per_delivered"]),
        )  # fmt: skip
        rows.append(quality_row)
    return QualityPublic(rows=rows, source="decision log")


async def _queue_depths(state: State) -> dict[str, tuple[int, int]]:
    """Per lane: entries waiting for a dispatcher, and entries taken but not yet acknowledged."""
    out = {}
    for lane in Lane:
        key = state.store.keys.lane(lane)
        try:
            groups: Any = await state.store.client.xinfo_groups(key)
        except RedisError:
            out[lane.label] = (0, 0)
            continue
        group = next((g for g in groups if g["name"] == DISPATCH_GROUP), None)
        if group is None:
            out[lane.label] = (0, 0)
            continue
        waiting: Any = await state.store.client.xrange(
            key, f"({group['last-delivered-id']}", "+", count=100_000
        )
        out[lane.label] = (len(waiting), int(group["pending"]))
    return out


class _Snapshot:
    """A one-off collector over figures read for this scrape."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


@router.get("/metrics", response_class=Response)
async def metrics(state: State) -> Response:
    counters = await state.store.counters()
    accepted = CounterMetricFamily("a2p_messages_accepted", "Messages accepted", labels=["lane"])
    for lane in Lane:
        accepted.add_metric([lane.label], counters.get(f"accepted:{lane.label}", 0))
    final = CounterMetricFamily(
        "a2p_messages_final", "Messages that reached a final status", labels=["status"]
    )
    for name, value in counters.items():
        if name.startswith("final:"):
            final.add_metric([name.removeprefix("final:")], value)
    depth = GaugeMetricFamily("a2p_queue_depth", "Messages waiting in a lane", labels=["lane"])
    inflight = GaugeMetricFamily(
        "a2p_queue_in_flight", "Messages taken by a dispatcher, not done", labels=["lane"]
    )
    for label, (waiting, pending) in (await _queue_depths(state)).items():
        depth.add_metric([label], waiting)
        inflight.add_metric([label], pending)
    circuit = GaugeMetricFamily(
        "a2p_channel_circuit", "1 for the channel's circuit state", labels=["channel", "state"]
    )
    raw: Any = await state.store.client.hgetall(state.store.keys.channel_health())
    for channel, health in raw.items():
        current = json.loads(health).get("circuit", "")
        for s in CircuitState:
            circuit.add_metric([channel, s.value], 1.0 if s.value == current else 0.0)
    deliveries = CounterMetricFamily("a2p_callbacks", "Status callback outcomes", labels=["outcome"])
    for name, value in counters.items():
        if name.startswith("callback:"):
            deliveries.add_metric([name.removeprefix("callback:")], value)
    families = [accepted, final, depth, inflight, circuit, deliveries, *_channel_families(state)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


LATENCY_BUCKETS_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


def _channel_families(state: State) -> list[Any]:
    """Per channel, from the decision log: routed, delivered, and the DLR latency histogram."""
    frame = state.quality()
    routed = CounterMetricFamily("a2p_channel_routed", "Messages routed to a channel", labels=["channel"])
    delivered = CounterMetricFamily("a2p_channel_delivered", "Messages delivered", labels=["channel"])
    latency = HistogramMetricFamily(
        "a2p_channel_dlr_latency_seconds", "Submit to receipt", labels=["channel"]
    )
    for channel, group in frame.groupby("channel"):
        routed.add_metric([str(channel)], float(group["messages"].sum()))
        delivered.add_metric([str(channel)], float(group["delivered"].sum()))
    for channel, values in state.latencies().items():
        buckets = [(repr(b), float((values <= b).sum())) for b in LATENCY_BUCKETS_S]
        buckets.append(("+Inf", float(len(values))))
        latency.add_metric([channel], buckets, sum_value=float(values.sum()))
    return [routed, delivered, latency]
