"""Replay's reading and judging: filters, partitions, the tracking-plan gate and the dry-run
judge loop. Live sending is `cdpctl.delivery.live`."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdpctl import triggers
from cdpctl.delivery.ledger import Key
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.delivery.stats import ReplayStats
from cdpctl.pipeline import Destination, evaluate
from cdpctl.providers.base import ActionContext

if TYPE_CHECKING:
    from cdpctl.plans.checker import PlanChecker


@dataclass(frozen=True, slots=True)
class Filters:
    limit: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    where: Callable[[dict[str, Any]], bool] | None = None


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


def raw_id(record: Record | Malformed) -> str:
    """A record's ledger id from its bytes (malformed records have no messageId)."""
    return "sha1:" + hashlib.sha1(record.raw).hexdigest()


def default_state_path(events: str) -> Path:
    return Path("cdpctl-replay.sqlite") if events == "-" else Path(events + ".cdpctl-state.sqlite")


def default_dead_letter_path(events: str) -> Path:
    return (
        Path("cdpctl-dead-letter.ndjson") if events == "-" else Path(events + ".dead-letter.ndjson")
    )
