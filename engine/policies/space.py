"""The arms a policy chooses among: (context, route) pairs with price, TPS cap and availability.

Arm ids are append-only, so a policy's statistics stay aligned when routes or contexts appear;
removing a route only disables its arms. Candidates are kept as a padded ``[context, slot]`` matrix
so a batch of requests looks its candidates up with one fancy index.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class ArmSpace:
    """Contexts (e.g. ``"NG/621-20"``), routes (channel ids) and the arms joining them."""

    def __init__(self) -> None:
        self.contexts: list[str] = []
        self.routes: list[str] = []
        self._context_ids: dict[str, int] = {}
        self._route_ids: dict[str, int] = {}
        self._arm_ids: dict[tuple[int, int], int] = {}
        self.arm_context = np.empty(0, dtype=np.int64)
        self.arm_route = np.empty(0, dtype=np.int64)
        self.price = np.empty(0, dtype=np.float64)
        self.tps = np.empty(0, dtype=np.float64)
        self.enabled = np.empty(0, dtype=bool)
        self._table: NDArray[np.int64] = np.full((0, 1), -1, dtype=np.int64)
        self.version = 0  # bumps on every change, so caches know when to refresh

    @property
    def n_arms(self) -> int:
        return len(self.arm_context)

    @property
    def n_routes(self) -> int:
        return len(self.routes)

    def context_id(self, key: str) -> int:
        """The id of a context, created on first sight."""
        cid = self._context_ids.get(key)
        if cid is None:
            cid = self._context_ids[key] = len(self.contexts)
            self.contexts.append(key)
            self._table = np.vstack([self._table, np.full((1, self._table.shape[1]), -1)])
            self.version += 1
        return cid

    def route_id(self, name: str) -> int:
        rid = self._route_ids.get(name)
        if rid is None:
            rid = self._route_ids[name] = len(self.routes)
            self.routes.append(name)
            self.version += 1
        return rid

    def arm(self, context: str, route: str) -> int | None:
        cid, rid = self._context_ids.get(context), self._route_ids.get(route)
        if cid is None or rid is None:
            return None
        return self._arm_ids.get((cid, rid))

    def upsert(self, context: str, route: str, price: float, tps: float) -> int:
        """Add the arm (or update its price and cap) and enable it; returns its id."""
        if price < 0 or tps <= 0:
            raise ValueError(f"arm {context}->{route}: price must be >= 0 and tps > 0")
        cid, rid = self.context_id(context), self.route_id(route)
        aid = self._arm_ids.get((cid, rid))
        if aid is None:
            aid = self._arm_ids[(cid, rid)] = self.n_arms
            self.arm_context = np.append(self.arm_context, cid)
            self.arm_route = np.append(self.arm_route, rid)
            self.price = np.append(self.price, price)
            self.tps = np.append(self.tps, tps)
            self.enabled = np.append(self.enabled, True)
            self._place(cid, aid)
        else:
            self.price[aid], self.tps[aid], self.enabled[aid] = price, tps, True
        self.version += 1
        return aid

    def _place(self, cid: int, aid: int) -> None:
        row = self._table[cid]
        free = np.flatnonzero(row < 0)
        if len(free) == 0:
            self._table = np.hstack([self._table, np.full((self._table.shape[0], 1), -1)])
            slot = self._table.shape[1] - 1
        else:
            slot = int(free[0])
        self._table[cid, slot] = aid

    def set_enabled(self, aid: int, enabled: bool) -> None:
        self.enabled[aid] = enabled
        self.version += 1

    def set_price(self, aid: int, price: float) -> None:
        self.price[aid] = price
        self.version += 1

    def candidates(self, contexts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """``(arms, valid)``, both ``[len(contexts), max candidates]``; padding arms are 0, invalid."""
        arms = self._table[contexts]
        valid = arms >= 0
        arms = np.where(valid, arms, 0)
        if self.n_arms:
            valid &= self.enabled[arms]
        return arms, valid
