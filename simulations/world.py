"""The simulated world: channels, contexts, routes and their true behaviour over time.

Generated from a scenario and a seed. Everything a policy must learn lives here (delivery
probabilities, receipt delays, missing receipts) together with the scenario's events, and the oracle
reads the same truth. The world also produces the route table the Router starts from, so the
simulation routes through exactly the configuration path production uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.domain.types import Channel, Destination, RouteOption
from engine.routing.table import RouteEntry, RouteTable
from simulations.scenario import Event, EventKind, Scenario


def _normal_cdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    erf = np.array([math.erf(v / math.sqrt(2.0)) for v in x.ravel()]).reshape(x.shape)
    return 0.5 * (1.0 + erf)


@dataclass(frozen=True)
class Arms:
    """True properties of every (context, channel) pair; index = world arm id."""

    context: NDArray[np.int64]
    channel: NDArray[np.int64]
    delivery: NDArray[np.float64]
    price: NDArray[np.float64]
    tps: NDArray[np.float64]


class World:
    """Truth for one seed."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        spec = scenario.world
        rng = np.random.default_rng([seed, 0x5EED])
        n_ch = spec.channels
        self.channel_names = [f"ch{i:02d}" for i in range(n_ch)]
        low, high = spec.latency_median_s
        self.latency_median = np.exp(rng.uniform(math.log(low), math.log(high), n_ch))
        self.latency_sigma = rng.uniform(*spec.latency_sigma, n_ch)
        self.missing_dlr = rng.uniform(*spec.missing_dlr, n_ch)
        quality = rng.uniform(0.0, 1.0, n_ch)  # a channel's general quality, shared by its routes

        n_ctx = spec.contexts
        self.destinations = [
            Destination(spec.countries[i % len(spec.countries)], f"op{i:03d}") for i in range(n_ctx)
        ]
        self.context_keys = [d.key for d in self.destinations]
        weights = 1.0 / np.arange(1, n_ctx + 1) ** spec.zipf
        self.traffic_weight = weights / weights.sum()

        ctx, ch, p, price, tps = [], [], [], [], []
        lo, hi = spec.delivery
        for c in range(n_ctx):
            k = int(rng.integers(spec.routes_per_context[0], spec.routes_per_context[1] + 1))
            for channel in rng.choice(n_ch, size=k, replace=False):
                q = float(np.clip(0.6 * quality[channel] + 0.4 * rng.uniform(), 0.0, 1.0))
                ctx.append(c)
                ch.append(int(channel))
                p.append(lo + (hi - lo) * q)
                # Better routes tend to cost more, with enough noise that cheap-and-good exists.
                rel = float(np.clip(0.5 * q + 0.5 * rng.uniform(), 0.0, 1.0))
                price.append(spec.price[0] + (spec.price[1] - spec.price[0]) * rel)
                tps.append(float(rng.uniform(*spec.tps)))
        self.arms = Arms(
            np.array(ctx, dtype=np.int64),
            np.array(ch, dtype=np.int64),
            np.array(p),
            np.array(price),
            np.array(tps),
        )
        self.sla_factor = self._sla_factor()
        self.events = scenario.events
        self._targets = [self._targets_of(e) for e in self.events]

    # -- selectors -------------------------------------------------------------------------------

    def _sla_factor(self) -> NDArray[np.float64]:
        """``P(receipt delay <= SLA)`` per channel and lane, from the true lognormal delays."""
        sla = self.scenario.economics.sla_array
        z = (np.log(sla)[None, :] - np.log(self.latency_median)[:, None]) / self.latency_sigma[:, None]
        return _normal_cdf(z)

    def initial_value(self) -> NDArray[np.float64]:
        """Expected value of each arm for an average message at the start (used by selectors)."""
        lanes = np.asarray(self.scenario.traffic.lanes)
        value = self.scenario.economics.value_array
        worth = (self.sla_factor[self.arms.channel] * (lanes * value)).sum(axis=1)
        result: NDArray[np.float64] = worth * self.arms.delivery - self.arms.price
        return result

    def context_set(self, selector: str) -> NDArray[np.int64]:
        n = len(self.context_keys)
        if selector == "all":
            return np.arange(n, dtype=np.int64)
        kind, _, arg = selector.partition(":")
        if kind == "top":
            return np.arange(min(int(arg), n), dtype=np.int64)  # contexts are in Zipf order
        return np.array([i for i, d in enumerate(self.destinations) if d.country == arg], dtype=np.int64)

    def channel_by_rank(self) -> list[int]:
        """Channels ordered by the traffic the oracle would give them at the start."""
        value = self.initial_value()
        best = np.full(len(self.context_keys), -1)
        for c in range(len(self.context_keys)):
            mine = np.flatnonzero(self.arms.context == c)
            best[c] = self.arms.channel[mine[np.argmax(value[mine])]]
        load = np.bincount(best, weights=self.traffic_weight, minlength=len(self.channel_names))
        return [int(i) for i in np.argsort(-load, kind="stable")]

    def channel_of(self, selector: str) -> int:
        if selector.startswith("top"):
            return self.channel_by_rank()[int(selector[3:]) - 1]
        return int(selector[2:]) % len(self.channel_names)

    def _targets_of(self, event: Event) -> NDArray[np.bool_]:
        channel = self.channel_of(event.channel)
        contexts = self.context_set(event.contexts)
        hit: NDArray[np.bool_] = (self.arms.channel == channel) & np.isin(self.arms.context, contexts)
        return hit

    def targets(self, index: int) -> NDArray[np.bool_]:
        """Arms affected by the index-th event."""
        return self._targets[index]

    # -- truth at a time -------------------------------------------------------------------------

    def _active(self, event: Event, t: float) -> bool:
        return event.start_s <= t < event.end_s

    def hour_of_day(self, t: float) -> float:
        return (self.scenario.start_hour + t / 3600.0) % 24.0

    def delivery_at(self, t: float) -> NDArray[np.float64]:
        p = self.arms.delivery.copy()
        for event, hit in zip(self.events, self._targets, strict=True):
            if event.kind is EventKind.DRIFT and t >= event.start_s:
                span = (event.end_s - event.start_s) if math.isfinite(event.end_s) else 3600.0
                p[hit] += event.delta * min(1.0, (t - event.start_s) / span)
            elif event.kind is EventKind.HOUR_DEGRADATION and int(self.hour_of_day(t)) in event.hours:
                p[hit] += event.delta
            elif event.kind is EventKind.FAKE_DELIVERED and self._active(event, t):
                p[hit] = event.delivery
            elif event.kind is EventKind.BLACKHOLE and self._active(event, t):
                p[hit] = 0.0
        result: NDArray[np.float64] = np.clip(p, 0.0, 1.0)
        return result

    def blackholed_at(self, t: float) -> NDArray[np.bool_]:
        return self._any_active(EventKind.BLACKHOLE, t)

    def fake_delivered_at(self, t: float) -> NDArray[np.bool_]:
        return self._any_active(EventKind.FAKE_DELIVERED, t)

    def _any_active(self, kind: EventKind, t: float) -> NDArray[np.bool_]:
        out = np.zeros(len(self.arms.context), dtype=bool)
        for event, hit in zip(self.events, self._targets, strict=True):
            if event.kind is kind and self._active(event, t):
                out |= hit
        return out

    def duplicate_rate_at(self, t: float) -> NDArray[np.float64]:
        out = np.zeros(len(self.arms.context))
        for event, hit in zip(self.events, self._targets, strict=True):
            if event.kind is EventKind.DUPLICATE_DLRS and self._active(event, t):
                out[hit] = event.rate
        return out

    def dlr_batch_period_at(self, t: float) -> NDArray[np.float64]:
        """Seconds between releases of held-back receipts per arm (0: receipts flow freely)."""
        out = np.zeros(len(self.arms.context))
        for event, hit in zip(self.events, self._targets, strict=True):
            if event.kind is EventKind.BATCHED_DLRS and self._active(event, t):
                out[hit] = event.period_min * 60.0
        return out

    def available_at(self, t: float) -> NDArray[np.bool_]:
        """Which arms are candidates in the route table at ``t``."""
        out = np.ones(len(self.arms.context), dtype=bool)
        for event, hit in zip(self.events, self._targets, strict=True):
            if (event.kind is EventKind.ROUTE_ADDED and t < event.start_s) or (
                event.kind is EventKind.ROUTE_REMOVED and self._active(event, t)
            ):
                out[hit] = False
        return out

    def price_at(self, t: float) -> NDArray[np.float64]:
        price = self.arms.price.copy()
        for event, hit in zip(self.events, self._targets, strict=True):
            if event.kind is EventKind.PRICE and self._active(event, t):
                price[hit] *= event.factor
        return price

    def table_changes(self) -> list[float]:
        """Times at which the route table changes (price, route added or removed)."""
        kinds = {EventKind.PRICE, EventKind.ROUTE_ADDED, EventKind.ROUTE_REMOVED}
        times = {e.start_s for e in self.events if e.kind in kinds}
        times |= {e.end_s for e in self.events if e.kind in kinds and math.isfinite(e.end_s)}
        return sorted(times)

    def route_table(self, t: float) -> RouteTable:
        """The route table an operator of this world would have configured at ``t``."""
        available, price = self.available_at(t), self.price_at(t)
        channels = tuple(Channel(name, "simulated", 1e6) for name in self.channel_names)
        entries = []
        for c, dest in enumerate(self.destinations):
            mine = np.flatnonzero((self.arms.context == c) & available)
            options = tuple(
                RouteOption(
                    self.channel_names[self.arms.channel[a]],
                    float(price[a]),
                    float(self.arms.tps[a]),
                )
                for a in mine
            )
            entries.append(RouteEntry(dest.country, dest.operator, options))
        return RouteTable(channels, tuple(entries))
