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
        """List: the timestamped status history, one JSON object per change after the first two
        (``accepted`` and ``queued``/``scheduled``, implied by the record: see ``records``)."""
        return f"{self.namespace}:hist:{message_id}"

    def lane(self, lane: Lane) -> str:
        """Stream: messages waiting to be routed in one lane."""
        return f"{self.namespace}:lane:{lane.label}"

    def sending(self, lane: Lane) -> str:
        """Hash: per dispatcher (consumer) of a lane, the ids it is submitting right now, comma-joined."""
        return f"{self.namespace}:sending:{lane.label}"

    def provider_id(self, channel: str, form: str) -> str:
        """String: the sent message one form of a channel's provider id names (its id and what
        correlating its receipts needs, see :func:`~engine.infra.records.index_value`)."""
        return f"{self.namespace}:pid:{channel}:{form}"

    def deadlines(self) -> str:
        """Sorted set: batches of sent messages, by token, scored by their latest receipt deadline."""
        return f"{self.namespace}:dlr:deadline"

    def deadline_batch(self, token: str) -> str:
        """String: the comma-joined ids of one batch of sent messages in ``deadlines``."""
        return f"{self.namespace}:dlr:batch:{token}"

    def idempotency(self, tenant: str, key: str) -> str:
        """String: the message id first created under a tenant's idempotency key."""
        return f"{self.namespace}:idem:{tenant}:{key}"

    def scheduled(self) -> str:
        """Sorted set: messages with a ``send_at``, scored by it, until they enter their lane."""
        return f"{self.namespace}:scheduled"

    def tenant_messages(self, tenant: str) -> str:
        """Sorted set: a tenant's message ids scored by creation time (listing, isolation)."""
        return f"{self.namespace}:tenant:{tenant}:msgs"

    def tenant(self, tenant: str) -> str:
        """Hash: a tenant's settings (webhook signing secret, rate limit)."""
        return f"{self.namespace}:tenant:{tenant}"

    def api_key(self, key_id: str) -> str:
        """Hash: one API key: its tenant and the SHA-256 of its secret (never the secret)."""
        return f"{self.namespace}:apikey:{key_id}"

    def rate(self, tenant: str, second: int) -> str:
        """Counter: requests of a tenant in one second (expires soon after)."""
        return f"{self.namespace}:rate:{tenant}:{second}"

    def inbound(self) -> str:
        """Stream: receipts from HTTP aggregators' webhooks and conversions, for the receipt actor."""
        return f"{self.namespace}:inbound"

    def callback_events(self) -> str:
        """Stream: status changes of messages that have a ``status_callback``."""
        return f"{self.namespace}:cb:events"

    def callback_retry(self) -> str:
        """Sorted set: callback deliveries waiting for their next attempt, scored by its time."""
        return f"{self.namespace}:cb:retry"

    def callback_delivery(self, event_id: str) -> str:
        """String: one callback delivery (event JSON, attempts) while it is retried."""
        return f"{self.namespace}:cb:delivery:{event_id}"

    def callback_dead(self, tenant: str) -> str:
        """List: a tenant's callback deliveries that ran out of retries, until replayed."""
        return f"{self.namespace}:cb:dead:{tenant}"

    def channel_health(self) -> str:
        """Hash: channel id -> its latest health as JSON (written by the supervisor)."""
        return f"{self.namespace}:health"

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
INBOUND_GROUP = "receipts"
CALLBACK_GROUP = "callbacks"
