"""The dispatcher: pull a batch from a lane, route it, submit it, record what happened.

Zero loss and zero duplicates rest on three rules:

1. A stream entry is acknowledged only after its message reached a status from which nothing more
   is to be done here (sent, or a final status). A dispatcher that dies leaves its entries pending
   in the consumer group; its successor (or a peer, via XAUTOCLAIM) processes them again.
2. The messages of a batch are journaled as ``sending`` (one write per batch) before any is handed
   to a channel, and the journal is cleared in the same write as their outcomes. A message found
   again while still in a journal (its dispatcher died mid-submit) has an unknown outcome: it
   becomes ``unknown`` and is never resent blindly.
3. Failover keeps the message id; a channel that refused a message is avoided for it next time.
   A throttle ("slow down") is not a refusal: the channel is avoided for the rest of this round
   only, and a message that every route throttled goes back to the tail of its lane, not to
   ``failed``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import orjson

from engine.destinations.resolver import DestinationResolver
from engine.dispatch.ports import ChannelPort, ChannelUnavailableError, Outcome, OutcomeHook, RouterPort
from engine.domain.clock import Clock
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import ChannelError, OutboundMessage, SubmitResult
from engine.domain.types import Destination
from engine.errors import InvalidNumberError
from engine.infra.records import IMPLIED_SENDING_AT, Record, packed_route, quietly_sent, time_text
from engine.infra.store import Change, LaneStreams, MessageStore, SentEntry
from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.routing.service import Choice
from engine.text.segments import part_count

FINAL_OR_SENT = frozenset({MessageStatus.SENT}) | {s for s in MessageStatus if s.is_final}
_STATUS = {s.value: s for s in MessageStatus}  # by value without Enum.__call__ (0.3 µs a message)


@dataclass(frozen=True)
class DispatchSettings:
    batch_size: int = 500
    block_ms: int = 100
    retry_budget: int = 2  # failovers after the first attempt
    receipt_timeout_s: float = 900.0
    claim_idle_ms: int = 30_000
    throttle_pause_s: float = 0.1  # after putting throttled messages back, before the next batch


# Decisions about to be submitted, for the decision log: the lane, the messages, their choices, when.
DecidedHook = Callable[[Lane, Sequence[str], Sequence[Choice], float], None]


@dataclass
class _Job:
    entry: str
    record: Record
    destination: Destination
    lane: Lane
    parts: int
    avoid: list[str]  # channels that refused it: never again
    last_error: ChannelError | None = None
    throttled_by: list[str] = field(default_factory=list)  # busy channels: not again this round


class Dispatcher:
    def __init__(
        self,
        lane: Lane,
        consumer: str,
        *,
        store: MessageStore,
        streams: LaneStreams,
        router: RouterPort,
        channels: Mapping[str, ChannelPort],
        resolver: DestinationResolver,
        clock: Clock,
        settings: DispatchSettings | None = None,
        on_decided: DecidedHook | None = None,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self.lane, self.consumer = lane, consumer
        self.store, self.streams, self.router, self.channels = store, streams, router, channels
        self.resolver, self.clock = resolver, clock
        self.settings = settings or DispatchSettings()
        self.on_decided = on_decided
        self.on_outcome = on_outcome
        self.processed = 0
        self._callbacks: set[str] = set()  # ids in the batch at hand that asked for status callbacks

    async def recover(self) -> int:
        """After a (re)start: our own unacknowledged entries, then entries of dead peers."""
        count = self.settings.batch_size
        own = await self.streams.own_pending(self.lane, self.consumer, count)
        claimed = await self.streams.claim(self.lane, self.consumer, self.settings.claim_idle_ms, count)
        processed = await self.process(own + claimed, redelivered=True)
        await self.store.clear_sending(self.lane, self.consumer)  # what it listed is settled now
        return processed

    async def step(self) -> int:
        entries, carried = await self.streams.read_carried(
            self.lane, self.consumer, self.settings.batch_size, self.settings.block_ms
        )
        return await self.process(entries, carried=carried)

    async def run(self, stop: asyncio.Event) -> None:
        await self.recover()
        every_s = self.settings.claim_idle_ms / 1000
        next_claim = self.clock.now() + every_s
        while not stop.is_set():
            await self.step()
            # Now and then: a peer that died for good leaves its entries pending, and the entries
            # every dispatcher is done with can go.
            if self.clock.now() >= next_claim:
                count, idle = self.settings.batch_size, self.settings.claim_idle_ms
                claimed = await self.streams.claim(self.lane, self.consumer, idle, count)
                await self.process(claimed, redelivered=True)
                await self.streams.trim(self.lane)
                next_claim = self.clock.now() + every_s

    # -- one batch -----------------------------------------------------------------------------

    async def process(
        self,
        entries: Sequence[tuple[str, str]],
        *,
        redelivered: bool = False,
        carried: Sequence[Record | None] = (),
    ) -> int:
        """One batch of entries. ``redelivered``: they were read before, by this dispatcher before
        a restart or by a dead peer, so some may be in a ``sending`` journal (rule 2).
        ``carried``: the records fresh entries carry; the others are read from the store.
        """
        if not entries:
            return 0
        now = self.clock.now()
        records: list[Record | None] = list(carried) if carried and not redelivered else [None] * len(entries)
        missing = [i for i, r in enumerate(records) if r is None]
        if missing:
            fetched = await self.store.fetch([entries[i][1] for i in missing])
            for i, record in zip(missing, fetched, strict=True):
                records[i] = record
        in_flight = await self.store.in_flight(self.lane) if redelivered else set()
        self._callbacks = {r["id"] for r in records if r is not None and r.get("callback")}
        changes: list[Change] = []
        ack: list[str] = []
        jobs: list[_Job] = []
        for (entry, mid), record in zip(entries, records, strict=True):
            job = self._triage(entry, mid, record, now, changes=changes, ack=ack, in_flight=in_flight)
            if job is not None:
                jobs.append(job)
        await self.store.apply(changes, self._callbacks)
        if jobs:
            ack += await self._dispatch(jobs)
        await self.streams.ack(self.lane, ack)
        self.processed += len(entries)
        return len(entries)

    def _triage(
        self,
        entry: str,
        mid: str,
        record: Record | None,
        now: float,
        *,
        changes: list[Change],
        ack: list[str],
        in_flight: AbstractSet[str],
    ) -> _Job | None:
        """Decide what a stream entry needs; None when nothing is left to do but acknowledge it."""
        if record is None:
            ack.append(entry)  # a record that does not exist cannot be sent
            return None
        stored = record["status"]
        status = _STATUS.get(stored) or MessageStatus(stored)  # an unknown value still raises
        if status in FINAL_OR_SENT:
            ack.append(entry)
            return None
        if status is MessageStatus.SENDING or mid in in_flight:
            note = "submit outcome unknown (dispatcher restarted mid-submit); not resent"
            changes.append(Change(mid, now, MessageStatus.UNKNOWN, note=note))
            ack.append(entry)
            return None
        if now > float(record["created_at"]) + float(record["validity_s"]):
            changes.append(Change(mid, now, MessageStatus.EXPIRED, {"error_code": "validity_expired"}))
            ack.append(entry)
            return None
        try:
            destination = self.resolver.resolve(record["to"])
        except InvalidNumberError as exc:
            changes.append(
                Change(mid, now, MessageStatus.REJECTED, {"error_code": "invalid_number"}, exc.reason)
            )
            ack.append(entry)
            return None
        avoided = record.get("avoid")  # most messages never had a channel refuse them
        avoid = [c for c in avoided.split(",") if c] if avoided else []
        return _Job(entry, record, destination, self.lane, part_count(record["body"]), avoid)

    async def _dispatch(self, jobs: list[_Job]) -> list[str]:
        """Route and submit with failover; returns the entries that may be acknowledged."""
        done: list[str] = []
        pending = jobs
        for attempt in range(self.settings.retry_budget + 1):
            if not pending:
                break
            pending = await self._attempt(pending, attempt, done)
        throttled = [j for j in pending if j.throttled_by]
        if throttled:  # some route was only busy: back to the tail of the lane, try again later
            await self.streams.requeue(self.lane, [(j.entry, j.record["id"]) for j in throttled])
            pending = [j for j in pending if not j.throttled_by]
            await asyncio.sleep(self.settings.throttle_pause_s)
        if pending:
            now = self.clock.now()
            failed = [
                Change(
                    j.record["id"], now, MessageStatus.FAILED,
                    {"error_code": j.last_error.code if j.last_error else "no_route",
                     "raw_error": j.last_error.raw if j.last_error else ""},
                )
                for j in pending
            ]  # fmt: skip
            await self.store.apply(failed, self._callbacks)
            if self.on_outcome is not None:
                codes = [(c.fields or {}).get("error_code") for c in failed]
                self.on_outcome(
                    [Outcome(c.message_id, c.at, MessageStatus.FAILED, error_code=code)
                     for c, code in zip(failed, codes, strict=True)]
                )  # fmt: skip
            done += [j.entry for j in pending]
        return done

    async def _attempt(self, jobs: list[_Job], attempt: int, done: list[str]) -> list[_Job]:
        now = self.clock.now()
        lanes = np.full(len(jobs), int(self.lane), dtype=np.int64)
        # Most messages avoid nothing yet: their own list goes as it is, not a copy.
        avoid = [j.avoid + j.throttled_by if j.throttled_by else j.avoid for j in jobs]
        choices = await self.router.route([j.destination for j in jobs], lanes, avoid)
        routable = [(j, c) for j, c in zip(jobs, choices, strict=True) if c.channel is not None]
        retry = [j for j, c in zip(jobs, choices, strict=True) if c.channel is None]
        if not routable:
            return retry
        ids = [j.record["id"] for j, _ in routable]
        # Rule 2: the journal is durable before any channel sees the messages. Their `sending`
        # status (with the decision) is written with their outcomes.
        await self.store.mark_sending(self.lane, self.consumer, ids)
        if self.on_decided:
            self.on_decided(self.lane, ids, [c for _, c in routable], now)
        changes: list[Change] = []
        by_channel: dict[str, list[tuple[_Job, Choice]]] = defaultdict(list)
        for pair in routable:
            by_channel[str(pair[1].channel)].append(pair)
        outcomes = await asyncio.gather(*(self._submit(ch, pairs) for ch, pairs in by_channel.items()))
        sent: list[SentEntry] = []
        events: list[tuple[int, int, float]] = []  # (kind, arm, at)
        logged: list[Outcome] = []
        for channel, pairs, results, answered in outcomes:
            for (job, choice), result, t in zip(pairs, results, answered, strict=True):
                mid = job.record["id"]
                route = self._route(job, choice, attempt)
                error = None if result is None else result.error
                # Sent on its first try, the usual path: its history entries are implied (rule in
                # records.IMPLIED_SENDING_AT), which saves Redis a list and a command per message.
                quiet = attempt == 0 and result is not None and result.accepted and quietly_sent(job.record)
                if not quiet or mid in self._callbacks:  # else the outcome's change sets the status
                    sending = Change(mid, now, MessageStatus.SENDING, note=f"via {channel}", implied=quiet)
                    changes.append(sending)
                if result is None or (error is not None and error.outcome_unknown):
                    # The submit may have reached the channel: outcome unknown, never resent (rule 2).
                    why = f"{channel}: {error.code}" if error else "channel unavailable during submit"
                    route["raw_error"] = error.raw if error else ""
                    changes.append(
                        Change(mid, t, MessageStatus.UNKNOWN, packed_route(route), f"{why}; outcome unknown")
                    )
                    logged.append(Outcome(mid, t, MessageStatus.UNKNOWN))
                    done.append(job.entry)
                elif result.accepted:
                    provider_ids = result.provider_id or ""
                    route["provider_ids"], route["submitted_at"] = provider_ids, time_text(t)
                    if quiet:
                        route[IMPLIED_SENDING_AT] = time_text(now)
                    changes.append(Change(mid, t, MessageStatus.SENT, packed_route(route), implied=quiet))
                    pids, deadline = provider_ids.split(","), t + self.settings.receipt_timeout_s
                    sent.append(SentEntry(channel, pids, mid, deadline, choice.arm, t, quiet))
                    events.append((FeedbackKind.SUBMITTED, choice.arm, t))
                    logged.append(Outcome(mid, t, MessageStatus.SENT, choice.price * job.parts))
                    done.append(job.entry)
                else:
                    job.last_error = error
                    if error is not None and error.throttled:
                        job.throttled_by.append(channel)
                    else:
                        job.avoid = [*job.avoid, channel]
                    note = f"{channel} refused: {error.code if error else '?'}"
                    route["avoid"] = ",".join(job.avoid)
                    changes.append(Change(mid, t, MessageStatus.QUEUED, packed_route(route), note))
                    if error is not None and not error.throttled:
                        events.append((FeedbackKind.FAILED, choice.arm, t))
                    retry.append(job)
        # `sent` and its index in one write: a receipt can only be matched to a message already
        # `sent`, so a fast receipt's `delivered` is never overwritten by a late `sent`.
        await self.store.apply(changes, self._callbacks, sent=sent, sending_done=(self.lane, self.consumer))
        if self.on_outcome is not None:
            self.on_outcome(logged)
        if events:
            kind, arm, at = (np.array(col) for col in zip(*events, strict=True))
            at = at.astype(np.float64)
            await self.router.feedback(
                FeedbackBatch(self.clock.now(), kind.astype(np.int64), arm.astype(np.int64), at, at)
            )
        return retry

    @staticmethod
    def _route(job: _Job, choice: Choice, attempt: int) -> dict[str, str]:
        """What the record keeps of a decision (and the API shows: channel, score, alternatives)."""
        decision = {
            "channel": choice.channel, "score": choice.score, "explored": choice.explored,
            "propensity": choice.propensity, "alternatives": choice.alternatives, "attempt": attempt,
        }  # fmt: skip
        return {
            "channel": str(choice.channel), "arm": str(choice.arm), "price": repr(choice.price * job.parts),
            "parts": str(job.parts), "country": job.destination.country,
            "operator": job.destination.operator or "", "decision": orjson.dumps(decision).decode(),
            "attempts": str(attempt + 1), "avoid": ",".join(job.avoid),
        }  # fmt: skip

    async def _submit(
        self, channel: str, pairs: list[tuple[_Job, Choice]]
    ) -> tuple[str, list[tuple[_Job, Choice]], list[SubmitResult | None], list[float]]:
        """Submit to one channel: its results, and when the channel answered each of them."""
        messages = [self._outbound(job) for job, _ in pairs]
        port = self.channels.get(channel)
        if port is None:
            refused = ChannelError("unknown_channel", channel, permanent=True)
            results: list[SubmitResult | None] = [SubmitResult(m.id, error=refused) for m in messages]
            return channel, pairs, results, [self.clock.now()] * len(messages)
        try:
            submitted = await port.submit(messages)
        except ChannelUnavailableError:
            return channel, pairs, [None] * len(messages), [self.clock.now()] * len(messages)
        return channel, pairs, list(submitted.results), submitted.at

    @staticmethod
    def _outbound(job: _Job) -> OutboundMessage:
        r = job.record
        return OutboundMessage(
            r["id"], r["to"], r["from"], r["body"], job.lane, job.parts, float(r["validity_s"])
        )
