"""Status callbacks out to customers: the Redis and HTTP around :mod:`engine.callbacks`.

::

    callback_events (stream; MessageStore.apply adds one entry per status change)
        | XREADGROUP, group CALLBACK_GROUP
        v
    sequence number (HINCRBY cb_seq on the message), event built from the record
        | one script: SET callback_delivery(evt), ZADD callback_retry <now> evt, XACK + XDEL entry
        v
    callback_retry (sorted set by due time) <--------- a failed attempt, at its next time
        | claim the due ones (leased), POST the signed JSON
        v
    2xx: done | 410: dropped | past max age or a refused URL: callback_dead(tenant) --replay()--^

Delivery is at least once: an attempt whose outcome could not be recorded (the worker died, Redis
went away) is tried again when its lease runs out; customers dedupe by the event id. A sequence
number is never reused, but a crash between numbering and storing an event leaves a gap.

One worker per engine: claims are atomic, so a second one would not double-send, but per-message
ordering within a round assumes a single worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from engine.callbacks.backoff import next_attempt_at
from engine.callbacks.delivery import Delivery, Verdict, address_problem, host_of, judge, url_problem
from engine.callbacks.payload import StatusEvent, new_event_id
from engine.callbacks.settings import CallbackSettings
from engine.callbacks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from engine.domain.clock import Clock
from engine.infra.batch import Batch, Runner
from engine.infra.keys import CALLBACK_GROUP, Keys
from engine.infra.records import read_record

log = logging.getLogger(__name__)
HttpClientFactory = Callable[[], httpx.AsyncClient]
USER_AGENT = "a2p-callbacks/1"
NO_SECRET = "tenant has no webhook secret"
SECRET_FIELD = "webhook_secret"
SEQUENCE_FIELD = "cb_seq"
RESPONSE_READ_LIMIT = 64 * 1024  # read a little of the answer so the connection can be reused
COUNTERS = (
    "events", "delivered", "failed_attempts", "dead", "dropped", "no_secret", "refused_url",
    "orphan_events", "replayed",
)  # fmt: skip
# Foreign errors of one attempt, mapped here to "try again later" (httpx's tree: HTTPError covers
# timeouts, connection and protocol errors; InvalidURL stands apart; TimeoutError is our own bound).
ATTEMPT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, TimeoutError, OSError)

# Take the due deliveries and hide them for a lease in one step, so two rounds (or two workers)
# never attempt the same delivery at once.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[3], member)
end
return due
"""
# Move dead letters back to the retry set; LREM first, so a dead letter replayed twice at once
# moves once.
REPLAY = """
local moved = 0
for i = 3, #KEYS do
  local a = 2 + (i - 3) * 3
  if redis.call('LREM', KEYS[1], 1, ARGV[a]) == 1 then
    redis.call('SET', KEYS[i], ARGV[a + 1])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[a + 2])
    moved = moved + 1
  end
end
return moved
"""


def default_http_client(settings: CallbackSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=settings.timeout_s,
        limits=httpx.Limits(max_connections=settings.concurrency),
        follow_redirects=False,  # a signed event goes where the customer said, nowhere else
        headers={"User-Agent": USER_AGENT},
    )


