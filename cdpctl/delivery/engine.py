"""Replay's reading and judging: filters, partitions, the tracking-plan gate and the dry-run
judge-and-count loop. Live sending is `cdpctl.delivery.live`."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdpctl import triggers
from cdpctl.compiler import Judge
from cdpctl.delivery.ledger import Key
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.delivery.stats import ReplayStats, SubscriptionStats
from cdpctl.pipeline import Destination

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

_FLUSH_EVERY = 1024  # records between bulk updates of the counters (progress, Ctrl-C)


class DryJudge:
    """Dry run: every event judged by every enabled subscription's compiled judge, counted;
    nothing is sent. The one judge-and-count loop of local, worker and Dask runs.

    Each event goes only to the subscriptions whose trigger can match its type. The judges run
    `sized` (cdpctl.compiler): their plain answers (no match; ready with one request of N
    bytes) are counted in bulk, any other verdict by `ReplayStats.tally`. One context serves
    every call: what a plan caches in it (a token, a looked-up id) must not depend on how a
    worker's events were chunked."""

    def __init__(self, destination: Destination, plan: PlanGate | None = None) -> None:
        self.ctx = destination.context(dry_run=True)
        self.plan = plan
        self.subscriptions = [sub for sub in destination.subscriptions if sub.enabled]

    def __call__(self, records: Iterable[Record], stats: ReplayStats) -> None:
        ctx = self.ctx
        plan = self.plan
        tally = stats.tally
        slots = [stats.sub(sub.name) for sub in self.subscriptions]
        everywhere, by_type = self._dispatch()
        ready = [0] * len(slots)
        sizes = [0] * len(slots)
        judged_before = [c.matched + c.no_match for c in slots]
        seen = 0
        try:
            for record in records:
                if plan is not None and not plan.admits(record, stats):
                    continue  # blocked: judged by no subscription
                event = record.event
                for judge, slot in by_type.get(event["type"], everywhere):
                    answer = judge(event, ctx, True)
                    if answer is None:
                        continue
                    if type(answer) is int:
                        ready[slot] += 1
                        sizes[slot] += answer
                    else:
                        tally(slots[slot], answer, record)
                seen += 1
                if seen == _FLUSH_EVERY:
                    self._flush(stats, slots, judged_before, ready, sizes, seen)
                    seen = 0
                    judged_before = [c.matched + c.no_match for c in slots]
        finally:  # also when the archive breaks off: what was read is counted
            self._flush(stats, slots, judged_before, ready, sizes, seen)

    def _dispatch(self) -> tuple[list[tuple[Judge, int]], dict[str, list[tuple[Judge, int]]]]:
        """(judge, slot) pairs for events of any type, and per type a trigger requires."""
        judges = [(sub.judge, slot, sub.event_type) for slot, sub in enumerate(self.subscriptions)]
        everywhere = [(judge, slot) for judge, slot, kind in judges if kind is None]
        by_type = {
            kind: [(judge, slot) for judge, slot, required in judges if required in (None, kind)]
            for _, _, kind in judges
            if kind is not None
        }
        return everywhere, by_type

    @staticmethod
    def _flush(
        stats: ReplayStats,
        slots: list[SubscriptionStats],
        judged_before: list[int],
        ready: list[int],
        sizes: list[int],
        seen: int,
    ) -> None:
        for slot, counters in enumerate(slots):
            if ready[slot]:
                stats.tally_ready(counters, ready[slot], ready[slot], sizes[slot])
            judged = counters.matched + counters.no_match - judged_before[slot]
            counters.no_match += seen - judged  # skipped by type, or answered None
            ready[slot] = sizes[slot] = 0


def raw_id(record: Record | Malformed) -> str:
    """A record's ledger id from its bytes (malformed records have no messageId)."""
    return "sha1:" + hashlib.sha1(record.raw).hexdigest()


def default_state_path(events: str) -> Path:
    return Path("cdpctl-replay.sqlite") if events == "-" else Path(events + ".cdpctl-state.sqlite")


def default_dead_letter_path(events: str) -> Path:
    return (
        Path("cdpctl-dead-letter.ndjson") if events == "-" else Path(events + ".dead-letter.ndjson")
    )
