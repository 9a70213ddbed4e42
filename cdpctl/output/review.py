"""Views of `cdpctl diff`: per-event request diffs and the verdict summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdpctl import jsonwire
from cdpctl.output.terminal import escape
from cdpctl.review import UNCHANGED, VERDICTS, EventDiff, ReviewSummary


def render_json(summary: ReviewSummary, shown: Sequence[EventDiff]) -> str:
    document: dict[str, Any] = {
        "events": summary.events,
        "malformed": summary.malformed,
        "changed_events": summary.changed_events,
        "summary": {verdict: summary.count(verdict) for verdict in VERDICTS},
        "subscriptions": summary.by_subscription(),
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
                    if sub.verdict != UNCHANGED
                ],
            }
            for event in shown
        ],
    }
    return jsonwire.dumps_text(document) + "\n"


def render_text(summary: ReviewSummary, shown: Sequence[EventDiff]) -> str:
    lines = []
    for event in shown:
        label = f" ({event.message_id})" if event.message_id else ""
        lines.append(escape(f"{event.location}{label}"))
        for sub in event.subscriptions:
            if sub.verdict == UNCHANGED:
                continue
            lines.append(f"  {escape(sub.subscription)}: {sub.verdict}")
            lines.extend(f"    {escape(change.describe('was', 'now'))}" for change in sub.changes)
    hidden = summary.changed_events - len(shown)
    if hidden > 0:
        lines.append(f"… {hidden:,} more changed event(s) not shown (see them with --show N)")
    lines.append(
        f"{summary.events} events compared ({summary.malformed} malformed): "
        + ", ".join(f"{summary.count(verdict)} {verdict}" for verdict in VERDICTS)
    )
    for name, counts in summary.by_subscription().items():
        lines.append(f"  {escape(name)}: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS))
    return "\n".join(lines) + "\n"


VIEWS = {"text": render_text, "json": render_json}
