"""Answers written straight from the model.

Returning a model makes FastAPI validate it again against the route's ``response_model`` before
serializing it: a second pass over an object the route has just built and typed. On the send paths
(one request per message) writing the JSON directly saves that pass; the ``response_model`` stays
on the route for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel


def json_response(
    model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = model.model_dump_json(by_alias=True, exclude_none=True)
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")
