"""CDP605: a contact upsert that sends the event time to a provider where the last write wins.

Loops, SendGrid, Dotdigital and SFMC apply contact (and data-extension row) updates in the order
they arrive; none of them can be told the event's time to order by. Segment retries, replays
and backfills deliver identify calls late and out of order, so a field fed from the event
time (say `lastSeen: $.timestamp`) can move backwards. Customer.io is not listed: its identify
takes the event `timestamp` and orders updates by it. Segment (as a destination) is not listed:
it forwards each call with its own time.
"""

from __future__ import annotations

from typing import Final

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription
from cdpctl.lint.walk import EventPath, event_paths
from cdpctl.loading import Document
from cdpctl.providers.base import Action, Provider, Upsert

#: Top-level fields holding the event's time (Segment's timestamps).
EVENT_TIMES: Final = frozenset({"timestamp", "originalTimestamp", "sentAt", "receivedAt"})


def qualifies(action: Action, sub: Subscription) -> bool:
    """A last-write-wins upsert (declared on the action: `Action.upsert`)."""
    if action.upsert is Upsert.CONTACT:
        return True
    return action.upsert is Upsert.ROW and sub.types == frozenset({"identify"})


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    found = []
    for sub in subs:
        if sub.action is None or not qualifies(sub.action, sub):
            continue
        for path, where, source in _time_paths(sub):
            field = ".".join(str(part) for part in path.field) or "the payload"
            found.append(
                document.diagnostic(
                    codes.TIMESTAMP_TO_LAST_WRITE_WINS,
                    f"{sub.action.name} sends the event time (${'.' + path.keys[0]}) as "
                    f"{field}{source}, but {provider.title} keeps whichever contact update "
                    "arrives last: a late, retried or replayed event writes an older time over "
                    "a newer one",
                    where,
                    severity=Severity.WARNING,
                    hint=f"drop it, or accept that {field} can move backwards "
                    f"({provider.title} cannot order updates by event time)",
                )
            )
    return found


def _time_paths(sub: Subscription) -> list[tuple[EventPath, tuple[str | int, ...], str]]:
    assert sub.action is not None
    out = []
    for path in event_paths(sub.mapping):
        if len(path.keys) == 1 and path.keys[0] in EVENT_TIMES:
            out.append((path, (*sub.base, "mapping", *path.where), ""))
    if sub.item.get("defaults", True):
        for spec in sub.action.fields:
            if spec.name in sub.mapping or not spec.has_default:
                continue
            for path in event_paths(spec.default, field=(spec.name,)):
                if len(path.keys) == 1 and path.keys[0] in EVENT_TIMES:
                    out.append((path, (*sub.base, "action"), " (the action's default mapping)"))
    return out
