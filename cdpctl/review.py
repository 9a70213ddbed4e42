"""Judge the same events with two mapping files and compare the requests they produce."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cdpctl.delivery.locations import Location
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.diagnostics import format_json_path
from cdpctl.diffing import Change, diff
from cdpctl.pipeline import (
    CompiledSubscription,
    Destination,
    Disabled,
    Invalid,
    NoMatch,
    Ready,
    Skipped,
    Verdict,
    evaluate,
)
from cdpctl.providers.base import Request
from cdpctl.requestview import request_view
from cdpctl.secrets import Redactor

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


def _sent(request: Request, redactor: Redactor) -> dict[str, Any]:
    """What goes on the wire (method, URL, headers, body), redacted: a request view without
    its description (`purpose`), which is not sent."""
    view = request_view(request, redactor)
    view.pop("purpose", None)
    return view


def _view(verdict: Verdict, redactor: Redactor) -> dict[str, Any]:
    """A matched subscription's side of a comparison: the requests it sends (secrets
    redacted; none when skipped), or its errors when the event is invalid."""
    if isinstance(verdict, Invalid):
        return {"invalid": [f"{d.code} {d.message}" for d in verdict.diagnostics if d.is_error]}
    if isinstance(verdict, Ready):
        return {"requests": [_sent(r, redactor) for r in verdict.requests]}
    return {"requests": []}


def _same_request(before: Request, after: Request) -> bool:
    """Whether two requests put the same bytes on the wire: method, URL, headers and body."""
    if before.method != after.method or before.url != after.url:
        return False
    if before.form != after.form or before.content != after.content:
        return False
    if before.headers != after.headers and before.wire_headers() != after.wire_headers():
        return False
    return before.body() == after.body()


def _same_json(left: Any, right: Any) -> bool:
    """Whether two JSON values serialise to the same bytes (so their views are equal)."""
    if left is right:
        return True
    try:
        return orjson.dumps(left) == orjson.dumps(right)
    except TypeError:  # not plain JSON data: compared in full
        return False


def _unlike(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two objects without the members that serialise alike in both, objects in both
    trimmed likewise: `diff` finds the same changes in the same order in what is left (it
    compares objects by key, so an equal member adds nothing; arrays are kept whole, as it
    compares them by position)."""
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    for key, value in before.items():
        if key not in after:
            left[key] = value
            continue
        theirs = after[key]
        if isinstance(value, dict) and isinstance(theirs, dict):
            left[key], right[key] = _unlike(value, theirs)
        elif not _same_json(value, theirs):
            left[key], right[key] = value, theirs
    for key, value in after.items():
        if key not in before:
            right[key] = value
    return left, right


