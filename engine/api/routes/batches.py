"""Many messages in one request: all valid, or none accepted (each bad field is named)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter

from engine.api.convert import ID_ENTROPY, to_new_message
from engine.api.deps import State, Tenant, limit
from engine.api.fastjson import OrjsonRoute
from engine.api.problems import InvalidParam, Problem
from engine.api.responses import json_response
from engine.api.schemas import BatchCreate, BatchPublic
from engine.domain.messages import NewMessage

router = APIRouter(prefix="/v1/batches", tags=["messages"], route_class=OrjsonRoute)


@router.post("", status_code=202, response_model=BatchPublic)
async def send_batch(batch: BatchCreate, state: State, tenant: Tenant) -> Any:
    """Accept up to ``max_batch`` messages; 202 with their ids once all are durable."""
    size = len(batch.messages)
    if size > state.settings.max_batch:
        reason = f"{size} messages; at most {state.settings.max_batch} per batch"
        raise Problem(413, "batch_too_large", reason, [InvalidParam("messages", reason)])
    limit(state, tenant, size)
    now = state.clock.now()
    messages: list[NewMessage] = []
    problems: list[InvalidParam] = []
    entropy = secrets.token_bytes(ID_ENTROPY * size)
    for i, item in enumerate(batch.messages):
        try:
            message = to_new_message(
                item, tenant=tenant, now=now, resolver=state.resolver, max_parts=state.settings.max_parts,
                prefix=f"messages[{i}].", entropy=entropy[ID_ENTROPY * i : ID_ENTROPY * (i + 1)],
            )  # fmt: skip
            messages.append(message)
        except Problem as problem:
            problems += problem.invalid_params
    if problems:
        detail = "; ".join(f"{p.name}: {p.reason}" for p in problems[:5])
        raise Problem(
            422, "invalid_request", f"{len(problems)} invalid fields; nothing accepted. {detail}", problems
        )
    await state.store.accept(messages)
    return json_response(BatchPublic(accepted=len(messages), ids=[m.id for m in messages]), 202)
