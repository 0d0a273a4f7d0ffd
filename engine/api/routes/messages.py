"""Send, read, list and cancel messages; report conversions."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from engine.api.convert import from_new, to_new_message, to_public
from engine.api.deps import State, Tenant, limit
from engine.api.fastjson import OrjsonRoute
from engine.api.problems import Problem
from engine.api.responses import json_response
from engine.api.schemas import MessageCreate, MessagePage, MessagePublic
from engine.infra.store import Conversion

router = APIRouter(prefix="/v1/messages", tags=["messages"], route_class=OrjsonRoute)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
SCAN_LIMIT = 5_000  # records looked at per list request, whatever the filters


async def _own(state: State, tenant: str, message_id: str) -> dict[str, str]:
    """The tenant's message; another tenant's is as absent as a missing one."""
    record = (await state.store.fetch([message_id]))[0] if len(message_id) <= 64 else None
    if record is None or record.get("tenant") != tenant:
        raise Problem(404, "message_not_found", f"no message {message_id}")
    return record


@router.post("", status_code=202, response_model=MessagePublic, response_model_by_alias=True,
             response_model_exclude_none=True)  # fmt: skip
async def send(
    item: MessageCreate, request: Request, state: State, tenant: Tenant,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Accept one message; 202 once it is durable. The same ``Idempotency-Key`` never sends twice."""
    limit(state, tenant)
    fingerprint = hashlib.sha256(await request.body()).hexdigest()[:32] if idempotency_key else ""
    idempotency = (idempotency_key, fingerprint) if idempotency_key else None
    message = to_new_message(
        item, tenant=tenant, now=state.clock.now(), resolver=state.resolver,
        max_parts=state.settings.max_parts, idempotency=idempotency,
    )  # fmt: skip
    (previous,) = await state.store.accept([message])
    if previous is None:
        return json_response(to_public(from_new(message)), 202, {"Location": f"/v1/messages/{message.id}"})
    first_id, first_fingerprint = previous.split(" ", 1)
    if first_fingerprint != fingerprint:
        raise Problem(409, "idempotency_conflict", "this Idempotency-Key was used with a different request")
    return json_response(to_public(await _own(state, tenant, first_id)), 202, {"Idempotent-Replayed": "true"})


@router.get("/{message_id}", response_model=MessagePublic, response_model_by_alias=True,
            response_model_exclude_none=True)  # fmt: skip
async def get_message(message_id: str, state: State, tenant: Tenant) -> Any:
    """Status, history, segments, price, error, and the routing decision with its alternatives."""
    record = await _own(state, tenant, message_id)
    return to_public(record, await state.store.history(record))


def _cursor(raw: str | None) -> tuple[float, str] | None:
    if not raw:
        return None
    try:
        score, _, last = base64.urlsafe_b64decode(raw.encode()).decode().partition(" ")
        return float(score), last
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "invalid_cursor", "cursor is not one this API returned") from None


@router.get("", response_model=MessagePage, response_model_by_alias=True)
async def list_messages(  # noqa: PLR0917 (FastAPI injects by parameter)
    state: State, tenant: Tenant,
    status: str | None = None, country: str | None = None, channel: str | None = None,
    since: float | None = None, until: float | None = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=200)] = 50, cursor: str | None = None,
) -> Any:  # fmt: skip
    """Newest first, ``limit`` per page; pass ``next_cursor`` back as ``cursor`` for the next page."""
    after = _cursor(cursor)
    top: Any = after[0] if after else (until if until is not None else "+inf")
    bottom: Any = since if since is not None else "-inf"
    key = state.store.keys.tenant_messages(tenant)
    found: list[dict[str, str]] = []
    scanned, offset, last = 0, 0, (after or (None, None))
    while len(found) < limit_ and scanned < SCAN_LIMIT:
        page: Any = await state.store.client.zrevrangebyscore(
            key, top, bottom, start=offset, num=200, withscores=True
        )
        if not page:
            break
        offset += len(page)
        if after is not None:  # members with the cursor's score at or before its id were on earlier pages
            page = [(m, s) for m, s in page if not (s == after[0] and m >= after[1])]
        records = await state.store.fetch([m for m, _ in page])
        for (member, score), record in zip(page, records, strict=True):
            scanned += 1
            last = (score, member)
            if record is None:
                continue
            if (status and record["status"] != status) or (channel and record.get("channel") != channel):
                continue
            if country and record.get("country", "") != country.upper():
                continue
            found.append(record)
            if len(found) == limit_:
                break
    more = len(found) == limit_ or scanned >= SCAN_LIMIT
    token = base64.urlsafe_b64encode(f"{last[0]!r} {last[1]}".encode()).decode() if more and last[1] else None
    return MessagePage(messages=[to_public(r) for r in found], next_cursor=token)


@router.post("/{message_id}/cancel", response_model=MessagePublic, response_model_by_alias=True,
             response_model_exclude_none=True)  # fmt: skip
async def cancel(message_id: str, state: State, tenant: Tenant) -> Any:
    """Cancel a scheduled message (409 once it left the schedule)."""
    record = await _own(state, tenant, message_id)
    if not await state.store.cancel(message_id, state.clock.now()):
        raise Problem(
            409, "not_cancelable", f"message is {record['status']}; only scheduled messages can be canceled"
        )
    record = await _own(state, tenant, message_id)
    return to_public(record, await state.store.history(record))


@router.post("/{message_id}/conversion", status_code=202)
async def conversion(message_id: str, state: State, tenant: Tenant) -> dict[str, str]:
    """The recipient used the message (e.g. typed the OTP in): the router's strongest signal."""
    await _own(state, tenant, message_id)
    await state.inbound.push([Conversion(message_id, state.clock.now())])
    return {"id": message_id, "conversion": "accepted"}
