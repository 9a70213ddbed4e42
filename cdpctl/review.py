"""Render the same events through two mapping files and compare the requests they produce."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cdpctl.delivery.sources import Record
from cdpctl.diffing import Change, diff
from cdpctl.output.requests import request_view
from cdpctl.pipeline import Destination, SubscriptionResult, render_event

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
    line: int
    message_id: str | None
    subscriptions: tuple[SubscriptionDiff, ...]

    @property
    def changed(self) -> bool:
        return any(s.verdict != UNCHANGED for s in self.subscriptions)


@dataclass(slots=True)
class ReviewSummary:
    events: int = 0
    malformed: int = 0
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, verdict: str) -> int:
        return sum(n for (_, v), n in self.verdicts.items() if v == verdict)

    @property
    def changed(self) -> int:
        """Events × subscriptions whose requests differ in any way."""
        return sum(self.count(v) for v in VERDICTS if v != UNCHANGED)

    def by_subscription(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for (name, verdict), count in self.verdicts.items():
            counts.setdefault(name, dict.fromkeys(VERDICTS, 0))[verdict] = count
        return counts


def _rendered(results: list[SubscriptionResult], destination: Destination) -> dict[str, Any]:
    """Per matched subscription: its requests as data (secrets redacted), or its errors."""
    redactor = destination.redactor()
    views: dict[str, Any] = {}
    for result in results:
        if not result.matched:
            continue
        if result.has_errors:
            views[result.subscription.name] = {
                "errors": [
                    f"{e.code} {e.message}" for e in result.errors if e.severity.value == "error"
                ]
            }
        else:
            views[result.subscription.name] = {
                "requests": [request_view(r, redactor) for r in result.requests],
                "skipped": result.reason,
            }
    return views


def compare_event(
    old: Destination, new: Destination, event: dict[str, Any], line: int
) -> EventDiff:
    before = _rendered(render_event(old, event, old.context(dry_run=True), explain=False), old)
    after = _rendered(render_event(new, event, new.context(dry_run=True), explain=False), new)
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
    return EventDiff(line, message_id if isinstance(message_id, str) else None, tuple(found))


def review(
    old: Destination, new: Destination, records: Iterable[Record], summary: ReviewSummary
) -> Iterator[EventDiff]:
    """Every event's comparison (lazily), counting verdicts into `summary` as it goes."""
    for record in records:
        summary.events += 1
        if record.event is None:
            summary.malformed += 1
            continue
        result = compare_event(old, new, record.event, record.number)
        for sub in result.subscriptions:
            summary.verdicts[(sub.subscription, sub.verdict)] += 1
        yield result
