"""Status callbacks that ran out of retries: list them, and send them again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from engine.api.deps import State, Tenant
from engine.api.fastjson import OrjsonRoute

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"], route_class=OrjsonRoute)


@router.get("/dead")
async def list_dead(
    state: State, tenant: Tenant,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:  # fmt: skip
    """Oldest first: each with its event as sent, the URL, the attempts and the last error."""
    return {
        "data": await state.dead_letters.list(tenant, limit, offset),
        "total": await state.dead_letters.count(tenant),
    }


@router.post("/dead/replay", status_code=202)
async def replay_dead(
    state: State, tenant: Tenant, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, int]:
    """Schedule up to ``limit`` dead callbacks again (same event ids, a fresh retry schedule)."""
    return {"replayed": await state.dead_letters.replay(tenant, limit)}
