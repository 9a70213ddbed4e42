"""CDP602: two enabled subscriptions with the same trigger and action (each event runs twice)."""

from __future__ import annotations

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription
from cdpctl.loading import Document
from cdpctl.providers.base import Provider


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    first: dict[tuple[str, str], Subscription] = {}
    for sub in subs:
        if not sub.enabled or sub.trigger is None:
            continue
        # The parsed tree, so spacing and redundant parentheses do not hide a copy.
        key = (str(sub.item["action"]), repr(sub.trigger.ast))
        earlier = first.setdefault(key, sub)
        if earlier is sub:
            continue
        same_mapping = (earlier.mapping, earlier.item.get("defaults", True)) == (
            sub.mapping,
            sub.item.get("defaults", True),
        )
        what = "trigger, action and mapping" if same_mapping else "trigger and action"
        found.append(
            document.diagnostic(
                codes.DUPLICATE_SUBSCRIPTION,
                f'subscription "{sub.name}" has the same {what} as subscription '
                f'{earlier.index + 1} ("{earlier.name}"): {sub.item["action"]} runs twice for '
                "every matching event",
                (*sub.base, "trigger"),
                severity=Severity.WARNING,
                hint="delete one"
                if same_mapping
                else "merge the mappings into one subscription, or narrow one trigger",
            )
        )
    return found
