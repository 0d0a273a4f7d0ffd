"""Dependencies as ``Annotated`` aliases: the state, the caller's tenant (after auth and rate limit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engine.api.problems import Problem
from engine.api.state import ApiState


async def get_state(request: Request) -> ApiState:
    # async on purpose: FastAPI runs a plain `def` dependency in a thread pool, a thread hop per
    # request (about a third of a single send's CPU before this).
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(get_state)]


async def authenticate(request: Request, state: State) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "unauthenticated", "send an API key as `Authorization: Bearer <key>`",
                      headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    tenant = await state.tenant_of(token.strip())
    if tenant is None:
        raise Problem(
            401, "invalid_api_key", "this API key is not valid", headers={"WWW-Authenticate": "Bearer"}
        )
    return tenant


Tenant = Annotated[str, Depends(authenticate)]


def limit(state: ApiState, tenant: str, cost: int = 1) -> None:
    wait_s = state.limiter.take(tenant, cost)
    if wait_s > 0:
        retry = str(max(1, int(wait_s + 0.999)))
        raise Problem(
            429, "rate_limited", f"too many messages; retry in {retry} s", headers={"Retry-After": retry}
        )
