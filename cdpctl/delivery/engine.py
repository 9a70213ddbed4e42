"""Replay: stream events through a destination — rendered only (dry run) or delivered (live).

Live delivery keeps each user's events in order (one lane per hash of userId/anonymousId),
batches where the action allows it, paces against the destination's rate limit, retries, and
records every outcome in the ledger; an event is either delivered or dead-lettered with why.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cdpctl import codes, triggers
from cdpctl.delivery import ledger as ledger_states
from cdpctl.delivery.deadletter import DeadLetters
from cdpctl.delivery.ledger import Key, Ledger, Outcome
from cdpctl.delivery.limits import RetryPolicy, SharedPacer
from cdpctl.delivery.sources import Record
from cdpctl.delivery.stats import ReplayStats
from cdpctl.delivery.transport import Exchange, NetworkFailure, PlanFailed, Transport, drive
from cdpctl.diagnostics import Severity
from cdpctl.pipeline import CompiledSubscription, Destination, dry_run, map_event
from cdpctl.providers.base import ActionContext, ActionFailed, ItemResult, Plan, Skip
from cdpctl.secrets import Redactor

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
    requests_per_second: float | None = None
    concurrency: int = 8
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batching: bool = True
    batch_size: int | None = None
    resend_in_doubt: bool = False
    force: bool = False
    timeout: float = 10.0


def event_key(destination: str, subscription: str, record: Record) -> Key:
    """Ledger key: the event's messageId, else a hash of its bytes (stable across runs)."""
    event = record.event or {}
    message_id = event.get("messageId")
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
    records: Iterable[Record],
    filters: Filters,
    stats: ReplayStats,
    dead_letters: DeadLetters | None,
) -> Iterator[Record]:
    """Malformed records are counted (and dead-lettered when live); filters drop the rest."""
    accepted = 0
    for record in records:
        if filters.limit is not None and accepted >= filters.limit:
            return
        stats.events_read += 1
        if record.event is None:
            stats.malformed += 1
            stats.note_error(
                codes.JSON_SYNTAX, record.error or "malformed record", f"line {record.number}"
            )
            if dead_letters is not None:
                dead_letters.write(
                    reason=f"line {record.number}: {record.error}",
                    raw=record.raw,
                    line=record.number,
                )
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


def where_predicate(fql: str | None) -> Callable[[dict[str, Any]], bool] | None:
    return triggers.compile_trigger(fql) if fql else None


# --- dry run ---------------------------------------------------------------------------------


def render_records(destination: Destination, records: Iterable[Record], stats: ReplayStats) -> None:
    """Dry run: match, map, validate and build every request; count, never send."""
    ctx = destination.context(dry_run=True)
    settings = ctx.settings
    enabled = [(s, stats.sub(s.name)) for s in destination.subscriptions if s.enabled]
    for record in records:
        event = record.event
        for sub, counters in enabled:
            if not sub.matches(event):
                counters.no_match += 1
                continue
            counters.matched += 1
            payload, errors = map_event(sub, event, settings)
            if payload is None or (errors and any(e.severity is Severity.ERROR for e in errors)):
                counters.invalid += 1
                for error in errors:
                    if error.severity is Severity.ERROR:
                        stats.note_error(error.code, error.message, f"line {record.number}")
                continue
            try:
                requests = dry_run(sub.action.plan(payload, ctx))
            except Skip:
                counters.skipped += 1
                continue
            except ActionFailed as failure:
                counters.invalid += 1
                stats.note_error(codes.PAYLOAD_RULE, failure.reason, f"line {record.number}")
                continue
            counters.would_send += 1
            stats.requests += len(requests)
            for request in requests:
                stats.bytes_sent += len(request.body())


# --- live ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    status: int | None
    body: str | None
    attempts: int


@dataclass(slots=True)
class _Work:
    sub: CompiledSubscription
    payload: dict[str, Any]
    record: Record
    key: Key


