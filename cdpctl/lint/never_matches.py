"""CDP601: a trigger no Segment event can satisfy (the subscription is dead code)."""

from __future__ import annotations

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic
from cdpctl.lint.context import Subscription, trigger_column
from cdpctl.loading import Document
from cdpctl.providers.base import Provider


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        if sub.reach is None or not sub.reach.never or sub.reach.dead is None:
            continue
        dead = sub.reach.dead
        where = (*sub.base, "trigger")
        message = f"trigger can never match: {dead.message}"
        if sub.reach.branches > 1:
            message = (
                f"trigger can never match: none of its {sub.reach.branches} alternatives can; "
                f"in the first, {dead.message}"
            )
        found.append(
            Diagnostic(
                codes.TRIGGER_NEVER_MATCHES,
                message,
                path=document.path,
                line=document.locate(where).line,
                column=trigger_column(document, where, dead.column),
                json_path=where,
                hint=dead.hint,
            )
        )
    return found
