"""Render the same events through two mapping files and compare the requests they produce."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cdpctl.delivery.locations import Location
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.diagnostics import format_json_path
from cdpctl.diffing import Change, diff
from cdpctl.pipeline import Destination, Invalid, Ready, Skipped, evaluate_all
from cdpctl.requestview import request_view

CHANGED = "changed"
UNCHANGED = "unchanged"
NEWLY_MATCHED = "newly matched"
NO_LONGER_MATCHED = "no longer matched"
INVALID_BOTH = "invalid under both"  # nothing sent before or after: neither a change nor the same
VERDICTS = (CHANGED, UNCHANGED, NEWLY_MATCHED, NO_LONGER_MATCHED, INVALID_BOTH)
#: Verdicts that leave traffic as it was.
SAME_TRAFFIC = (UNCHANGED, INVALID_BOTH)


@dataclass(frozen=True, slots=True)
class SubscriptionDiff:
    subscription: str
    verdict: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class EventDiff:
    location: Location
    message_id: str | None
    subscriptions: tuple[SubscriptionDiff, ...]

    @property
    def changed(self) -> bool:
        return any(s.verdict not in SAME_TRAFFIC for s in self.subscriptions)


@dataclass(slots=True)
class ReviewSummary:
    events: int = 0
    malformed: int = 0
    changed_events: int = 0  # events with at least one subscription whose traffic changed
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (subscription, field, kind) → events in which that field was added, changed or removed
    fields: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def count(self, verdict: str) -> int:
        return sum(n for (_, v), n in self.verdicts.items() if v == verdict)

    @property
    def changed(self) -> int:
        """Events × subscriptions whose requests differ in any way."""
        return sum(self.count(v) for v in VERDICTS if v not in SAME_TRAFFIC)

    def merge(self, other: ReviewSummary) -> None:
        """Add another part's counts (merge parts in reading order to keep the order in which
        subscriptions are listed)."""
        self.events += other.events
        self.malformed += other.malformed
        self.changed_events += other.changed_events
        self.verdicts.update(other.verdicts)
        self.fields.update(other.fields)

    def by_subscription(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for (name, verdict), count in self.verdicts.items():
            counts.setdefault(name, dict.fromkeys(VERDICTS, 0))[verdict] = count
        return counts

    def by_field(self) -> list[tuple[str, str, dict[str, int]]]:
        """(subscription, field, {added, changed, removed: events}), most events first."""
        grouped: dict[tuple[str, str], dict[str, int]] = {}
        for (name, where, kind), count in self.fields.items():
            grouped.setdefault((name, where), dict.fromkeys(CHANGE_KINDS, 0))[kind] += count
        rows = [(name, where, counts) for (name, where), counts in grouped.items()]
        rows.sort(key=lambda row: (-sum(row[2].values()), row[0], row[1]))
        return rows


CHANGE_KINDS = ("added", "changed", "removed")


def field_name(path: tuple[str | int, ...]) -> str:
    """A change's place as one name for every event: the request index is kept (a lookup and a
    write are different requests), positions inside a body or an error list become `[*]`."""
    parts: list[str | int] = [
        part if not isinstance(part, int) or index == 1 else "*" for index, part in enumerate(path)
    ]
    return format_json_path(tuple(parts)).replace("['*']", "[*]")


def _sent(request: Any, redactor: Any) -> dict[str, Any]:
    """What goes on the wire (method, URL, headers, body), redacted: a request view without
    its description (`purpose`), which is not sent."""
    view = request_view(request, redactor)
    view.pop("purpose", None)
    return view


def _rendered(destination: Destination, event: dict[str, Any]) -> dict[str, Any]:
    """Per matched subscription: the requests it sends (secrets redacted; none when skipped),
    or its errors when the event is invalid."""
    redactor = destination.redactor()
    views: dict[str, Any] = {}
    ctx = destination.context(dry_run=True)
    for sub, verdict in evaluate_all(destination, event, ctx, explain=False):
        if isinstance(verdict, Invalid):
            views[sub.name] = {
                "invalid": [f"{d.code} {d.message}" for d in verdict.diagnostics if d.is_error]
            }
        elif isinstance(verdict, Skipped):
            views[sub.name] = {"requests": []}
        elif isinstance(verdict, Ready):
            views[sub.name] = {"requests": [_sent(r, redactor) for r in verdict.requests]}
    return views


def compare_event(
    old: Destination, new: Destination, event: dict[str, Any], location: Location
) -> EventDiff:
    before = _rendered(old, event)
    after = _rendered(new, event)
    found = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after:
            found.append(SubscriptionDiff(name, NO_LONGER_MATCHED))
        elif name not in before:
            found.append(SubscriptionDiff(name, NEWLY_MATCHED))
        elif "invalid" in before[name] and "invalid" in after[name]:
            found.append(SubscriptionDiff(name, INVALID_BOTH))
        else:
            changes = tuple(diff(before[name], after[name]))
            found.append(SubscriptionDiff(name, CHANGED if changes else UNCHANGED, changes))
    message_id = event.get("messageId")
    return EventDiff(location, message_id if isinstance(message_id, str) else None, tuple(found))


def review(
    old: Destination,
    new: Destination,
    records: Iterable[Record | Malformed],
    summary: ReviewSummary,
) -> Iterator[EventDiff]:
    """Every event's comparison (lazily), counting verdicts into `summary` as it goes."""
    for record in records:
        summary.events += 1
        if isinstance(record, Malformed):
            summary.malformed += 1
            continue
        result = compare_event(old, new, record.event, record.where)
        for sub in result.subscriptions:
            summary.verdicts[(sub.subscription, sub.verdict)] += 1
            for where, kind in {(field_name(c.path), c.kind) for c in sub.changes}:
                summary.fields[(sub.subscription, where, kind)] += 1
        summary.changed_events += result.changed
        yield result


def collect_changed(
    old: Destination,
    new: Destination,
    records: Iterable[Record | Malformed],
    summary: ReviewSummary,
    shown: list[EventDiff],
    show: int,
) -> None:
    """Review every record into `summary`, keeping the first `show` changed events in
    `shown` (filled as it goes, so what came before a broken archive is kept)."""
    for event_diff in review(old, new, records, summary):
        if event_diff.changed and len(shown) < show:
            shown.append(event_diff)
