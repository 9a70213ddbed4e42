"""Views of `cdpctl diff`: per-event request diffs, the verdict summary and the per-field
summary (which field was added, changed or removed in how many events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdpctl import jsonwire
from cdpctl.output.terminal import escape
from cdpctl.review import (
    CHANGE_KINDS,
    NEWLY_MATCHED,
    NO_LONGER_MATCHED,
    SAME_TRAFFIC,
    VERDICTS,
    EventDiff,
    ReviewSummary,
)

#: Fields listed in the text summary; the JSON document has them all.
FIELDS_SHOWN = 20


def render_json(summary: ReviewSummary, shown: Sequence[EventDiff], *, color: bool = False) -> str:
    del color
    document: dict[str, Any] = {
        "events": summary.events,
        "malformed": summary.malformed,
        "changed_events": summary.changed_events,
        "summary": {verdict: summary.count(verdict) for verdict in VERDICTS},
        "subscriptions": summary.by_subscription(),
        "fields": [
            {"subscription": name, "field": where, **counts}
            for name, where, counts in summary.by_field()
        ],
        "diffs": [
            {
                "file": event.location.name,
                "line": event.location.line,
                "messageId": event.message_id,
                "subscriptions": [
                    {
                        "subscription": sub.subscription,
                        "verdict": sub.verdict,
                        "changes": [change.describe("was", "now") for change in sub.changes],
                    }
                    for sub in event.subscriptions
                    if sub.verdict not in SAME_TRAFFIC
                ],
            }
            for event in shown
        ],
    }
    return jsonwire.dumps_text(document) + "\n"


_KIND_STYLES = {"added": "green", "changed": "yellow", "removed": "red"}
_VERDICT_STYLES = {NEWLY_MATCHED: "green", NO_LONGER_MATCHED: "red"}


def render_text(summary: ReviewSummary, shown: Sequence[EventDiff], *, color: bool = False) -> str:
    from rich.text import Text

    from cdpctl.output.test_event import text_console

    console = text_console(color)
    for event in shown:
        label = f" ({event.message_id})" if event.message_id else ""
        console.print(Text(escape(f"{event.location}{label}"), style="bold"))
        for sub in event.subscriptions:
            if sub.verdict in SAME_TRAFFIC:
                continue
            console.print(
                Text.assemble(
                    f"  {escape(sub.subscription)}: ",
                    (sub.verdict, _VERDICT_STYLES.get(sub.verdict, "")),
                )
            )
            for change in sub.changes:
                console.print(
                    Text(
                        f"    {escape(change.describe('was', 'now'))}",
                        style=_KIND_STYLES[change.kind],
                    )
                )
    hidden = summary.changed_events - len(shown)
    if hidden > 0:
        note = f"… {hidden:,} more changed event(s) not shown (see them with --show N)"
        console.print(Text(note))
    console.print(
        Text(
            f"{summary.events:,} events compared ({summary.malformed:,} malformed): "
            + ", ".join(f"{summary.count(verdict):,} {verdict}" for verdict in VERDICTS),
            style="bold",
        )
    )
    for name, counts in summary.by_subscription().items():
        console.print(
            Text(f"  {escape(name)}: " + ", ".join(f"{counts[v]:,} {v}" for v in VERDICTS))
        )
    rows = summary.by_field()
    if rows:
        console.print(Text("changes by field (number of events):", style="bold"))
        for name, where, counts in rows[:FIELDS_SHOWN]:
            parts = [
                (f"{kind} in {counts[kind]:,}", _KIND_STYLES[kind])
                for kind in CHANGE_KINDS
                if counts[kind]
            ]
            line = Text(f"  {escape(name)}: {escape(where)} ")
            for index, part in enumerate(parts):
                line.append(", " if index else "")
                line.append(*part)
            line.append(" event" if sum(counts.values()) == 1 else " events")
            console.print(line)
        if len(rows) > FIELDS_SHOWN:
            more = len(rows) - FIELDS_SHOWN
            console.print(Text(f"  … {more:,} more field(s) (all of them: --format json)"))
    return console.export_text(styles=color)


VIEWS = {"text": render_text, "json": render_json}
