"""Counters of a replay: per subscription and overall, mergeable across worker processes.

`ReplayStats.tally` is the one function that counts verdicts; dry runs and live runs both call
it for every matched event, so their verdict columns (matched, invalid, skipped, would send)
cannot disagree. A live run adds what happened to the `Ready` ones: delivered, failed (refused
by the provider or unreachable), already done (an earlier run delivered them), in doubt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from cdpctl.delivery.locations import Location
from cdpctl.delivery.sources import Malformed, Record
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.pipeline import Invalid, NoMatch, Ready, Skipped, Verdict


@dataclass(slots=True)
class SubscriptionStats:
    matched: int = 0
    no_match: int = 0
    invalid: int = 0
    skipped: int = 0
    would_send: int = 0
    # Requests of the Ready verdicts (one plan per event) and their bytes, for the backfill
    # estimate. Not a verdict column: a lookup a provider caches per run (SFMC's token,
    # SendGrid's field list) is planned once per worker's chunk or partition.
    planned_requests: int = 0
    planned_bytes: int = 0
    delivered: int = 0
    failed: int = 0
    already_done: int = 0
    in_doubt: int = 0

    def merge(self, other: SubscriptionStats) -> None:
        for spec in fields(self):
            setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    def as_dict(self) -> dict[str, int]:
        return {
            spec.name: getattr(self, spec.name)
            for spec in fields(self)
            if spec.name not in _PLANNING
        }


_PLANNING = frozenset({"planned_requests", "planned_bytes"})


_TOTALS = (
    "events_read",
    "malformed",
    "malformed_before",
    "filtered_out",
    "planned_requests",
    "planned_bytes",
    "requests",
    "retries",
    "throttled",
    "network_errors",
    "bytes_sent",
    "throttle_wait",
    "queued",
    "settled_in_run",
    "identifies_merged",
    "plan_blocked",
)
# What as_dict reports: the totals and the derived count of events violating the plan.
_REPORTED = (*_TOTALS[:-1], "plan_violating", "plan_blocked")
IN_DOUBT_LISTED = 10  # in-doubt events named in a summary (all of them are in the ledger)


@dataclass(slots=True)
class ReplayStats:
    events_read: int = 0
    malformed: int = 0
    # live --resume: malformed records an earlier run of the ledger already dead-lettered and
    # reported; read again, not reported again, and they do not fail this run
    malformed_before: int = 0
    filtered_out: int = 0
    planned_requests: int = 0  # requests of the Ready verdicts, one plan per event
    planned_bytes: int = 0
    requests: int = 0  # live: HTTP requests really sent, attempts included
    retries: int = 0
    throttled: int = 0
    network_errors: int = 0
    bytes_sent: int = 0
    throttle_wait: float = 0.0  # live: seconds spent waiting out 429s and Retry-After
    queued: int = 0  # live: events accepted for sending (not already done, not in doubt)
    in_flight: int = 0  # live: events on the wire now (a gauge for progress; not merged)
    settled_in_run: int = 0  # live: of `queued`, those delivered, failed or in doubt
    identifies_merged: int = 0  # --coalesce-identify: identifies folded into a later one
    plan_blocked: int = 0  # events that break the tracking plan, not judged (--plan-mode block)
    #: violating events by the event they claim to be: `"Order Completed"`, `identify`
    plan_violating_events: Counter[str] = field(default_factory=Counter)
    subscriptions: dict[str, SubscriptionStats] = field(default_factory=dict)
    #: errors counted by (code, shape); the shape is the field a finding is about, or the
    #: message when it names none, so "total is "13", not a number" and "… "10" …" count once
    error_groups: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: the earliest record of each group: its location and its message
    error_examples: dict[tuple[str, str], tuple[Location, str]] = field(default_factory=dict)
    #: the first in-doubt events, by location: (where, messageId)
    in_doubt_events: list[tuple[Location, str]] = field(default_factory=list)

    def sub(self, name: str) -> SubscriptionStats:
        stats = self.subscriptions.get(name)
        if stats is None:
            stats = self.subscriptions[name] = SubscriptionStats()
        return stats

    def tally(self, counters: SubscriptionStats, verdict: Verdict, at: Record) -> None:
        """Count one verdict of one subscription of the event `at`."""
        if type(verdict) is NoMatch:
            counters.no_match += 1
        elif type(verdict) is Ready:
            size = sum(len(request.body()) for request in verdict.requests)
            self.tally_ready(counters, 1, len(verdict.requests), size)
        elif type(verdict) is Invalid:
            counters.matched += 1
            counters.invalid += 1
            for problem in verdict.diagnostics:
                if problem.severity is Severity.ERROR:
                    self.note_diagnostic(problem, at)
        elif type(verdict) is Skipped:
            counters.matched += 1
            counters.skipped += 1

    def tally_ready(
        self, counters: SubscriptionStats, events: int, requests: int, size: int
    ) -> None:
        """Count `events` Ready verdicts at once, with their planned requests and body bytes
        (the dry run counts in bulk)."""
        counters.matched += events
        counters.would_send += events
        counters.planned_requests += requests
        counters.planned_bytes += size
        self.planned_requests += requests
        self.planned_bytes += size

    def note_error(
        self, code: str, message: str, at: Record | Malformed, shape: str | None = None
    ) -> None:
        """Count an error in its group, keeping the earliest record's location and message (in
        reading order, whichever order the records were judged in)."""
        group = (code, message if shape is None else shape)
        self.error_groups[group] += 1
        self._keep_example(group, (at.where, message))

    def note_diagnostic(self, problem: Diagnostic, at: Record, within: str = "") -> None:
        """Group a finding by rule and the field it is about (`within` one kind of event)."""
        shape = ".".join(map(str, problem.json_path)) if problem.json_path else None
        if shape is not None and within:
            shape = f"{within}: {shape}"
        self.note_error(problem.code, problem.message, at, shape)

    def note_in_doubt(self, message_id: str, at: Record) -> None:
        """Name an in-doubt event in the summary (the first IN_DOUBT_LISTED by location)."""
        listed = self.in_doubt_events
        if len(listed) < IN_DOUBT_LISTED or at.where < listed[-1][0]:
            listed.append((at.where, message_id))
            listed.sort()
            del listed[IN_DOUBT_LISTED:]

    def _keep_example(self, group: tuple[str, str], example: tuple[Location, str]) -> None:
        kept = self.error_examples.get(group)
        if kept is None or example[0] < kept[0]:
            self.error_examples[group] = example

    def errors(self) -> list[tuple[str, str, int, Location]]:
        """(code, message, count, first location): most frequent first, ties by the first
        location, then code and message (groups first seen in the same record), so any engine
        and any number of workers list them in the same order."""
        listed = []
        for group, count in self.error_groups.items():
            where, message = self.error_examples[group]
            listed.append((group[0], message, count, where))
        return sorted(listed, key=lambda error: (-error[2], error[3], error[0], error[1]))

    @property
    def failed(self) -> int:
        """Events that were not sent and need the user's attention (decides the exit code)."""
        return (
            sum(s.failed + s.in_doubt + s.invalid for s in self.subscriptions.values())
            + self.malformed
            + self.plan_blocked
        )

    @property
    def plan_violating(self) -> int:
        """Events that break the tracking plan (--plan)."""
        return sum(self.plan_violating_events.values())

    @property
    def delivered(self) -> int:
        return sum(s.delivered for s in self.subscriptions.values())

    def merge(self, other: ReplayStats) -> None:
        for name in _TOTALS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, stats in other.subscriptions.items():
            self.sub(name).merge(stats)
        self.plan_violating_events.update(other.plan_violating_events)
        self.error_groups.update(other.error_groups)
        for group, example in other.error_examples.items():
            self._keep_example(group, example)
        self.in_doubt_events = sorted(self.in_doubt_events + other.in_doubt_events)[
            :IN_DOUBT_LISTED
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in _REPORTED},
            "throttle_wait": round(self.throttle_wait, 3),
            "plan_violating_events": dict(self.plan_violating_events.most_common()),
            "subscriptions": {k: v.as_dict() for k, v in self.subscriptions.items()},
            "errors": [
                {"code": code, "message": message, "count": count, "first": str(first)}
                for code, message, count, first in self.errors()
            ],
            "in_doubt_events": [
                {"at": str(where), "messageId": message_id}
                for where, message_id in self.in_doubt_events
            ],
        }
