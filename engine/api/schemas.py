"""Request and response bodies (``XCreate`` in, ``XPublic`` out). Unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TrafficType = Literal["otp", "transactional", "marketing"]
MAX_VALIDITY_S = 72 * 3600  # the longest validity period SMSCs commonly honour


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: Annotated[str, Field(min_length=1, max_length=32, description="E.164 mobile, e.g. +2348031234567")]
    from_: Annotated[str, Field(alias="from", min_length=1, max_length=20, description="sender ID or number")]
    body: Annotated[str, Field(min_length=1, max_length=4_000)]
    traffic_type: TrafficType
    status_callback: Annotated[str | None, Field(max_length=2_048, description="http(s) URL")] = None
    client_ref: Annotated[str | None, Field(max_length=128)] = None
    metadata: Annotated[dict[str, str] | None, Field(max_length=16)] = None
    validity_s: Annotated[int | None, Field(ge=60, le=MAX_VALIDITY_S)] = None
    send_at: Annotated[datetime | None, Field(description="RFC 3339 with a zone, or Unix seconds")] = None
    max_price: Annotated[float | None, Field(gt=0, le=100)] = None

    @field_validator("status_callback")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and any(len(k) > 64 or len(v) > 256 for k, v in value.items()):
            raise ValueError("keys are at most 64 characters and values at most 256")
        return value

    @field_validator("send_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone (e.g. 2026-11-25T12:00:00Z)")
        return value


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Annotated[list[MessageCreate], Field(min_length=1)]


class HistoryEntry(BaseModel):
    status: str
    at: float
    note: str | None = None


class ErrorPublic(BaseModel):
    code: str
    error_class: Annotated[str, Field(alias="class")]
    permanent: bool
    retryable: bool
    channel_code: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class RoutingPublic(BaseModel):
    """Why this channel: what no commercial platform shows."""

    channel: str | None
    score: float | None = None
    explored: bool | None = None
    propensity: float | None = None
    attempt: int | None = None
    alternatives: list[Any] = []


class MessagePublic(BaseModel):
    id: str
    status: str
    to: str
    from_: Annotated[str, Field(alias="from")]
    traffic_type: str
    client_ref: str | None = None
    metadata: dict[str, str] | None = None
    created_at: float
    send_at: float | None = None
    validity_s: float
    segments: int
    encoding: str
    price: float | None = None
    error: ErrorPublic | None = None
    routing: RoutingPublic | None = None
    history: list[HistoryEntry] = []

    model_config = ConfigDict(populate_by_name=True)


class MessagePage(BaseModel):
    messages: list[MessagePublic]
    next_cursor: str | None


class BatchPublic(BaseModel):
    accepted: int
    ids: list[str]


class QualityRow(BaseModel):
    country: str
    operator: str
    channel: str
    messages: int
    delivered: int
    delivery_rate: float
    delivery_ci95: tuple[float, float]
    dlr_latency_p50_s: float | None
    dlr_latency_p95_s: float | None
    unknown_rate: float
    cost_per_delivered: float | None


class QualityPublic(BaseModel):
    rows: list[QualityRow]
    source: str