class DeadLetters:
    """A tenant's dead letters: listed and replayed. Needs no worker, so the API uses it directly."""

    def __init__(self, client: aioredis.Redis, keys: Keys, clock: Clock) -> None:
        self.client = client
        self.keys = keys
        self.clock = clock
        self._replay = client.register_script(REPLAY)

    async def count(self, tenant: str) -> int:
        return int(await self.client.llen(self.keys.callback_dead(tenant)))

    async def list(self, tenant: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Oldest first: each delivery with its event (as sent), attempts and last error."""
        if limit < 1:
            return []
        start = max(offset, 0)
        raw: Any = await self.client.lrange(self.keys.callback_dead(tenant), start, start + limit - 1)
        return [Delivery.from_json(item).public() for item in raw]

    async def replay(self, tenant: str, limit: int = 100) -> int:
        """Retry up to ``limit`` of the tenant's oldest dead letters now, on a fresh schedule; the
        same event ids, so a customer who got one after all can tell."""
        dead_key = self.keys.callback_dead(tenant)
        raw: Any = await self.client.lrange(dead_key, 0, limit - 1) if limit >= 1 else []
        if not raw:
            return 0
        now = self.clock.now()
        keys, args = [dead_key, self.keys.callback_retry()], [repr(now)]
        for item in raw:
            revived = Delivery.from_json(item).revived(now)
            keys.append(self.keys.callback_delivery(revived.event_id))
            args += [item, revived.to_json(), revived.event_id]
        moved = int(await self._replay(keys=keys, args=args))
        if moved:
            await self.client.hincrby(self.keys.counters(), "callback:replayed", moved)
        log.info("replayed %d dead callbacks of tenant %s", moved, tenant)
        return moved


class CallbackWorker:
    """Turns status events into signed deliveries and attempts them; :meth:`step` is one round.

    Attempts run as background tasks, so a round never waits for a slow customer: it only launches
    attempts while slots are free (``concurrency`` overall, ``per_host`` per host) and leaves the
    rest due for the next round.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        settings: CallbackSettings,
        clock: Clock,
        rng: np.random.Generator,
        *,
        http_client_factory: HttpClientFactory | None = None,
        consumer: str = "callbacks-0",
    ) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.consumer = consumer
        self._factory = http_client_factory or partial(default_http_client, settings)
        self._http: httpx.AsyncClient | None = None
        self._batches = Runner(client)
        self._claim = client.register_script(CLAIM)
        self.dead_letters = DeadLetters(client, keys, clock)
        self._group_ready = False
        self._backlog = True  # first our own entries read before a restart and never acknowledged
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[str] = set()
        self._hosts: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()

    # ---- the loop -------------------------------------------------------------------------------

    async def step(self) -> None:
        """Store new events as deliveries, then launch the due attempts (without awaiting them)."""
        await self._take_events()
        await self._launch_due()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except Exception:  # Redis away for a while: the next round tries again
                    log.exception("callback round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_s)
        finally:
            await self.aclose()

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait for the attempts in flight; whether they all ended."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        return not self._tasks

    async def aclose(self, grace_s: float = 5.0) -> None:
        """Let attempts in flight end (cancelled ones are retried once their lease runs out)."""
        if not await self.drain(grace_s):
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _count(self, batch: Batch, name: str, n: int = 1) -> None:
        """In this worker's stats, and in Redis (``callback:<name>`` in the engine counters) with
        the write it belongs to, for /metrics whichever process serves it."""
        if n:
            self._counts[name] += n
            batch.add("HINCRBY", self.keys.counters(), f"callback:{name}", str(n))

    def stats(self) -> dict[str, int]:
        out = {name: self._counts[name] for name in COUNTERS}
        out["in_flight"] = len(self._inflight)
        return out

    # ---- dead letters ---------------------------------------------------------------------------

    async def dead(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self.dead_letters.list(tenant, limit)

    async def replay(self, tenant: str, limit: int = 100) -> int:
        moved = await self.dead_letters.replay(tenant, limit)
        self._counts["replayed"] += moved
        return moved

    # ---- events -> deliveries -------------------------------------------------------------------

    async def _take_events(self) -> None:
        entries = await self._read()
        if not entries:
            return
        numbering = Batch()
        for _, fields in entries:
            key = self.keys.message(fields.get("id", ""))
            numbering.add_if(key, "callback", "HINCRBY", key, SEQUENCE_FIELD, "1")
            numbering.add("HGETALL", key)
        replies = await self._batches.run(numbering, replies=True)
        now = self.clock.now()
        stream, retry = self.keys.callback_events(), self.keys.callback_retry()
        store = Batch()
        events = orphans = 0
        for i, (entry_id, fields) in enumerate(entries):
            sequence, row = replies[2 * i], replies[2 * i + 1]
            if sequence is not None and row and "status" in fields and "at" in fields:
                record = read_record(row) or {}
                delivery = self._delivery(record, fields, int(sequence), now)
                store.add("SET", self.keys.callback_delivery(delivery.event_id), delivery.to_json())
                store.add("ZADD", retry, repr(now), delivery.event_id)
                events += 1
            else:  # the record is gone (or never had a callback): nothing to tell anyone
                orphans += 1
            # Acknowledged in the script that stores the delivery: an event is never lost, never
            # stored twice. Deleted too: this group is the stream's only reader.
            store.add("XACK", stream, CALLBACK_GROUP, entry_id)
            store.add("XDEL", stream, entry_id)
        self._count(store, "events", events)
        self._count(store, "orphan_events", orphans)
        await self._batches.run(store)

    async def _read(self) -> list[tuple[str, dict[str, str]]]:
        stream = self.keys.callback_events()
        if not self._group_ready:
            try:  # from "0": events written before the first worker ever ran are sent too
                await self.client.xgroup_create(stream, CALLBACK_GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._group_ready = True
        if self._backlog:
            entries = await self._read_from(stream, "0")
            if entries:
                return entries
            self._backlog = False
        return await self._read_from(stream, ">")

    async def _read_from(self, stream: str, start: str) -> list[tuple[str, dict[str, str]]]:
        try:
            reply: Any = await self.client.xreadgroup(
                CALLBACK_GROUP, self.consumer, {stream: start}, count=self.settings.read_count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # the stream was deleted under us: make the group again
            return []
        # A pending entry deleted meanwhile comes back without fields: acknowledged as an orphan.
        return [(str(eid), dict(fields or {})) for eid, fields in reply[0][1]] if reply else []

    def _delivery(self, record: dict[str, str], fields: dict[str, str], seq: int, now: float) -> Delivery:
        event_id = new_event_id(now, secrets.token_bytes(8))
        event = StatusEvent.from_record(
            record, event_id=event_id, status=fields["status"], at=float(fields["at"]), sequence=seq
        )
        return Delivery(
            event_id, record.get("tenant", ""), record["id"], seq, record["callback"], event.to_json(), now
        )

    # ---- due deliveries -> attempts -------------------------------------------------------------

    async def _launch_due(self) -> None:
        if len(self._tasks) >= self.settings.concurrency:
            return
        now = self.clock.now()
        retry = self.keys.callback_retry()
        claimed: Any = await self._claim(
            keys=[retry], args=[repr(now), str(self.settings.read_count), repr(now + self.settings.lease_s)]
        )
        ids = [str(c) for c in claimed if str(c) not in self._inflight]
        if not ids:
            return
        reads = Batch()
        for event_id in ids:
            reads.add("GET", self.keys.callback_delivery(event_id))
        raws = await self._batches.read(reads)
        deliveries = [Delivery.from_json(raw) for raw in raws if raw]
        stale = [event_id for event_id, raw in zip(ids, raws, strict=True) if not raw]
        tenant_secrets = await self._secrets({d.tenant for d in deliveries})
        release: list[str] = []
        for group in _by_message(deliveries):
            host = host_of(group[0].url)
            if len(self._tasks) >= self.settings.concurrency or self._hosts[host] >= self.settings.per_host:
                release += [d.event_id for d in group]  # due again next round, when a slot is free
                continue
            self._start(group, tenant_secrets.get(group[0].tenant), host)
        fix = Batch()
        for event_id in release:
            fix.add("ZADD", retry, "XX", repr(now), event_id)
        if stale:
            fix.add("ZREM", retry, *stale)
        await self._batches.run(fix)

    async def _secrets(self, tenants: Iterable[str]) -> dict[str, str | None]:
        names = sorted(tenants)
        batch = Batch()
        for tenant in names:
            batch.add("HGET", self.keys.tenant(tenant), SECRET_FIELD)
        replies = await self._batches.run(batch, replies=True)
        return {tenant: (secret or None) for tenant, secret in zip(names, replies, strict=True)}

    def _start(self, group: list[Delivery], secret: str | None, host: str) -> None:
        self._hosts[host] += 1
        self._inflight.update(d.event_id for d in group)
        task = asyncio.get_running_loop().create_task(self._attempt_all(group, secret, host))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt_all(self, group: list[Delivery], secret: str | None, host: str) -> None:
        """One message's due deliveries in sequence order, so they usually arrive in order."""
        try:
            for delivery in group:
                try:
                    await self._attempt(delivery, secret)
                except Exception:  # outcome not recorded: the lease runs out and it is retried
                    log.exception("callback %s: attempt not recorded", delivery.event_id)
                finally:
                    self._inflight.discard(delivery.event_id)
        finally:
            self._hosts[host] -= 1
            if self._hosts[host] <= 0:
                del self._hosts[host]

    async def _address_problem(self, url: str) -> str:
        """Where the URL's host resolves, checked before anything is sent (a resolver failure is
        not a refusal: the attempt fails and is retried). The HTTP client resolves again when it
        connects, so a host that changes its answer in between (DNS rebinding) is not caught here;
        an egress proxy is the complete answer."""
        if self.settings.allow_private:
            return ""
        parts = urlsplit(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443)
        except OSError:
            return ""
        return address_problem([str(info[4][0]) for info in infos], allow_private=False)

    async def _attempt(self, d: Delivery, secret: str | None) -> None:
        problem = url_problem(d.url) or await self._address_problem(d.url)
        if problem:
            log.warning("callback %s (message %s) refused: %s", d.event_id, d.message_id, problem)
            await self._bury(d, problem, "refused_url")  # nothing was sent: no attempt counted
            return
        if secret is None:  # never unsigned: wait (on the retry schedule) for the secret to be set
            log.warning("callback %s not sent: tenant %s has no webhook secret", d.event_id, d.tenant)
            await self._retry_later(d.failed(NO_SECRET), "no_secret")
            return
        try:
            status = await self._post(d, secret)
        except ATTEMPT_ERRORS as exc:
            verdict, error = Verdict.RETRY, type(exc).__name__  # the type only: texts may hold the URL
        else:
            verdict, error = judge(status), f"HTTP {status}"
        if verdict is Verdict.RETRY:
            log.info("callback %s to %s failed: %s", d.event_id, host_of(d.url), error)
            await self._retry_later(d.failed(error), "failed_attempts")
            return
        if verdict is Verdict.GONE:
            log.info("callback %s dropped: %s answered 410 Gone", d.event_id, host_of(d.url))
        done = Batch()
        done.add("DEL", self.keys.callback_delivery(d.event_id))
        done.add("ZREM", self.keys.callback_retry(), d.event_id)
        self._count(done, "delivered" if verdict is Verdict.DELIVERED else "dropped")
        await self._batches.run(done)

    async def _post(self, d: Delivery, secret: str) -> int:
        body = d.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body, int(self.clock.now())),
            EVENT_ID_HEADER: d.event_id,
        }
        if self._http is None:
            self._http = self._factory()
        # httpx's timeout bounds each read or write; this bounds the whole attempt (a trickling
        # answer included).
        async with (
            asyncio.timeout(self.settings.timeout_s),
            self._http.stream("POST", d.url, content=body, headers=headers) as response,
        ):
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > RESPONSE_READ_LIMIT:
                    break
            return response.status_code

    async def _retry_later(self, d: Delivery, counter: str) -> None:
        at = next_attempt_at(d.first_at, d.attempts, self.clock.now(), self.settings, self.rng)
        if at is None:
            await self._bury(d, f"gave up after {d.attempts} attempts: {d.last_error}", counter)
            return
        batch = Batch()
        batch.add("SET", self.keys.callback_delivery(d.event_id), d.to_json())
        batch.add("ZADD", self.keys.callback_retry(), repr(at), d.event_id)
        self._count(batch, counter)
        await self._batches.run(batch)

    async def _bury(self, d: Delivery, reason: str, counter: str) -> None:
        log.warning("callback %s (message %s) dead-lettered: %s", d.event_id, d.message_id, reason)
        batch = Batch()
        batch.add("RPUSH", self.keys.callback_dead(d.tenant), d.dead(self.clock.now(), reason).to_json())
        batch.add("DEL", self.keys.callback_delivery(d.event_id))
        batch.add("ZREM", self.keys.callback_retry(), d.event_id)
        self._count(batch, counter)
        self._count(batch, "dead")
        await self._batches.run(batch)


def _by_message(deliveries: Sequence[Delivery]) -> list[list[Delivery]]:
    groups: defaultdict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        groups[d.message_id].append(d)
    return [sorted(g, key=lambda d: d.sequence) for g in groups.values()]
