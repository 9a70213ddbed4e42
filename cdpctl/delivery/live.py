"""Live sending: the `Ready` verdicts of a replay delivered, each event settled exactly once.

Each user's events keep their order (one lane per hash of userId/anonymousId); batches form per
subscription within a lane. Every event the run accepts for sending ends in one of three
states, recorded in the ledger: *delivered*; *failed* (dead-lettered first, with why); or *in
doubt* (a request that may have been processed and must not be repeated — see
`transport.InDoubt` — or that was on the wire when the run stopped). Nothing ends a run without
settling what it had in flight: an error anywhere in the sending machinery, a dead-letter file
that cannot be written, or Ctrl-C each stop the run with its counters, and what was on the wire
is recorded in doubt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cdpctl import codes
from cdpctl.delivery import collector
from cdpctl.delivery import ledger as states
from cdpctl.delivery.deadletter import DeadLetterError, DeadLetters
from cdpctl.delivery.engine import PlanGate, event_key, partition_of, raw_id
from cdpctl.delivery.ledger import Key, Ledger, LedgerError, Outcome, Subscription
from cdpctl.delivery.limits import RetryPolicy, SharedPacer
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.delivery.stats import ReplayStats, SubscriptionStats
from cdpctl.delivery.transport import (
    DEFAULT_DEADLINE,
    Exchange,
    ItemOutcome,
    Transport,
    TransportCounters,
    deliver,
)
from cdpctl.pipeline import CompiledSubscription, Destination, Invalid, Ready, evaluate
from cdpctl.providers.base import SAFE_METHODS, Action, ActionContext, Repeat, Request
from cdpctl.requestview import exchange_view
from cdpctl.secrets import Redactor

BATCH_LINGER = 1.0  # seconds a lane waits for more events before sending a partial batch
LANE_PENDING = 2000  # events a lane may hold in unsent batches (bounds memory)
#: `{"batch":[]}`: a batch's bytes beyond its items' (and a comma between two)
BATCH_ENVELOPE = len(b'{"batch":[]}')
CHUNK_RECORDS = 64  # records judged between hand-overs of their work to the lanes
LANE_CHUNKS = 16  # chunks (of at most CHUNK_RECORDS × subscriptions events) a lane queues
FLUSH_OUTCOMES = 512  # outcomes written to the ledger in one transaction…
FLUSH_SECONDS = 0.1  # …or after this long, whichever comes first
PROGRESS_SECONDS = 0.5  # how often the progress view hears of the counters while sending
MAX_REASON_CHARS = 2000  # of a failure reason kept in the ledger (after redaction)
_NOTHING: Any = object()  # "no new work arrived before the linger deadline"
IN_DOUBT_EARLIER = (
    "in doubt: an earlier run stopped while sending this event; it may or may not have been "
    "delivered (--resend-in-doubt sends it again)"
)
IN_DOUBT_STOPPED = (
    "in doubt: the run stopped while this event was being sent; it may or may not have been "
    "delivered (--resume --resend-in-doubt sends it again)"
)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    endpoint: str | None = None
    requests_per_second: float | None = None  # None: the destination's rate limit
    headroom: float = 0.0  # share of the rate left for live traffic
    concurrency: int = 8
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batching: bool = True
    batch_size: int | None = None
    resend_in_doubt: bool = False
    force: bool = False
    timeout: float = DEFAULT_DEADLINE  # seconds for one attempt, connect to the last byte


class RunStopped(Exception):
    """The run cannot go on safely (the dead-letter file or the ledger cannot be written, or
    the sending machinery failed); what it had in flight is settled in doubt."""


@dataclass(slots=True)
class _Work:
    sub: CompiledSubscription
    payload: dict[str, Any]
    record: Record
    key: Key
    planned: tuple[Request, ...]  # the requests the dry run planned for it (`Ready.requests`)
    size: int  # their body bytes: a batch is sent once the next event would not fit


def subscription_identity(sub: CompiledSubscription) -> Subscription:
    return Subscription.of(sub.name, sub.action.name, sub.trigger, sub.mapping, sub.id)


@dataclass(slots=True)
class LiveRun:
    """One live replay: the same verdicts as a dry run, and the `Ready` ones delivered."""

    destination: Destination
    options: LiveOptions
    ledger: Ledger
    dead_letters: DeadLetters
    pacer: SharedPacer
    stats: ReplayStats
    redactor: Redactor
    recorder: Callable[[dict[str, Any]], None] | None = None
    on_progress: Callable[[ReplayStats], None] | None = None
    plan: PlanGate | None = None
    _identity: dict[str, str] = field(default_factory=dict)  # subscription name -> ledger id
    #: accepted for sending, final outcome not yet in the ledger: an event repeated in the
    #: archive is sent once (bounded by the lanes' queues and one flush of outcomes)
    _accepted: set[Key] = field(default_factory=set)
    #: keys this run wrote, when the ledger held nothing of this destination at the start:
    #: a key it never saw needs no look-up (see `_recorded_state`)
    _written: SeenFilter | None = None
    _outcomes: list[Outcome] = field(default_factory=list)  # not yet written
    _flushed_at: float = 0.0
    _in_flight: dict[Key, _Work] = field(default_factory=dict)  # marked sending, unsettled
    _transport: Transport | None = None
    _absorbed: TransportCounters = field(default_factory=TransportCounters)

    def bind(self) -> None:
        """Match the mapping's subscriptions to the ledger's (ResumeAmbiguous when unsure)."""
        enabled = [s for s in self.destination.subscriptions if s.enabled]
        identities = self.ledger.bind(
            self.destination.file.name, [subscription_identity(s) for s in enabled]
        )
        self._identity = {
            sub.name: identity for sub, identity in zip(enabled, identities, strict=True)
        }
        if not self.options.force and self.ledger.count() == 0:
            self._written = SeenFilter()

    async def run(self, records: Iterable[Record]) -> None:
        """Send what `records` make Ready; `bind` first (it may refuse the run)."""
        with collector.for_a_run():
            await self._run(records)

    async def _run(self, records: Iterable[Record]) -> None:
        import httpx

        limits = httpx.Limits(
            max_connections=self.options.concurrency * 2,
            max_keepalive_connections=self.options.concurrency * 2,
        )
        timeout = httpx.Timeout(self.options.timeout)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            transport = Transport(
                client,
                self.destination.provider.is_retryable,
                pacer=self.pacer,
                policy=self.options.policy,
                endpoint=self.options.endpoint,
                deadline=self.options.timeout,
            )
            self._transport = transport
            ctx = self.destination.context(dry_run=False)
            lanes = [
                asyncio.Queue[list[_Work] | None](maxsize=LANE_CHUNKS)
                for _ in range(self.options.concurrency)
            ]
            tasks = [asyncio.create_task(self._lane(queue, transport, ctx)) for queue in lanes]
            tasks.append(asyncio.create_task(self._produce(records, lanes)))
            ticker = asyncio.create_task(self._tick())
            try:
                await _supervise(tasks)
            finally:
                for task in [*tasks, ticker]:
                    task.cancel()
                await asyncio.gather(*tasks, ticker, return_exceptions=True)
                self._absorb(transport)
                self._settle_in_flight()
                self.stats.in_flight = 0
                self._flush(force=True)
                self._learn_secrets(ctx)

    def _absorb(self, transport: Transport) -> None:
        """Add what the transport counted since the last call (progress sees it live)."""
        counters, seen = transport.counters, self._absorbed
        self.stats.requests += counters.requests - seen.requests
        self.stats.retries += counters.retries - seen.retries
        self.stats.throttled += counters.throttled - seen.throttled
        self.stats.network_errors += counters.network_errors - seen.network_errors
        self.stats.bytes_sent += counters.bytes_sent - seen.bytes_sent
        self.stats.throttle_wait += counters.throttle_wait - seen.throttle_wait
        self._absorbed = dataclasses.replace(counters)

    def malformed(self, record: Malformed) -> bool:
        """Dead-letter a malformed record once, however often the run is resumed: False when
        an earlier run already did."""
        key = Key(self.destination.file.name, states.MALFORMED, raw_id(record))
        if not self.options.force and self._recorded_state(key) is not None:
            return False
        self._dead_letter(f"{record.where}: {record.error}", raw=record.raw, line=record.number)
        self._outcome(Outcome(key, states.FAILED, reason=self._clip(record.error)))
        return True

    async def _produce(self, records: Iterable[Record], lanes: list[asyncio.Queue[Any]]) -> None:
        """Judge each record and hand its Ready work to its user's lane. Work is handed over in
        chunks, one per lane every CHUNK_RECORDS records (the loop yields there anyway), so a
        lane pays one queue hop per chunk, not per event."""
        destination_name = self.destination.file.name
        ctx = self.destination.context(dry_run=True)  # the verdict a dry run would give
        subscriptions = [
            (s, self.stats.sub(s.name), self._identity[s.name])
            for s in self.destination.subscriptions
            if s.enabled
        ]
        width = len(lanes)
        chunks: list[list[_Work]] = [[] for _ in lanes]
        accepted = self._accepted
        tally = self.stats.tally
        plan = self.plan
        count = 0
        for record in records:
            count += 1
            if plan is not None and not plan.admits(record, self.stats):
                self._block(record)
                continue
            event = record.event
            lane = -1
            for sub, counters, identity in subscriptions:
                verdict = evaluate(sub, event, ctx)
                tally(counters, verdict, record)
                if type(verdict) is Ready:
                    key = event_key(destination_name, identity, record)
                    if self._due(key, sub, record, counters, verdict):
                        accepted.add(key)
                        self.stats.queued += 1
                        if lane < 0:
                            lane = partition_of(event, width)
                        planned = verdict.requests
                        size = sum(len(request.body()) for request in planned)
                        chunks[lane].append(_Work(sub, verdict.payload, record, key, planned, size))
                elif type(verdict) is Invalid:
                    key = event_key(destination_name, identity, record)
                    self._refuse(sub, record, verdict, key)
            if count % CHUNK_RECORDS == 0:
                await _hand_over(chunks, lanes)
                await asyncio.sleep(0)
                self._flush()
                self._progress()
        await _hand_over(chunks, lanes)
        for queue in lanes:
            await queue.put(None)

    async def _tick(self) -> None:
        """Progress while the lanes send what was read (the producer may be long done)."""
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            self._progress()

    def _recorded_state(self, key: Key) -> str | None:
        """What the ledger says of `key`, looked up only when it may say something."""
        if self._written is not None and not self._written.may_hold(key):
            return None
        return self.ledger.state(key)

    def _progress(self) -> None:
        if self._transport is not None:
            self._absorb(self._transport)
        if self.on_progress is not None:
            self.stats.in_flight = len(self._in_flight)
            self.on_progress(self.stats)

    def _block(self, record: Record) -> None:
        """An event the tracking plan blocks is dead-lettered, once, with its violations."""
        key = Key(self.destination.file.name, states.BLOCKED, event_key("", "", record).message_id)
        if not self.options.force and self._recorded_state(key) is not None:
            return
        assert self.plan is not None
        problems = self.plan.checker.violations(record.event)
        reason = "blocked by the tracking plan: " + "; ".join(
            f"{p.code} {p.message}" for p in problems
        )
        self._dead_letter(reason, event=record.event, line=record.number)
        self._outcome(Outcome(key, states.FAILED, reason=self._clip(reason)))

    def _due(
        self,
        key: Key,
        sub: CompiledSubscription,
        record: Record,
        counters: SubscriptionStats,
        verdict: Ready,
    ) -> bool:
        """Whether a Ready event is sent in this run, by what the ledger says of it. An event
        an earlier run left in doubt is sent again when a repeat is harmless (every request it
        makes is a lookup, an upsert or keyed), else only with --resend-in-doubt."""
        if key in self._accepted:  # the archive holds this event twice: once is enough
            counters.already_done += 1
            return False
        if self.options.force:
            return True
        state = self._recorded_state(key)
        if state is None:
            return True
        if state in states.FINAL_STATES:
            counters.already_done += 1
            return False
        if state == states.FAILING:  # refused; the run stopped before it was all recorded
            reason = self.ledger.reason(key) or "refused by the provider in an earlier run"
            self._dead_letter(reason, event=record.event, subscription=sub.name, line=record.number)
            self._outcome(Outcome(key, states.FAILED, reason=reason))
            counters.failed += 1
            self.stats.note_error(codes.DELIVERY_FAILED, _reason_shape(reason), record)
            return False
        if self.options.resend_in_doubt or repeat_is_harmless(sub.action, verdict):
            return True
        counters.in_doubt += 1
        self.stats.note_in_doubt(key.message_id, record)
        if state == states.SENDING:  # an earlier run stopped mid-send: say so once, in the ledger
            self._outcome(Outcome(key, states.IN_DOUBT, reason=IN_DOUBT_EARLIER))
        return False

    def _refuse(
        self, sub: CompiledSubscription, record: Record, verdict: Invalid, key: Key
    ) -> None:
        """An invalid payload is dead-lettered with its errors, once."""
        if not self.options.force and self._recorded_state(key) is not None:
            return
        errors = [d for d in verdict.diagnostics if d.is_error]
        reason = "invalid payload: " + "; ".join(f"{d.code} {d.message}" for d in errors)
        self._dead_letter(reason, event=record.event, subscription=sub.name, line=record.number)
        self._outcome(Outcome(key, states.FAILED, reason=self._clip(reason)))

    async def _lane(
        self, queue: asyncio.Queue[list[_Work] | None], transport: Transport, ctx: ActionContext
    ) -> None:
        """One lane: its events in order; batches flush when full, when their oldest event has
        waited BATCH_LINGER, or when the lane holds LANE_PENDING events (flat memory)."""
        pending: dict[str, list[_Work]] = {}
        started: dict[str, float] = {}
        filled: dict[str, int] = {}  # body bytes of the pending batch
        limits: dict[str, tuple[int, int]] = {}  # (events, bytes) per batched subscription
        held = 0

        async def flush(name: str) -> None:
            nonlocal held
            batch = pending.pop(name)
            started.pop(name)
            filled.pop(name)
            held -= len(batch)
            await self._send(batch, transport, ctx, batched=True)

        while True:
            if pending:
                timeout = max(0.0, min(started.values()) + BATCH_LINGER - time.monotonic())
                try:
                    chunk = await asyncio.wait_for(queue.get(), timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    chunk = _NOTHING
            else:
                chunk = await queue.get()
            if chunk is None:
                for name in list(pending):
                    await flush(name)
                return
            if chunk is not _NOTHING:
                for work in chunk:
                    name = work.sub.name
                    limit = limits.get(name)
                    if limit is None:
                        limit = limits[name] = self._batch_limits(work.sub.action)
                    if not limit[0]:
                        await self._send([work], transport, ctx, batched=False)
                        continue
                    if name in pending and filled[name] + work.size + 1 > limit[1]:
                        await flush(name)  # full by size: the next event would not fit
                    batch = pending.get(name)
                    if batch is None:
                        batch = pending[name] = []
                        started[name] = time.monotonic()
                        filled[name] = BATCH_ENVELOPE
                    batch.append(work)
                    filled[name] += work.size + 1
                    held += 1
                    if len(batch) >= limit[0]:
                        await flush(name)
            now = time.monotonic()
            for name in [n for n, t in started.items() if now - t >= BATCH_LINGER]:
                await flush(name)
            while held > LANE_PENDING:
                await flush(max(pending, key=lambda n: len(pending[n])))

    def _batch_limits(self, action: Action) -> tuple[int, int]:
        """(events, body bytes) a batch of `action` holds before it is sent; (0, 0) when its
        events are sent one by one. Bytes count only where a batch item is the event's own
        single-call body (`plan_batch_planned`): elsewhere the batch plan packs by size."""
        spec = action.batch
        if not (self.options.batching and spec is not None and action.plan_batch):
            return 0, 0
        events = min(self.options.batch_size or spec.max_events, spec.max_events)
        if action.plan_batch_planned is None or spec.max_bytes is None:
            return events, sys.maxsize
        return events, spec.max_bytes

    async def _send(
        self, batch: list[_Work], transport: Transport, ctx: ActionContext, *, batched: bool
    ) -> None:
        """Deliver one event, or a batch; items the provider marks retryable are resent on
        their own, with backoff, until they succeed or run out of attempts."""
        action = batch[0].sub.action
        round_number = 0
        while batch:
            round_number += 1
            marked = False

            def on_wire(batch: list[_Work] = batch) -> None:
                nonlocal marked
                if not marked:
                    marked = True
                    self._mark_sending(batch)

            if batched and action.plan_batch_planned is not None:
                payloads = [work.payload for work in batch]
                planned = [work.planned for work in batch]
                plan = action.plan_batch_planned(payloads, planned, ctx)
            elif batched and action.plan_batch is not None:
                plan = action.plan_batch([work.payload for work in batch], ctx)
            else:
                plan = action.plan(batch[0].payload, ctx)
            outcome = await deliver(
                plan, transport, repeat=action.repeat, events=len(batch), on_wire=on_wire
            )
            self._learn_secrets(ctx)
            if self.recorder is not None:
                for work in batch:
                    self._record_exchanges(work, outcome.exchanges)
            again = []
            refused = []
            in_flight = self._in_flight
            settled = self._outcomes
            delivered = 0
            for work, item in zip(batch, outcome.items, strict=True):
                if item.delivered:
                    # the common case, inline: the key was marked sending (so it is in the
                    # filter of written keys) and is in flight
                    key = work.key
                    if in_flight.pop(key, None) is None and self._written is not None:
                        self._written.add(key)
                    settled.append(Outcome(key, states.DELIVERED, item.attempts, item.status))
                    delivered += 1
                elif item.in_doubt:
                    reason = item.failure.message if item.failure else "in doubt"
                    self._settle(
                        work,
                        Outcome(work.key, states.IN_DOUBT, item.attempts, None, self._clip(reason)),
                    )
                    self.stats.sub(work.sub.name).in_doubt += 1
                    self.stats.note_in_doubt(work.key.message_id, work.record)
                    self.stats.note_error(
                        codes.DELIVERY_IN_DOUBT, _reason_shape(self._clip(reason)), work.record
                    )
                elif item.retryable and round_number < self.options.policy.max_attempts:
                    again.append(work)
                else:
                    refused.append((work, item))
            if delivered:  # a batch is one subscription's
                self.stats.sub(batch[0].sub.name).delivered += delivered
                self.stats.settled_in_run += delivered
                if len(settled) >= FLUSH_OUTCOMES:
                    self._flush(force=True)
            for position, (work, item) in enumerate(refused):
                try:
                    self._fail(work, item)
                except RunStopped:
                    # Refused, so never processed: forgotten, so a resumed run sends (and can
                    # dead-letter) them again rather than leaving them in doubt.
                    unsettled = [w.key for w, _ in refused[position:]]
                    for key in unsettled:
                        self._in_flight.pop(key, None)
                    self.ledger.forget(unsettled)
                    raise
            if again:
                self.stats.retries += len(again)
                await asyncio.sleep(self.options.policy.delay(round_number, transport.rng))
            batch = again
        self._flush()

    def _learn_secrets(self, ctx: ActionContext) -> None:
        while ctx.secrets_found:
            self.redactor.add(ctx.secrets_found.pop())

    def _fail(self, work: _Work, item: ItemOutcome) -> None:
        """Dead-letter the event with why (durably), then record it as failed. `failing` is
        committed first: a run killed between the two finds it, and writes the dead letter
        (again) instead of taking the event for one in doubt."""
        failure = item.failure
        reason = failure.message if failure is not None else "not delivered"
        failing = Outcome(work.key, states.FAILING, item.attempts, item.status, self._clip(reason))
        try:
            self.ledger.record([failing])
        except LedgerError as error:
            raise RunStopped(str(error)) from None
        self._dead_letter(
            reason,
            event=work.record.event,
            subscription=work.sub.name,
            status=item.status,
            response=item.response,
            attempts=item.attempts,
            line=work.record.number,
        )
        self._settle(
            work,
            Outcome(work.key, states.FAILED, item.attempts, item.status, self._clip(reason)),
        )
        self.stats.sub(work.sub.name).failed += 1
        self.stats.note_error(codes.DELIVERY_FAILED, _reason_shape(self._clip(reason)), work.record)

    def _mark_sending(self, batch: list[_Work]) -> None:
        """Record intent before the bytes leave: the batch's keys `sending`, in the same
        transaction as the outcomes settled since the last write (their answers are in, so
        writing them now keeps the order and saves a transaction)."""
        outcomes, self._outcomes = self._outcomes, []
        keys = [work.key for work in batch]
        try:
            self.ledger.mark_sending(keys, settled=outcomes)
        except BaseException:
            self._outcomes[:0] = outcomes  # still to be written
            raise
        self._flushed_at = time.monotonic()
        self._forget_accepted(outcomes)
        written = self._written
        in_flight = self._in_flight
        for work in batch:
            in_flight[work.key] = work
            if written is not None:
                written.add(work.key)

    def _settle(self, work: _Work, outcome: Outcome) -> None:
        if self._in_flight.pop(work.key, None) is None and self._written is not None:
            self._written.add(work.key)  # never marked sending, so not in the filter yet
        self.stats.settled_in_run += 1
        self._outcomes.append(outcome)
        if len(self._outcomes) >= FLUSH_OUTCOMES:
            self._flush(force=True)

    def _settle_in_flight(self) -> None:
        """What was on the wire when the run stopped: in doubt, counted and recorded."""
        for work in self._in_flight.values():
            self.stats.settled_in_run += 1
            self.stats.sub(work.sub.name).in_doubt += 1
            self.stats.note_in_doubt(work.key.message_id, work.record)
            self._outcomes.append(Outcome(work.key, states.IN_DOUBT, reason=IN_DOUBT_STOPPED))
        self._in_flight.clear()

    def _outcome(self, outcome: Outcome) -> None:
        if self._written is not None:
            self._written.add(outcome.key)
        self._outcomes.append(outcome)
        if len(self._outcomes) >= FLUSH_OUTCOMES:
            self._flush(force=True)

    def _flush(self, *, force: bool = False) -> None:
        """Write the settled outcomes in one transaction (grouped: the answers that decided
        them are in; a crash before this leaves them `sending`, i.e. in doubt, never resent)."""
        if not self._outcomes:
            return
        now = time.monotonic()
        if not force and now - self._flushed_at < FLUSH_SECONDS:
            return
        outcomes, self._outcomes = self._outcomes, []
        self._flushed_at = now
        try:
            self.ledger.record(outcomes)
        except LedgerError as error:
            raise RunStopped(str(error)) from None
        self._forget_accepted(outcomes)

    def _forget_accepted(self, outcomes: list[Outcome]) -> None:
        """Outcomes in the ledger: a repeat of their event is now found there."""
        accepted = self._accepted
        for outcome in outcomes:
            accepted.discard(outcome.key)

    def _clip(self, reason: str) -> str:
        """Redacted first, then cut: a secret straddling the cut cannot leave in part."""
        return self.redactor.clip(reason, MAX_REASON_CHARS)

    def _dead_letter(self, reason: str, **details: Any) -> None:
        try:
            self.dead_letters.write(reason=reason, **details)
        except DeadLetterError as error:
            raise RunStopped(str(error)) from None

    def _record_exchanges(self, work: _Work, exchanges: tuple[Exchange, ...]) -> None:
        if self.recorder is None:
            return
        for exchange in exchanges:
            self.recorder(
                {
                    "subscription": work.sub.name,
                    "messageId": work.key.message_id,
                    "line": work.record.number,
                    **exchange_view(exchange, self.redactor, headers=True),
                }
            )


class SeenFilter:
    """A Bloom filter of ledger keys (2 MiB, 3 probes): `may_hold` is never False for a key
    that was added, and rarely True for one that was not (1.7% at a million keys), so a run
    that started on an empty ledger looks up only the keys it may have written itself."""

    BITS = 1 << 24
    MASK = BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS // 8)

    def add(self, key: Key) -> None:
        value = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        mask, bits = self.MASK, self._bits
        for bit in (value & mask, (value >> 24) & mask, (value >> 40 | value << 24) & mask):
            bits[bit >> 3] |= 1 << (bit & 7)

    def may_hold(self, key: Key) -> bool:
        value = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        mask, bits = self.MASK, self._bits
        bit = value & mask
        if not bits[bit >> 3] & (1 << (bit & 7)):
            return False
        bit = (value >> 24) & mask
        if not bits[bit >> 3] & (1 << (bit & 7)):
            return False
        bit = (value >> 40 | value << 24) & mask
        return bool(bits[bit >> 3] & (1 << (bit & 7)))


def repeat_is_harmless(action: Action, verdict: Ready) -> bool:
    """Whether sending this event's requests again cannot duplicate anything at the provider."""
    return all(
        request.method in SAFE_METHODS
        or (request.repeat or action.repeat) is not Repeat.NOT_IDEMPOTENT
        for request in verdict.requests
    )


