"""Replay: stream events through a destination — rendered only (dry run) or delivered (live).

Live delivery keeps each user's events in order (one lane per hash of userId/anonymousId),
batches where the action allows it, paces against the destination's rate limit, retries, and
records every outcome in the ledger; an event is either delivered or dead-lettered with why.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdpctl import codes, triggers
from cdpctl.delivery import ledger as ledger_states
from cdpctl.delivery.deadletter import DeadLetterError, DeadLetters
from cdpctl.delivery.ledger import Key, Ledger, Outcome
from cdpctl.delivery.limits import RetryPolicy, SharedPacer
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.delivery.stats import ReplayStats, SubscriptionStats
from cdpctl.delivery.transport import Exchange, ItemOutcome, Transport, deliver
from cdpctl.pipeline import CompiledSubscription, Destination, Invalid, Ready, evaluate
from cdpctl.providers.base import ActionContext
from cdpctl.requestview import exchange_view
from cdpctl.secrets import Redactor

if TYPE_CHECKING:
    from cdpctl.plans.checker import PlanChecker

BATCH_LINGER = 0.2  # seconds a lane waits for more events before sending a partial batch
LANE_PENDING = 1000  # events a lane may hold in unsent batches (bounds memory)
_NOTHING: Any = object()  # "no new work arrived before the linger deadline"
IN_DOUBT = (
    "in doubt: an earlier run was interrupted while sending this event; it may or may not "
    "have been delivered (use --resend-in-doubt to send it again)"
)


@dataclass(frozen=True, slots=True)
class Filters:
    limit: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    where: Callable[[dict[str, Any]], bool] | None = None


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
    timeout: float = 10.0


def event_key(destination: str, subscription: str, record: Record) -> Key:
    """Ledger key: the event's messageId, else a hash of its bytes (stable across runs)."""
    message_id = record.event.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        message_id = "sha1:" + hashlib.sha1(record.raw).hexdigest()
    return Key(destination, subscription, message_id)


def partition_of(event: dict[str, Any], partitions: int) -> int:
    """Stable partition by userId (else anonymousId) so one user's events keep their order."""
    if partitions <= 1:
        return 0
    identity = event.get("userId") or event.get("anonymousId") or event.get("messageId") or ""
    return zlib.crc32(str(identity).encode()) % partitions


def quick_partition(raw: bytes, partitions: int) -> int:
    """Partition from the text of an unparsed event: the first `"userId":"…"` (else
    `"anonymousId":"…"`) it contains, else the whole line. Only used where order does not
    matter (dry runs), since a nested userId may come first."""
    for key in (b'"userId":"', b'"anonymousId":"'):
        start = raw.find(key)
        if start != -1:
            start += len(key)
            return zlib.crc32(raw[start : raw.find(b'"', start)]) % partitions
    return zlib.crc32(raw) % partitions


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def filtered(
    records: Iterable[Record | Malformed],
    filters: Filters,
    stats: ReplayStats,
    on_malformed: Callable[[Malformed], bool] | None = None,
) -> Iterator[Record]:
    """Malformed records are counted (and handed to `on_malformed`: a live run dead-letters
    them, and answers False for one an earlier run already reported, which is counted apart
    and fails nothing again); filters drop the rest."""
    accepted = 0
    for record in records:
        if filters.limit is not None and accepted >= filters.limit:
            return
        stats.events_read += 1
        if isinstance(record, Malformed):
            if on_malformed is not None and not on_malformed(record):
                stats.malformed_before += 1
                continue
            stats.malformed += 1
            stats.note_error(record.code, record.error, record)
            continue
        if filters.since or filters.until:
            stamp = parse_timestamp(record.event.get("timestamp"))
            if (
                stamp is None
                or (filters.since and stamp < filters.since)
                or (filters.until and stamp >= filters.until)
            ):
                stats.filtered_out += 1
                continue
        if filters.where is not None and not filters.where(record.event):
            stats.filtered_out += 1
            continue
        accepted += 1
        yield record


def _plan_label(event: dict[str, Any]) -> str:
    call_type = event.get("type")
    name = event.get("event") if call_type == "track" else event.get("name")
    if isinstance(name, str) and name:
        return json.dumps(name, ensure_ascii=False)
    return call_type if isinstance(call_type, str) else "(no type)"