def _same_value(left: Any, right: Any) -> bool:
    """Equal and of the same types all the way down, keys in the same order (`True == 1` and
    `{"a": 1, "b": 2} == {"b": 2, "a": 1}` in Python, but they map events differently)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same_value(left[k], right[k]) for k in left)
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(
            _same_value(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


def _same_definition(before: CompiledSubscription, after: CompiledSubscription) -> bool:
    """Whether two subscriptions judge every event alike: the same name, trigger, action and
    mapping (under the same provider settings, checked by the caller): each compiles into the
    same judge."""
    return (
        before.name == after.name
        and before.id == after.id
        and before.enabled == after.enabled
        and before.trigger == after.trigger
        and before.action is after.action
        and before.defaulted == after.defaulted
        and _same_value(before.mapping, after.mapping)
    )


def _same_redaction(before: Redactor, after: Redactor) -> bool:
    return before.pairs == after.pairs and [(p.pattern, label) for p, label in before.short] == [
        (p.pattern, label) for p, label in after.short
    ]


#: A verdict of a subscription that was not matched: absent from both sides' comparison.
_UNMATCHED = (Disabled, NoMatch)


class Reviewer:
    """Judges events with two mapping files and compares what they send, prepared once.

    Each event is decoded once (by the caller) and judged by both files' subscriptions. A
    subscription defined alike in both files (same trigger, action and mapping under the same
    settings) is judged once and reused, while its action keeps nothing for later requests of
    the event (an empty `ActionContext.cache`). Requests that put the same bytes on the wire
    are unchanged without building their views; the field-by-field diff is built only for the
    requests that differ. Both files judge an event at the same instant (one clock reading per
    event), so a request that carries the time cannot differ by when it was judged."""

    def __init__(
        self, old: Destination, new: Destination, clock: Callable[[], float] = time.time
    ) -> None:
        self.old = old
        self.new = new
        self.clock = clock
        self.old_redactor = old.redactor()
        self.new_redactor = new.redactor()
        self.same_redaction = _same_redaction(self.old_redactor, self.new_redactor)
        same_settings = (
            old.provider is new.provider
            and self.same_redaction
            and _same_value(old.settings.values, new.settings.values)
        )
        # new subscription index → the old one it is a twin of
        twins: list[int | None] = [None] * len(new.subscriptions)
        if same_settings:
            for index, sub in enumerate(new.subscriptions):
                twins[index] = next(
                    (i for i, o in enumerate(old.subscriptions) if _same_definition(o, sub)),
                    None,
                )
        twinned = set(twins)
        self._old = [(i, sub, i in twinned) for i, sub in enumerate(old.subscriptions)]
        self._new = list(zip(new.subscriptions, twins, strict=True))
        self._context = old.context(dry_run=True)  # the old file's, while it keeps nothing

    def judge(self, event: dict[str, Any]) -> list[tuple[str, str, tuple[Change, ...]]]:
        """(subscription, verdict, changes) for every subscription matched by either file."""
        now = self.clock()

        def clock() -> float:
            return now

        ctx = self._context
        if ctx.cache or ctx.secrets_found:  # else as good as new: nothing else in it changes
            ctx = self._context = self.old.context(dry_run=True)
        ctx.clock = clock
        before: dict[str, Verdict] = {}
        reusable: list[Verdict | None] = [None] * len(self._old)
        for index, sub, twinned in self._old:
            if twinned and not ctx.cache and not ctx.secrets_found:
                verdict = evaluate(sub, event, ctx)
                if not ctx.cache and not ctx.secrets_found:  # it kept nothing for later
                    reusable[index] = verdict
            else:
                verdict = evaluate(sub, event, ctx)
            if not isinstance(verdict, _UNMATCHED):
                before[sub.name] = verdict
        after: dict[str, Verdict] = {}
        fresh = None  # the new file's context, made when a subscription is judged in it
        for sub, twin in self._new:
            reused = reusable[twin] if twin is not None else None
            if reused is not None and (
                fresh is None or (not fresh.cache and not fresh.secrets_found)
            ):
                verdict = reused
            else:
                if fresh is None:
                    fresh = self.new.context(dry_run=True)
                    fresh.clock = clock
                verdict = evaluate(sub, event, fresh)
            if not isinstance(verdict, _UNMATCHED):
                after[sub.name] = verdict
        found: list[tuple[str, str, tuple[Change, ...]]] = []
        for name, old in before.items():
            new = after.get(name)
            if new is None:
                found.append((name, NO_LONGER_MATCHED, ()))
            elif isinstance(old, Invalid) and isinstance(new, Invalid):
                found.append((name, INVALID_BOTH, ()))
            elif old is new:  # judged once: a subscription defined alike in both files
                found.append((name, UNCHANGED, ()))
            else:
                changes = self.changes(old, new)
                found.append((name, CHANGED if changes else UNCHANGED, changes))
        for name in after:
            if name not in before:
                found.append((name, NEWLY_MATCHED, ()))
        return found

    def changes(self, old: Verdict, new: Verdict) -> tuple[Change, ...]:
        """Field-by-field differences of two matched verdicts' views. Requests that put the
        same bytes on the wire have equal views (under equal redaction), so only the others
        are viewed and compared, each at its place in the request list."""
        if isinstance(old, Skipped) and isinstance(new, Skipped):
            return ()  # both views are {"requests": []}
        if (
            self.same_redaction
            and isinstance(old, Ready)
            and isinstance(new, Ready)
            and len(old.requests) == len(new.requests)
        ):
            found: list[Change] = []
            for index, (before, after) in enumerate(zip(old.requests, new.requests, strict=True)):
                if not _same_request(before, after):
                    found += self._request_changes(before, after, ("requests", index))
            return tuple(found)
        return tuple(diff(_view(old, self.old_redactor), _view(new, self.new_redactor)))

    def _request_changes(
        self, before: Request, after: Request, path: tuple[str | int, ...]
    ) -> list[Change]:
        """The differences of two requests' views (same redaction). When only their JSON
        object bodies differ, the members alike in both are left out before viewing (see
        `_unlike`): a large body with one changed field is not redacted and walked whole."""
        body, other = before.json, after.json
        if (
            isinstance(body, dict)
            and isinstance(other, dict)
            and before.form is None
            and after.form is None
            and before.content is None
            and after.content is None
            and before.method == after.method
            and before.url == after.url
            and before.headers == after.headers
        ):
            body, other = _unlike(body, other)
            return diff(
                self.old_redactor.value(body), self.new_redactor.value(other), (*path, "json")
            )
        return diff(_sent(before, self.old_redactor), _sent(after, self.new_redactor), path)


def _event_diff(
    found: list[tuple[str, str, tuple[Change, ...]]], event: dict[str, Any], location: Location
) -> EventDiff:
    message_id = event.get("messageId")
    return EventDiff(
        location,
        message_id if isinstance(message_id, str) else None,
        tuple(SubscriptionDiff(name, verdict, changes) for name, verdict, changes in found),
    )


def collect_changed(
    old: Destination,
    new: Destination,
    records: Iterable[Record | Malformed],
    summary: ReviewSummary,
    shown: list[EventDiff],
    show: int,
    clock: Callable[[], float] = time.time,
) -> None:
    """Review every record into `summary`, keeping the first `show` changed events in
    `shown` (filled as it goes, so what came before a broken archive is kept)."""
    reviewer = Reviewer(old, new, clock)
    judge = reviewer.judge
    verdicts = summary.verdicts
    fields = summary.fields
    same = frozenset(SAME_TRAFFIC)
    events = malformed = changed_events = 0
    try:
        for record in records:
            events += 1
            if isinstance(record, Malformed):
                malformed += 1
                continue
            found = judge(record.event)
            changed = False
            for name, verdict, changes in found:
                verdicts[(name, verdict)] += 1
                if verdict not in same:
                    changed = True
                    for where, kind in {(field_name(c.path), c.kind) for c in changes}:
                        fields[(name, where, kind)] += 1
            if changed:
                changed_events += 1
                if len(shown) < show:
                    shown.append(_event_diff(found, record.event, record.where))
    finally:  # also when the archive breaks off: what was read is counted
        summary.events += events
        summary.malformed += malformed
        summary.changed_events += changed_events
