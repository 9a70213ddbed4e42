"""The workspace's version of a mapping file, compiled, for `status --events`: the same
destination settings, with the workspace's subscriptions (as Segment stores them: their
mapping alone, `defaults: false`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from cdpctl import mapping, triggers
from cdpctl.mappingfile import SubscriptionConfig
from cdpctl.pipeline import Destination, compile_destination
from cdpctl.workspace.api import Subscription
from cdpctl.workspace.compare import comparable


def workspace_destination(
    destination: Destination, subscriptions: Iterable[Subscription]
) -> tuple[Destination, list[str]]:
    """The compiled workspace version, and the subscriptions left out of it (and why)."""
    kept: list[SubscriptionConfig] = []
    left_out: list[str] = []
    for sub in subscriptions:
        label = f'workspace subscription "{sub.name}" ({sub.id})'
        settings = comparable(sub.settings)
        if destination.provider.action(sub.action_slug) is None:
            left_out.append(f"{label}: action {sub.action_slug!r} is not in cdpctl; left out")
            continue
        try:
            triggers.parse(sub.trigger)
        except triggers.TriggerSyntaxError as error:
            left_out.append(f"{label}: trigger does not parse ({error.message}); left out")
            continue
        if problems := mapping.validate(settings):
            left_out.append(f"{label}: {problems[0].message}; left out")
            continue
        kept.append(
            SubscriptionConfig(
                index=len(kept),
                name=sub.name,
                trigger=sub.trigger,
                action=sub.action_slug,
                mapping=settings,
                enabled=sub.enabled,
                use_defaults=False,
                id=sub.id,
            )
        )
    file = replace(destination.file, path="<workspace>", subscriptions=tuple(kept))
    return compile_destination(file, os.environ), left_out
