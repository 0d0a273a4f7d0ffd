"""Delivery reports pushed by HTTP aggregators: signature checked, handed to the receipt actor.

Aggregators retry webhooks and never promise uniqueness: the receipt processor drops duplicates,
so this endpoint only verifies, parses and appends, and answers 200 fast.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from engine.api.deps import State
from engine.api.problems import Problem

router = APIRouter(prefix="/v1/channels", tags=["channels"])


@router.post("/{channel_id}/dlr")
async def delivery_reports(channel_id: str, request: Request, state: State) -> dict[str, int]:
    parse = state.webhook_parsers.get(channel_id)
    if parse is None:
        raise Problem(404, "channel_not_found", f"no HTTP channel {channel_id} takes delivery reports here")
    receipts = parse(dict(request.headers), await request.body(), str(request.url))  # or a Problem
    await state.inbound.push(receipts)
    return {"received": len(receipts)}
