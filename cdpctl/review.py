"""Render the same events through two mapping files and compare the requests they produce."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cdpctl.delivery.locations import Location
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.diffing import Change, diff
from cdpctl.pipeline import Destination, Invalid, Ready, Skipped, evaluate_all
from cdpctl.requestview import request_view

CHANGED = "changed"
UNCHANGED = "unchanged"
NEWLY_MATCHED = "newly matched"
NO_LONGER_MATCHED = "no longer matched"
VERDICTS = (CHANGED, UNCHANGED, NEWLY_MATCHED, NO_LONGER_MATCHED)


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
        return any(s.verdict != UNCHANGED for s in self.subscriptions)


@dataclass(slots=True)
class ReviewSummary:
    events: int = 0
    malformed: int = 0
    changed_events: int = 0  # events with at least one subscription not unchanged
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, verdict: str) -> int:
        return sum(n for (_, v), n in self.verdicts.items() if v == verdict)

    @property
    def changed(self) -> int:
        """Events × subscriptions whose requests differ in any way."""
        return sum(self.count(v) for v in VERDICTS if v != UNCHANGED)

    def merge(self, other: ReviewSummary) -> None:
        """Add another part's counts (merge parts in reading order to keep the order in which
        subscriptions are listed)."""
        self.events += other.events
        self.malformed += other.malformed
        self.changed_events += other.changed_events
        self.verdicts.update(other.verdicts)

    def by_subscription(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for (name, verdict), count in self.verdicts.items():
            counts.setdefault(name, dict.fromkeys(VERDICTS, 0))[verdict] = count
        return counts


def _rendered(destination: Destination, event: dict[str, Any]) -> dict[str, Any]:
    """Per matched subscription: its requests as data (secrets redacted), or its errors."""
    redactor = destination.redactor()
    views: dict[str, Any] = {}
    ctx = destination.context(dry_run=True)
    for sub, verdict in evaluate_all(destination, event, ctx, explain=False):
        if isinstance(verdict, Invalid):
            views[sub.name] = {
                "errors": [f"{d.code} {d.message}" for d in verdict.diagnostics if d.is_error]
            }
        elif isinstance(verdict, Skipped):
            views[sub.name] = {"requests": [], "skipped": verdict.reason}
        elif isinstance(verdict, Ready):
            views[sub.name] = {
                "requests": [request_view(r, redactor) for r in verdict.requests],
                "skipped": None,
            }
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
        summary.changed_events += result.changed
        yield result
