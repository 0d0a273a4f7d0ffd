"""Every Redis key the platform uses, in one place (habit: one module owns every key format).

Keys carry a namespace so that several engines (or test sessions) can share one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.enums import Lane


@dataclass(frozen=True, slots=True)
class Keys:
    namespace: str = "a2p"

    def message(self, message_id: str) -> str:
        """Hash: the message record (to, body, lane, status, channel, provider ids, ...)."""
        return f"{self.namespace}:msg:{message_id}"

    def history(self, message_id: str) -> str:
        """List: the timestamped status history, one JSON object per change."""
        return f"{self.namespace}:hist:{message_id}"

    def lane(self, lane: Lane) -> str:
        """Stream: messages waiting to be routed in one lane."""
        return f"{self.namespace}:lane:{lane.label}"

    def provider_id(self, channel: str, form: str) -> str:
        """String: our message id for one form of a channel's provider id."""
        return f"{self.namespace}:pid:{channel}:{form}"

    def deadlines(self) -> str:
        """Sorted set: messages sent and awaiting a receipt, scored by their receipt deadline."""
        return f"{self.namespace}:dlr:deadline"

    def idempotency(self, tenant: str, key: str) -> str:
        """String: the message id first created under a tenant's idempotency key."""
        return f"{self.namespace}:idem:{tenant}:{key}"

    def router_snapshot(self, shard: str) -> str:
        """String: the pickled policy state of one router shard, for a warm restart."""
        return f"{self.namespace}:router:{shard}"

    def sequence(self) -> str:
        """Counter: message ids."""
        return f"{self.namespace}:seq"

    def counters(self) -> str:
        """Hash: engine-wide counters (accepted, final statuses, orphan receipts, ...)."""
        return f"{self.namespace}:counters"


DISPATCH_GROUP = "dispatch"