async def _hand_over(chunks: list[list[_Work]], lanes: list[asyncio.Queue[Any]]) -> None:
    """Put each lane's gathered work on its queue as one chunk, and start new chunks."""
    for position, chunk in enumerate(chunks):
        if chunk:
            chunks[position] = []
            await lanes[position].put(chunk)


async def _supervise(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for every task; the first failure stops the run at once (no task is left waiting
    for another that died), as RunStopped unless it already says why the run stops."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is None:
                continue
            if isinstance(error, (RunStopped, KeyboardInterrupt)) or _is_source_error(error):
                raise error
            if isinstance(error, LedgerError):
                raise RunStopped(str(error)) from None
            raise RunStopped(
                f"the sending machinery failed ({type(error).__name__}: {error}); what was "
                "on the wire is recorded in doubt"
            ) from error


def _is_source_error(error: BaseException) -> bool:
    from cdpctl.delivery.sources import SourceError

    return isinstance(error, SourceError)


def _reason_shape(reason: str) -> str:
    """Group failures by their kind: `HTTP 400: …` → `HTTP 400`, `network error after 5
    attempts: ConnectError: …` → up to the error's type; other reasons whole, or cut at a word
    boundary (never mid-word) when long."""
    if reason.startswith("HTTP "):
        return reason.split(":", 1)[0]
    if reason.startswith("network error"):
        return ":".join(reason.split(":", 2)[:2])
    if len(reason) <= 160:
        return reason
    return reason[:160].rsplit(" ", 1)[0] + " …"
