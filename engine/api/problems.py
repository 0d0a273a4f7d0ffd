"""Every error as RFC 9457 ``application/problem+json`` with a stable ``code`` and ``invalid_params``.

Handlers cover what FastAPI and Starlette raise on their own (validation, malformed JSON, unknown
routes, wrong methods) so no input reaches a bare 500; a bug still answers a problem document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


@dataclass(frozen=True)
class InvalidParam:
    name: str
    reason: str


@dataclass
class Problem(Exception):  # noqa: N818 (RFC 9457 calls it a problem)
    status: int
    code: str
    detail: str
    invalid_params: Sequence[InvalidParam] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"https://a2p.dev/problems/{self.code.replace('_', '-')}",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.invalid_params:
            body["invalid_params"] = [{"name": p.name, "reason": p.reason} for p in self.invalid_params]
        return JSONResponse(body, status_code=self.status, media_type=MEDIA_TYPE, headers=self.headers)


def invalid(name: str, reason: str, code: str = "invalid_request") -> Problem:
    return Problem(422, code, f"{name}: {reason}", [InvalidParam(name, reason)])


def _location(loc: Sequence[int | str]) -> str:
    """``("body", "messages", 3, "to")`` -> ``messages[3].to``."""
    out = ""
    for part in loc[1:] if loc and loc[0] in {"body", "query", "path", "header"} else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def from_validation(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(400, "malformed_json", "the request body is not valid JSON")
    params = []
    for e in errors:
        name = _location(e.get("loc", ()))
        kind = e.get("type", "")
        if kind == "extra_forbidden":
            reason = "unknown field"
        elif kind == "missing":
            reason = "required"
        else:
            reason = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        params.append(InvalidParam(name, reason))
    codes = {e.get("type") for e in errors}
    code = "unknown_field" if codes == {"extra_forbidden"} else "invalid_request"
    detail = "; ".join(f"{p.name}: {p.reason}" for p in params[:5])
    return Problem(422, code, detail, params)


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return exc.response()

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return from_validation(exc).response()

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})).response()

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return Problem(500, "internal_error", "an unexpected error; it has been logged").response()

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_error)
