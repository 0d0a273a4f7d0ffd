"""API keys: created once, shown once, stored only as a SHA-256 of their secret.

A key reads ``a2p_<key id>_<secret>``: the id finds the record (tenant, hash) in one lookup and the
secret is checked against the hash in constant time. Each tenant also gets a webhook signing secret
on its first key, used to sign its status callbacks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from engine.infra.keys import Keys

TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TOKEN = re.compile(r"^a2p_([0-9a-f]{16})_([0-9A-Za-z_-]{20,100})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedKey:
    tenant: str
    key_id: str
    token: str  # shown to the user once; never stored
    webhook_secret: str


class ApiKeys:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def create(self, tenant: str) -> CreatedKey:
        if not TENANT.match(tenant):
            raise ValueError("a tenant is 1-63 lowercase letters, digits, '-' or '_', starting alphanumeric")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        record = {"tenant": tenant, "sha256": _digest(secret)}
        await self.client.hset(self.keys.api_key(key_id), mapping=record)  # type: ignore[arg-type]
        await self.client.hsetnx(self.keys.tenant(tenant), "webhook_secret", secrets.token_hex(32))
        webhook: Any = await self.client.hget(self.keys.tenant(tenant), "webhook_secret")
        return CreatedKey(tenant, key_id, f"a2p_{key_id}_{secret}", str(webhook))

    async def tenant_of(self, token: str) -> str | None:
        """The tenant a bearer token belongs to, or None for any unknown or malformed token."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        record: Any = await self.client.hgetall(self.keys.api_key(key_id))
        if not record or not hmac.compare_digest(str(record.get("sha256", "")), _digest(secret)):
            return None
        return str(record["tenant"])
