"""The session's real Redis, shared with the infra tests' fixture."""

from tests.infra.conftest import redis_url

__all__ = ["redis_url"]