@dataclass(frozen=True, slots=True)
class PlanGate:
    """`--plan`: every event is checked against the tracking plan; its violations are counted
    by rule, and with `block` a violating event is not judged or sent at all."""

    checker: PlanChecker
    block: bool = False

    def admits(self, record: Record, stats: ReplayStats) -> bool:
        problems = self.checker.violations(record.event)
        if not problems:
            return True
        label = _plan_label(record.event)
        stats.plan_violating_events[label] += 1
        for problem in problems:
            stats.note_diagnostic(problem, record, within=label)
        if self.block:
            stats.plan_blocked += 1
            return False
        return True


def where_predicate(fql: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """`--where` is cdpctl's own filter, so it is strict where Segment's trigger parser is
    lenient: anything Segment would read differently (a doubled "=", an ignored value) is a
    TriggerSyntaxError rather than a filter that silently drops every event."""
    if not fql:
        return None
    parsed = triggers.parse(fql)
    if parsed.warnings:
        first = parsed.warnings[0]
        raise triggers.TriggerSyntaxError(first.message, first.column)
    return triggers.compile_trigger(parsed)


# --- dry run ---------------------------------------------------------------------------------


DryRenderer = Callable[[Iterable[Record], ReplayStats], None]


def dry_renderer(destination: Destination, plan: PlanGate | None = None) -> DryRenderer:
    """`render_records` for `destination`, prepared once: on generated functions unless
    CDPCTL_FASTPATH=0 (cdpctl.fastpath; the same counts, faster)."""
    from cdpctl import fastpath

    if fastpath.enabled():
        from cdpctl.delivery.fast import FastRenderer

        return FastRenderer(destination, plan)
    # One context for every call, as the fast renderer keeps: what a plan caches in it (a
    # token, a looked-up id) must not depend on how a worker's events were chunked.
    return partial(render_records, destination, plan=plan, ctx=destination.context(dry_run=True))


def render_records(
    destination: Destination,
    records: Iterable[Record],
    stats: ReplayStats,
    plan: PlanGate | None = None,
    ctx: ActionContext | None = None,
) -> None:
    """Dry run: every event's verdict for every subscription, counted; nothing is sent."""
    ctx = ctx or destination.context(dry_run=True)
    enabled = [(s, stats.sub(s.name)) for s in destination.subscriptions if s.enabled]
    tally = stats.tally
    for record in records:
        if plan is not None and not plan.admits(record, stats):
            continue
        event = record.event
        for sub, counters in enabled:
            tally(counters, evaluate(sub, event, ctx), record)


# --- live ------------------------------------------------------------------------------------


class RunStopped(Exception):
    """The run cannot go on safely (the dead-letter file cannot be written)."""


@dataclass(slots=True)
class _Work:
    sub: CompiledSubscription
    payload: dict[str, Any]
    record: Record
    key: Key


@dataclass(slots=True)
class LiveRun:
    """One live replay: the same verdicts as a dry run, and the `Ready` ones delivered.

    Each user's events keep their order (one lane per hash of userId/anonymousId); batches form
    per subscription within a lane. Every outcome goes to the ledger, and every event that is
    not delivered goes to the dead-letter file (first) with why."""

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
    _error: Exception | None = None  # what stopped a lane; the producer re-raises it

    async def run(self, records: Iterable[Record]) -> None:
        import httpx

        limits = httpx.Limits(
            max_connections=self.options.concurrency * 2,
            max_keepalive_connections=self.options.concurrency * 2,
        )
        async with httpx.AsyncClient(timeout=self.options.timeout, limits=limits) as client:
            transport = Transport(
                client,
                self.destination.provider.is_retryable,
                pacer=self.pacer,
                policy=self.options.policy,
                endpoint=self.options.endpoint,
            )
            ctx = self.destination.context(dry_run=False)
            lanes = [
                asyncio.Queue[_Work | None](maxsize=256) for _ in range(self.options.concurrency)
            ]
            workers = [asyncio.create_task(self._lane(queue, transport, ctx)) for queue in lanes]
            try:
                await self._produce(records, lanes)
                for queue in lanes:
                    await queue.put(None)
                await asyncio.gather(*workers)
                if self._error is not None:
                    raise self._error
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                self._absorb(transport)

    def _absorb(self, transport: Transport) -> None:
        counters = transport.counters
        self.stats.requests += counters.requests
        self.stats.retries += counters.retries
        self.stats.throttled += counters.throttled
        self.stats.network_errors += counters.network_errors
        self.stats.bytes_sent += counters.bytes_sent

    def malformed(self, record: Malformed) -> bool:
        """Dead-letter a malformed record once, however often the run is resumed: False when
        an earlier run already did."""
        key = Key(self.destination.file.name, ledger_states.MALFORMED, _raw_id(record))
        if not self.options.force and self.ledger.state(key) is not None:
            return False
        self._dead_letter(f"{record.where}: {record.error}", raw=record.raw, line=record.number)
        self.ledger.record([Outcome(key, ledger_states.FAILED, reason=record.error)])
        return True

    async def _produce(
        self,
        records: Iterable[Record],
        lanes: list[asyncio.Queue[_Work | None]],
    ) -> None:
        destination_name = self.destination.file.name
        ctx = self.destination.context(dry_run=True)  # the verdict a dry run would give
        subscriptions = [
            (s, self.stats.sub(s.name)) for s in self.destination.subscriptions if s.enabled
        ]
        for count, record in enumerate(records, start=1):
            if self.plan is not None and not self.plan.admits(record, self.stats):
                self._block(record)
                continue
            event = record.event
            for sub, counters in subscriptions:
                verdict = evaluate(sub, event, ctx)
                self.stats.tally(counters, verdict, record)
                if isinstance(verdict, Invalid):
                    self._refuse(sub, record, verdict, destination_name)
                elif isinstance(verdict, Ready):
                    key = event_key(destination_name, sub.name, record)
                    if self._due(key, sub, record, counters):
                        lane = lanes[partition_of(event, len(lanes))]
                        await lane.put(_Work(sub, verdict.payload, record, key))
                        if self._error is not None:
                            raise self._error
            if count % 64 == 0:
                await asyncio.sleep(0)
                if self.on_progress is not None:
                    self.on_progress(self.stats)

    def _block(self, record: Record) -> None:
        """An event the tracking plan blocks is dead-lettered, once, with its violations."""
        key = Key(
            self.destination.file.name, ledger_states.BLOCKED, event_key("", "", record).message_id
        )
        if not self.options.force and self.ledger.state(key) is not None:
            return
        assert self.plan is not None
        problems = self.plan.checker.violations(record.event)
        reason = "blocked by the tracking plan: " + "; ".join(
            f"{p.code} {p.message}" for p in problems
        )
        self._dead_letter(reason, event=record.event, line=record.number)
        self.ledger.record([Outcome(key, ledger_states.FAILED, reason=reason)])

    def _due(
        self, key: Key, sub: CompiledSubscription, record: Record, counters: SubscriptionStats
    ) -> bool:
        """Whether a Ready event is sent in this run, by what the ledger says of it."""
        if self.options.force:
            return True
        state = self.ledger.state(key)
        if state is None:
            return True
        if state in ledger_states.FINAL_STATES:
            counters.already_done += 1
            return False
        if self.options.resend_in_doubt:
            return True
        counters.in_doubt += 1
        if state == ledger_states.SENDING:  # first report of it: once, never again
            self._dead_letter(
                IN_DOUBT, event=record.event, subscription=sub.name, line=record.number
            )
            self.ledger.record([Outcome(key, ledger_states.IN_DOUBT, reason=IN_DOUBT)])
        return False

    def _refuse(
        self, sub: CompiledSubscription, record: Record, verdict: Invalid, destination: str
    ) -> None:
        """An invalid payload is dead-lettered with its errors, once."""
        key = event_key(destination, sub.name, record)
        if not self.options.force and self.ledger.state(key) is not None:
            return
        errors = [d for d in verdict.diagnostics if d.is_error]
        reason = "invalid payload: " + "; ".join(f"{d.code} {d.message}" for d in errors)
        self._dead_letter(reason, event=record.event, subscription=sub.name, line=record.number)
        self.ledger.record([Outcome(key, ledger_states.FAILED, reason=self.redactor.text(reason))])

    async def _lane(
        self, queue: asyncio.Queue[_Work | None], transport: Transport, ctx: ActionContext
    ) -> None:
        try:
            await self._lane_work(queue, transport, ctx)
        except Exception as error:
            self._error = self._error or error
            while await queue.get() is not None:  # keep the producer from blocking on us
                pass

    async def _lane_work(
        self, queue: asyncio.Queue[_Work | None], transport: Transport, ctx: ActionContext
    ) -> None:
        """One lane: its events in order; batches flush when full, when their oldest event has
        waited BATCH_LINGER, or when the lane holds LANE_PENDING events (flat memory)."""
        pending: dict[str, list[_Work]] = {}
        started: dict[str, float] = {}
        held = 0

        async def flush(name: str) -> None:
            nonlocal held
            batch = pending.pop(name)
            started.pop(name)
            held -= len(batch)
            await self._send(batch, transport, ctx, batched=True)

        while True:
            timeout = None
            if pending:
                timeout = max(0.0, min(started.values()) + BATCH_LINGER - time.monotonic())
            try:
                work = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                work = _NOTHING
            if work is None:
                for name in list(pending):
                    await flush(name)
                return
            if work is not _NOTHING:
                action = work.sub.action
                if not (self.options.batching and action.batch is not None and action.plan_batch):
                    await self._send([work], transport, ctx, batched=False)
                    continue
                if work.sub.name not in pending:
                    pending[work.sub.name] = []
                    started[work.sub.name] = time.monotonic()
                pending[work.sub.name].append(work)
                held += 1
                limit = min(
                    self.options.batch_size or action.batch.max_events, action.batch.max_events
                )
                if len(pending[work.sub.name]) >= limit:
                    await flush(work.sub.name)
            now = time.monotonic()
            for name in [n for n, t in started.items() if now - t >= BATCH_LINGER]:
                await flush(name)
            while held > LANE_PENDING:
                await flush(max(pending, key=lambda n: len(pending[n])))

    async def _send(
        self, batch: list[_Work], transport: Transport, ctx: ActionContext, *, batched: bool
    ) -> None:
        """Deliver one event, or a batch; items the provider marks retryable are resent on
        their own, with backoff, until they succeed or run out of attempts."""
        action = batch[0].sub.action
        round_number = 0
        while batch:
            round_number += 1
            keys = [work.key for work in batch]
            marked = False

            def on_wire(keys: list[Key] = keys) -> None:
                nonlocal marked
                if not marked:
                    marked = True
                    self.ledger.mark_sending(keys)

            if batched and action.plan_batch is not None:
                plan = action.plan_batch([work.payload for work in batch], ctx)
            else:
                plan = action.plan(batch[0].payload, ctx)
            outcome = await deliver(plan, transport, events=len(batch), on_wire=on_wire)
            self._learn_secrets(ctx)
            for work in batch:
                self._record_exchanges(work, outcome.exchanges)
            again = []
            for work, item in zip(batch, outcome.items, strict=True):
                if item.delivered:
                    self.ledger.record(
                        [Outcome(work.key, ledger_states.DELIVERED, item.attempts, item.status)]
                    )
                    self.stats.sub(work.sub.name).delivered += 1
                elif item.retryable and round_number < self.options.policy.max_attempts:
                    again.append(work)
                else:
                    self._fail(work, item)
            if again:
                self.stats.retries += len(again)
                await asyncio.sleep(self.options.policy.delay(round_number, transport.rng))
            batch = again

    def _learn_secrets(self, ctx: ActionContext) -> None:
        while ctx.secrets_found:
            self.redactor.add(ctx.secrets_found.pop())

    def _fail(self, work: _Work, item: ItemOutcome) -> None:
        """Dead-letter the event with why (durably), then record it as failed in the ledger."""
        failure = item.failure
        reason = failure.message if failure is not None else "not delivered"
        self._dead_letter(
            reason,
            event=work.record.event,
            subscription=work.sub.name,
            status=item.status,
            response=item.response,
            attempts=item.attempts,
            line=work.record.number,
        )
        self.ledger.record(
            [
                Outcome(
                    work.key,
                    ledger_states.FAILED,
                    item.attempts,
                    item.status,
                    self.redactor.text(reason),
                )
            ]
        )
        self.stats.sub(work.sub.name).failed += 1
        self.stats.note_error(codes.DELIVERY_FAILED, _reason_shape(reason), work.record)

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


def _raw_id(record: Record | Malformed) -> str:
    return "sha1:" + hashlib.sha1(record.raw).hexdigest()


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


def default_state_path(events: str) -> Path:
    return Path("cdpctl-replay.sqlite") if events == "-" else Path(events + ".cdpctl-state.sqlite")


def default_dead_letter_path(events: str) -> Path:
    return (
        Path("cdpctl-dead-letter.ndjson") if events == "-" else Path(events + ".dead-letter.ndjson")
    )