@dataclass(slots=True)
class LiveRun:
    """State of one live replay (one process): shared pieces are passed in."""

    destination: Destination
    options: LiveOptions
    ledger: Ledger
    dead_letters: DeadLetters
    pacer: SharedPacer
    stats: ReplayStats
    redactor: Redactor
    recorder: Callable[[dict[str, Any]], None] | None = None
    on_progress: Callable[[ReplayStats], None] | None = None

    async def run(self, records: Iterable[Record] | AsyncIterator[Record]) -> None:
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
                await self._produce(records, lanes, ctx)
                for queue in lanes:
                    await queue.put(None)
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                self._absorb(transport)

    def _absorb(self, transport: Transport) -> None:
        counters = transport.counters
        self.stats.requests += counters.requests
        self.stats.retries += counters.retries
        self.stats.throttled += counters.throttled
        self.stats.network_errors += counters.network_errors
        self.stats.bytes_sent += counters.bytes_sent
        counters.requests = counters.retries = counters.throttled = 0
        counters.network_errors = counters.bytes_sent = 0

    async def _produce(
        self,
        records: Iterable[Record] | AsyncIterator[Record],
        lanes: list[asyncio.Queue],
        ctx: ActionContext,
    ) -> None:
        destination_name = self.destination.file.name
        subscriptions = [s for s in self.destination.subscriptions if s.enabled]
        count = 0
        async for record in _as_async(records):
            count += 1
            event = record.event
            assert event is not None
            for sub in subscriptions:
                counters = self.stats.sub(sub.name)
                if not sub.matches(event):
                    counters.no_match += 1
                    continue
                counters.matched += 1
                key = event_key(destination_name, sub.name, record)
                if not self.options.force:
                    state = self.ledger.state(key)
                    if state in ledger_states.FINAL_STATES:
                        counters.already_done += 1
                        continue
                    if state == ledger_states.SENDING and not self.options.resend_in_doubt:
                        counters.in_doubt += 1
                        self._fail(
                            _Work(sub, {}, record, key), IN_DOUBT, None, None, 0, count=False
                        )
                        continue
                payload, errors = map_event(sub, event, ctx.settings)
                real = [e for e in errors if e.severity is Severity.ERROR]
                if payload is None or real:
                    counters.invalid += 1
                    reason = "; ".join(f"{e.code} {e.message}" for e in real) or "mapping failed"
                    for error in real:
                        self.stats.note_error(error.code, error.message, f"line {record.number}")
                    self._fail(
                        _Work(sub, {}, record, key),
                        f"invalid payload: {reason}",
                        None,
                        None,
                        0,
                        count=False,
                    )
                    continue
                lane = lanes[partition_of(event, len(lanes))]
                await lane.put(_Work(sub, payload, record, key))
            if count % 256 == 0:
                await asyncio.sleep(0)
                if self.on_progress is not None:
                    self.on_progress(self.stats)

    async def _lane(self, queue: asyncio.Queue, transport: Transport, ctx: ActionContext) -> None:
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
            await self._send_batch(batch, transport, ctx)

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
                    await self._send_one(work, transport, ctx)
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

    async def _drive(self, plan: Plan, transport: Transport) -> tuple[list[Exchange], Any]:
        """Run a plan; a failure comes back as `_Failure` (with what was sent), not raised."""
        try:
            return await drive(plan, transport.send)
        except PlanFailed as failure:
            attempts = failure.exchanges[-1].attempts if failure.exchanges else 0
            return failure.exchanges, _Failure(
                failure.reason, failure.status, failure.body, attempts
            )
        except NetworkFailure as failure:
            return [], _Failure(str(failure), None, None, self.options.policy.max_attempts)

    async def _send_one(self, work: _Work, transport: Transport, ctx: ActionContext) -> None:
        self.ledger.mark_sending([work.key])
        try:
            exchanges, outcome = await self._drive(
                work.sub.action.plan(work.payload, ctx), transport
            )
        except Skip as skip:
            self._finish(work, ledger_states.SKIPPED, 0, None, skip.reason)
            return
        self._learn_secrets(ctx)
        self._record_exchanges(work, exchanges)
        if isinstance(outcome, _Failure):
            self._fail(work, outcome.reason, outcome.status, outcome.body, outcome.attempts)
            return
        last = exchanges[-1] if exchanges else None
        self._finish(
            work,
            ledger_states.DELIVERED,
            last.attempts if last else 0,
            last.reply.status if last else None,
            None,
        )

    async def _send_batch(
        self, batch: list[_Work], transport: Transport, ctx: ActionContext
    ) -> None:
        """Send a batch; items the provider marks retryable are resent on their own, with
        backoff, until they succeed or run out of attempts."""
        action = batch[0].sub.action
        assert action.plan_batch is not None
        self.ledger.mark_sending([w.key for w in batch])
        round_number = 0
        while batch:
            round_number += 1
            exchanges, outcome = await self._drive(
                action.plan_batch([w.payload for w in batch], ctx), transport
            )
            self._learn_secrets(ctx)
            for work in batch:
                self._record_exchanges(work, exchanges)
            if isinstance(outcome, _Failure):
                for work in batch:
                    self._fail(
                        work,
                        f"batch failed: {outcome.reason}",
                        outcome.status,
                        outcome.body,
                        outcome.attempts,
                    )
                return
            items: list[ItemResult] = outcome or [ItemResult(True)] * len(batch)
            attempts = exchanges[-1].attempts if exchanges else 0
            again = []
            for work, item in zip(batch, items, strict=True):
                if item.skipped:
                    self._finish(work, ledger_states.SKIPPED, attempts, item.status, item.reason)
                elif item.ok:
                    self._finish(work, ledger_states.DELIVERED, attempts, item.status, None)
                elif item.retryable and round_number < self.options.policy.max_attempts:
                    again.append(work)
                else:
                    self._fail(
                        work, item.reason or "rejected in batch", item.status, None, attempts
                    )
            if again:
                self.stats.retries += len(again)
                await asyncio.sleep(self.options.policy.delay(round_number, transport.rng))
            batch = again

    def _learn_secrets(self, ctx: ActionContext) -> None:
        while ctx.secrets_found:
            self.redactor.add(ctx.secrets_found.pop())

    def _finish(
        self, work: _Work, state: str, attempts: int, status: int | None, reason: str | None
    ) -> None:
        self.ledger.record(
            [
                Outcome(
                    work.key,
                    state,
                    attempts,
                    status,
                    self.redactor.text(reason) if reason else None,
                )
            ]
        )
        counters = self.stats.sub(work.sub.name)
        if state == ledger_states.DELIVERED:
            counters.delivered += 1
        else:
            counters.skipped += 1

    def _fail(
        self,
        work: _Work,
        reason: str,
        status: int | None,
        body: str | None,
        attempts: int,
        *,
        count: bool = True,
    ) -> None:
        """Dead-letter the event with why, and record it as failed in the ledger."""
        self.dead_letters.write(
            reason=reason,
            event=work.record.event,
            subscription=work.sub.name,
            status=status,
            response=body,
            attempts=attempts,
            line=work.record.number,
        )
        self.ledger.record(
            [Outcome(work.key, ledger_states.FAILED, attempts, status, self.redactor.text(reason))]
        )
        if count:
            self.stats.sub(work.sub.name).failed += 1
            self.stats.note_error("CDP501", _reason_shape(reason), f"line {work.record.number}")

    def _record_exchanges(self, work: _Work, exchanges: list) -> None:
        if self.recorder is None:
            return
        from cdpctl.output.requests import request_view

        for exchange in exchanges:
            self.recorder(
                {
                    "subscription": work.sub.name,
                    "messageId": work.key.message_id,
                    "line": work.record.number,
                    "attempts": exchange.attempts,
                    "elapsed_ms": round(exchange.elapsed * 1000, 1),
                    "request": request_view(exchange.request, self.redactor),
                    "response": {
                        "status": exchange.reply.status,
                        "headers": {
                            k: self.redactor.text(v) for k, v in exchange.reply.headers.items()
                        },
                        "body": self.redactor.text(exchange.reply.text),
                    },
                }
            )


async def _as_async(records: Iterable[Record] | AsyncIterator[Record]) -> AsyncIterator[Record]:
    if isinstance(records, AsyncIterator):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


def _reason_shape(reason: str) -> str:
    """Group failures by their first clause (`HTTP 400: …` → `HTTP 400`)."""
    return reason.split(":", 1)[0] if reason.startswith(("HTTP ", "batch failed")) else reason[:80]


def default_state_path(events: str) -> Path:
    return Path("cdpctl-replay.sqlite") if events == "-" else Path(events + ".cdpctl-state.sqlite")


def default_dead_letter_path(events: str) -> Path:
    return (
        Path("cdpctl-dead-letter.ndjson") if events == "-" else Path(events + ".dead-letter.ndjson")
    )
