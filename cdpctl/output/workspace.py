"""`cdpctl workspace status` and `push` views: per subscription create / update / delete /
in sync, with the fields that differ (workspace value → file value)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdpctl.secrets import Redactor
from cdpctl.workspace.compare import (
    DELETE,
    IN_SYNC,
    KINDS,
    UNMANAGED,
    Comparison,
    SubscriptionChange,
)


@dataclass(frozen=True, slots=True)
class FileStatus:
    path: str
    destination_id: str
    comparison: Comparison
    events: Any = None  # the `diff` view's JSON (or text) of the traffic, with --events


def _entry(change: SubscriptionChange) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "status": change.kind,
        "name": change.name,
        "action": change.action,
        "id": change.id,
        "fields": [f.as_json() for f in change.fields] if change.kind != IN_SYNC else [],
    }
    if change.kind == DELETE:
        entry["needs_prune"] = True
    if change.note:
        entry["note"] = change.note if change.note != "id" else "matched by name and action"
    return entry


def render_json(statuses: Sequence[FileStatus], redactor: Redactor) -> str:
    files = []
    for status in statuses:
        comparison = status.comparison
        item: dict[str, Any] = {
            "file": status.path,
            "destination_id": status.destination_id,
            "in_sync": comparison.in_sync,
            "counts": {kind: comparison.count(kind) for kind in KINDS},
            "subscriptions": [_entry(c) for c in comparison.changes],
        }
        if status.events is not None:
            item["events"] = status.events
        files.append(item)
    document = {"in_sync": all(s.comparison.in_sync for s in statuses), "files": files}
    return json.dumps(redactor.value(document), indent=2, ensure_ascii=False) + "\n"


def _label(change: SubscriptionChange) -> str:
    where = f" ({change.id})" if change.id else f" ({change.action})"
    return f'{change.kind:<7}  "{change.name}"{where}'


def change_lines(comparison: Comparison, *, prune: bool | None = None) -> list[str]:
    lines = []
    for change in comparison.changes:
        if change.kind == IN_SYNC:
            continue
        suffix = ""
        if change.kind == DELETE and not prune:
            suffix = "  — only in the workspace; push deletes it with --prune"
        lines.append(f"  {_label(change)}{suffix}")
        if change.note and change.note != "id":
            lines.append(f"      note: {change.note}")
        if change.kind not in (DELETE, UNMANAGED):
            lines.extend(f"      {f.describe()}" for f in change.fields)
    return lines


def render_text(statuses: Sequence[FileStatus], redactor: Redactor) -> str:
    out = []
    for status in statuses:
        comparison = status.comparison
        pending = [c for c in comparison.changes if c.kind not in (IN_SYNC, UNMANAGED)]
        counts = ", ".join(
            f"{comparison.count(k)} {k}" for k in KINDS if comparison.count(k) or k == IN_SYNC
        )
        verdict = "in sync" if comparison.in_sync else f"{len(pending)} to change"
        out.append(
            f"{status.path} ↔ Segment destination {status.destination_id}: {verdict} ({counts})"
        )
        out.extend(change_lines(comparison))
        if isinstance(status.events, str):
            out.append("")
            out.append("What the change does to the events (workspace → file):")
            out.append(status.events.rstrip("\n"))
    return redactor.text("\n".join(out) + "\n")


RENDERERS = {"text": render_text, "json": render_json}
