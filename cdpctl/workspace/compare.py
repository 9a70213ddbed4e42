"""How a mapping file and its Segment destination differ, subscription by subscription.

A file subscription is the workspace subscription with its `id:`; without one, the workspace
subscription with the same name and action (so a create whose answer was lost is found, not
made twice). What the file wants is what Segment stores: the effective mapping, with the
action's defaults written out when the file says `defaults: true`. Segment's own
`__segment_internal…` settings and masked values are not compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cdpctl.diffing import MISSING, diff
from cdpctl.pipeline import Destination
from cdpctl.workspace.api import Desired, Subscription, is_masked

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
IN_SYNC = "in sync"
# In the workspace only, with an action cdpctl does not know: a file cannot hold it, so it is
# listed but is no drift, and push never deletes it.
UNMANAGED = "unmanaged"
KINDS = (CREATE, UPDATE, DELETE, IN_SYNC, UNMANAGED)
INTERNAL_PREFIX = "__segment_internal"


class CompareError(Exception):
    """The file and the workspace cannot be lined up (a located, one-line reason)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs: `workspace` is Segment's value, `file` the file's (MISSING when
    the side has none)."""

    field: str  # name, trigger, enabled, or mapping.<field>
    workspace: Any
    file: Any

    def describe(self) -> str:
        if self.workspace is MISSING:
            return f"{self.field}: added {_show(self.file)}"
        if self.file is MISSING:
            return f"{self.field}: removed (was {_show(self.workspace)})"
        return f"{self.field}: {_show(self.workspace)} → {_show(self.file)}"

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"field": self.field}
        if self.workspace is not MISSING:
            shown["workspace"] = self.workspace
        if self.file is not MISSING:
            shown["file"] = self.file
        return shown


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    kind: str
    name: str
    action: str
    id: str | None  # the workspace's id (None for a create)
    index: int | None  # the file's subscription (None for a delete)
    fields: tuple[FieldChange, ...] = ()
    wanted: Desired | None = None
    remote: Subscription | None = None
    note: str = ""

    @property
    def id_to_write(self) -> bool:
        """The file lacks (or holds a stale) id the workspace has for it."""
        return self.index is not None and self.id is not None and self.note == "id"


@dataclass(frozen=True, slots=True)
class Comparison:
    changes: tuple[SubscriptionChange, ...]

    @property
    def in_sync(self) -> bool:
        return all(c.kind in (IN_SYNC, UNMANAGED) for c in self.changes)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def pending(self, *, prune: bool) -> list[SubscriptionChange]:
        return [
            c for c in self.changes if c.kind in (CREATE, UPDATE) or (prune and c.kind == DELETE)
        ]


def wanted(destination: Destination) -> list[tuple[Desired, str | None]]:
    """What the file wants in Segment, per subscription in file order, with its `id:`."""
    return [
        (
            Desired(sub.name, sub.action.name, sub.trigger, sub.enabled, dict(sub.mapping)),
            sub.id,
        )
        for sub in destination.subscriptions
    ]


def comparable(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if not k.startswith(INTERNAL_PREFIX)}


def field_changes(remote: Subscription, want: Desired) -> tuple[FieldChange, ...]:
    found = []
    for name, theirs, ours in (
        ("name", remote.name, want.name),
        ("trigger", remote.trigger, want.trigger),
        ("enabled", remote.enabled, want.enabled),
    ):
        if theirs != ours:
            found.append(FieldChange(name, theirs, ours))
    theirs_map = comparable(remote.settings)
    for key in [*want.settings, *(k for k in theirs_map if k not in want.settings)]:
        before = theirs_map.get(key, MISSING)
        after = want.settings.get(key, MISSING)
        if is_masked(before) and after is not MISSING:
            continue  # Segment answers secrets masked: nothing to compare
        if before is MISSING or after is MISSING or diff(before, after):
            found.append(FieldChange(f"mapping.{key}", before, after))
    return tuple(found)


def compare(
    file_subscriptions: Sequence[tuple[Desired, str | None]],
    remote: Iterable[Subscription],
    where: str,
    known_actions: frozenset[str] | None = None,
) -> Comparison:
    """Line the file's subscriptions up with the workspace's; `where` names the file, and
    `known_actions` the actions cdpctl has for its provider (None: all)."""
    remaining = list(remote)
    by_id = {sub.id: sub for sub in remaining}
    claimed: set[str] = set()
    changes: list[SubscriptionChange] = []
    for index, (want, sub_id) in enumerate(file_subscriptions):
        match = by_id.get(sub_id) if sub_id else None
        note = ""
        if match is not None and match.id in claimed:
            raise CompareError(
                f'{where}: subscription "{want.name}": id {sub_id} is also given to another '
                "subscription; ids are unique"
            )
        if match is None:
            match = next(
                (
                    r
                    for r in remaining
                    if r.id not in claimed
                    and r.name == want.name
                    and r.action_slug == want.action_slug
                    and not any(sid == r.id for _, sid in file_subscriptions)
                ),
                None,
            )
            if match is not None:
                note = "id"
        if match is None:
            stale = f"id {sub_id} is not in the workspace; created anew" if sub_id else ""
            changes.append(
                SubscriptionChange(
                    CREATE,
                    want.name,
                    want.action_slug,
                    None,
                    index,
                    (
                        FieldChange("name", MISSING, want.name),
                        FieldChange("trigger", MISSING, want.trigger),
                        FieldChange("enabled", MISSING, want.enabled),
                        *(
                            FieldChange(f"mapping.{k}", MISSING, v)
                            for k, v in want.settings.items()
                        ),
                    ),
                    want,
                    None,
                    stale,
                )
            )
            continue
        if match.action_slug != want.action_slug:
            raise CompareError(
                f'{where}: subscription "{want.name}" is {want.action_slug} in the file but '
                f"{match.action_slug or 'another action'} in the workspace (id {match.id}); "
                "Segment cannot change a subscription's action: remove its `id:` to create a "
                "new one (and --prune the old)"
            )
        claimed.add(match.id)
        fields = field_changes(match, want)
        kind = UPDATE if fields else IN_SYNC
        changes.append(
            SubscriptionChange(
                kind, want.name, want.action_slug, match.id, index, fields, want, match, note
            )
        )
    for sub in remaining:
        unknown = known_actions is not None and sub.action_slug not in known_actions
        if sub.id not in claimed and unknown:
            changes.append(
                SubscriptionChange(
                    UNMANAGED,
                    sub.name,
                    sub.action_slug,
                    sub.id,
                    None,
                    remote=sub,
                    note=f"action {sub.action_slug!r} is not in cdpctl; push leaves it alone",
                )
            )
            continue
        if sub.id not in claimed:
            changes.append(
                SubscriptionChange(
                    DELETE,
                    sub.name,
                    sub.action_slug,
                    sub.id,
                    None,
                    tuple(
                        FieldChange(f, v, MISSING)
                        for f, v in (
                            ("name", sub.name),
                            ("trigger", sub.trigger),
                            ("enabled", sub.enabled),
                        )
                    ),
                    None,
                    sub,
                )
            )
    return Comparison(tuple(changes))


def patch_input(change: SubscriptionChange) -> dict[str, Any]:
    """The PATCH `input` for an update: only what differs; settings whole (Segment replaces
    them), keeping Segment's internal keys."""
    assert change.wanted is not None and change.remote is not None
    fields = {f.field for f in change.fields}
    body: dict[str, Any] = {}
    if "name" in fields:
        body["name"] = change.wanted.name
    if "trigger" in fields:
        body["trigger"] = change.wanted.trigger
    if "enabled" in fields:
        body["enabled"] = change.wanted.enabled
    if any(f.startswith("mapping.") for f in fields):
        internal = {
            k: v for k, v in change.remote.settings.items() if k.startswith(INTERNAL_PREFIX)
        }
        body["settings"] = {**change.wanted.settings, **internal}
    return body
