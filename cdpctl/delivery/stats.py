"""Counters of a replay: per subscription and overall, mergeable across worker processes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SubscriptionStats:
    matched: int = 0
    no_match: int = 0
    invalid: int = 0
    would_send: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    already_done: int = 0
    in_doubt: int = 0

    def merge(self, other: SubscriptionStats) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class ReplayStats:
    events_read: int = 0
    malformed: int = 0
    filtered_out: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    network_errors: int = 0
    bytes_sent: int = 0
    subscriptions: dict[str, SubscriptionStats] = field(default_factory=dict)
    error_groups: Counter[tuple[str, str]] = field(default_factory=Counter)
    error_examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def sub(self, name: str) -> SubscriptionStats:
        stats = self.subscriptions.get(name)
        if stats is None:
            stats = self.subscriptions[name] = SubscriptionStats()
        return stats

    def note_error(self, code: str, message: str, example: str) -> None:
        """Group errors by rule and message shape, keeping the first example location."""
        group = (code, message)
        self.error_groups[group] += 1
        self.error_examples.setdefault(group, example)

    @property
    def failed(self) -> int:
        return (
            sum(s.failed + s.in_doubt + s.invalid for s in self.subscriptions.values())
            + self.malformed
        )

    @property
    def delivered(self) -> int:
        return sum(s.delivered for s in self.subscriptions.values())

    def merge(self, other: ReplayStats) -> None:
        for name in (
            "events_read",
            "malformed",
            "filtered_out",
            "requests",
            "retries",
            "throttled",
            "network_errors",
            "bytes_sent",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, stats in other.subscriptions.items():
            self.sub(name).merge(stats)
        self.error_groups.update(other.error_groups)
        for group, example in other.error_examples.items():
            self.error_examples.setdefault(group, example)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_read": self.events_read,
            "malformed": self.malformed,
            "filtered_out": self.filtered_out,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "network_errors": self.network_errors,
            "bytes_sent": self.bytes_sent,
            "subscriptions": {k: v.as_dict() for k, v in self.subscriptions.items()},
            "errors": [
                {
                    "code": code,
                    "message": message,
                    "count": count,
                    "first": self.error_examples[(code, message)],
                }
                for (code, message), count in self.error_groups.most_common()
            ],
        }
