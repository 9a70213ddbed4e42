"""`cdpctl diff OLD NEW EVENTS` — what a mapping change does to real traffic."""

from __future__ import annotations

import typer

from cdpctl.cli.common import EXIT_FINDINGS, EXIT_OK, check_choice, fail, load_destination

FORMATS = ("text", "json")


def command(
    old_mapping: str = typer.Argument(..., metavar="OLD", help="The mapping file before."),
    new_mapping: str = typer.Argument(..., metavar="NEW", help="The mapping file after."),
    events: str = typer.Argument(..., help="Events: .ndjson, .ndjson.gz, a .json array, or -."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Compare at most N events."),
    show: int = typer.Option(20, "--show", min=0, help="Print the diffs of at most N events."),
    fail_on_change: bool = typer.Option(
        False, "--fail-on-change", help="Exit 1 if any request changed."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="Output: text or json."),
) -> None:
    """Render the same events through two mapping files and print per-event request diffs and
    a summary (changed / unchanged / newly matched / no longer matched) — for reviewing a
    mapping pull request."""
    from pathlib import Path

    from cdpctl import jsonwire
    from cdpctl.delivery.sources import EventSource, SourceError
    from cdpctl.review import VERDICTS, ReviewSummary, review

    check_choice(output_format, FORMATS, "--format")
    if events != "-" and not Path(events).is_file():
        fail(f"no such events file: {events}")
    old = load_destination(old_mapping)
    new = load_destination(new_mapping)
    summary = ReviewSummary()
    records = EventSource(events).records()
    if limit is not None:
        records = (r for i, r in enumerate(records) if i < limit)
    shown = []
    try:
        for event_diff in review(old, new, records, summary):
            if event_diff.changed and len(shown) < show:
                shown.append(event_diff)
    except SourceError as error:
        fail(str(error))
    per_subscription: dict[str, dict[str, int]] = {}
    for (name, verdict), count in summary.verdicts.items():
        per_subscription.setdefault(name, dict.fromkeys(VERDICTS, 0))[verdict] = count
    if output_format == "json":
        document = {
            "events": summary.events,
            "malformed": summary.malformed,
            "summary": {v: summary.count(v) for v in VERDICTS},
            "subscriptions": per_subscription,
            "diffs": [
                {
                    "line": d.line,
                    "messageId": d.message_id,
                    "subscriptions": [
                        {
                            "subscription": s.subscription,
                            "verdict": s.verdict,
                            "changes": [c.describe("was", "now") for c in s.changes],
                        }
                        for s in d.subscriptions
                        if s.verdict != "unchanged"
                    ],
                }
                for d in shown
            ],
        }
        typer.echo(jsonwire.dumps_text(document))
    else:
        for d in shown:
            label = f" ({d.message_id})" if d.message_id else ""
            typer.echo(f"line {d.line}{label}")
            for s in d.subscriptions:
                if s.verdict == "unchanged":
                    continue
                typer.echo(f"  {s.subscription}: {s.verdict}")
                for change in s.changes:
                    typer.echo(f"    {change.describe('was', 'now')}")
        typer.echo(
            f"{summary.events} events compared ({summary.malformed} malformed): "
            + ", ".join(f"{summary.count(v)} {v}" for v in VERDICTS)
        )
        for name, counts in per_subscription.items():
            typer.echo(f"  {name}: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS))
    changed = (
        summary.count("changed")
        + summary.count("newly matched")
        + summary.count("no longer matched")
    )
    raise typer.Exit(EXIT_FINDINGS if fail_on_change and changed else EXIT_OK)
