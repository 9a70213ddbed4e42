"""CDP603/CDP604: a ``@path`` (or ``{{template}}`` placeholder) into a place Segment events
never carry: a misspelt spec field (error), or a field the subscription's calls lack (warning).

Custom top-level and context keys are left alone (sources may send their own); only near misses
of the spec's names are reported. A path inside an ``@if`` is a guarded fallback (Segment's own
default mappings read `$.traits.email` else `$.properties.email` on track events), so CDP604
leaves it alone; a misspelling is reported wherever it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription
from cdpctl.lint.spec import (
    CALL_TYPES,
    CONTEXT_FIELDS,
    MOVED,
    TOP_LEVEL_FIELDS,
    carriers,
    near_miss,
)
from cdpctl.lint.walk import EventPath, event_paths
from cdpctl.loading import Document
from cdpctl.providers.base import Provider


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        for path in event_paths(sub.mapping):
            diagnostic = _check_path(document, sub, path)
            if diagnostic is not None:
                found.append(diagnostic)
    return found


def _spell(path: EventPath, keys: tuple[str, ...]) -> str:
    """`keys` written the way the mapping wrote the path."""
    if path.directive == "@template":
        return "{{" + ".".join(keys) + "}}"
    return "$." + ".".join(keys)


def _check_path(document: Document, sub: Subscription, path: EventPath) -> Diagnostic | None:
    if not path.keys:
        return None
    where = (*sub.base, "mapping", *path.where)
    top, rest = path.keys[0], path.keys[1:]
    shown = path.text if path.directive == "@path" else "{{" + path.text + "}}"
    if top not in TOP_LEVEL_FIELDS:
        guess = near_miss(top, TOP_LEVEL_FIELDS)
        if guess is None:
            return None
        return document.diagnostic(
            codes.PATH_NOT_IN_EVENTS,
            f'{shown} reads "{top}", which no Segment event has',
            where,
            hint=f"did you mean {_spell(path, (guess, *rest))}?",
        )
    if top == "context" and rest:
        guess = near_miss(rest[0], CONTEXT_FIELDS)
        if guess is None:
            return None
        return document.diagnostic(
            codes.PATH_NOT_IN_EVENTS,
            f'{shown} reads context "{rest[0]}", which Segment events do not have',
            where,
            hint=f"did you mean {_spell(path, ('context', guess, *rest[1:]))}?",
        )
    have = carriers(top)
    types = sub.types
    if path.guarded or types == frozenset(CALL_TYPES) or types & have:
        return None
    ordered = [t for t in CALL_TYPES if t in types]
    holders = [t for t in CALL_TYPES if t in have]
    moved = {MOVED.get(top, {}).get(t) for t in ordered}
    hint = None
    targets = [target for target in moved if target is not None]
    if len(moved) == 1 and targets:
        (target,) = targets
        hint = f"use {_spell(path, (*target, *rest))}"
    return document.diagnostic(
        codes.PATH_NOT_IN_CALL_TYPE,
        f'{_and(ordered)} events have no "{top}" (only {_and(holders)} events do), so {shown} '
        "is always empty for this trigger",
        where,
        severity=Severity.WARNING,
        hint=hint,
    )


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
