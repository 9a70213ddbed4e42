"""`cdpctl diff OLD NEW EVENTS` — what a mapping change does to real traffic."""

from __future__ import annotations

import typer

from cdpctl.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    fail,
    format_option,
    load_destination,
    output_format,
)

FORMATS = ("text", "json")


def command(
    old_mapping: str = typer.Argument(..., metavar="OLD", help="The mapping file before."),
    new_mapping: str = typer.Argument(..., metavar="NEW", help="The mapping file after."),
    events: str = typer.Argument(
        ..., metavar="EVENTS", help="Events: .ndjson, .ndjson.gz, a .json array, or -."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Compare at most N events."),
    show: int = typer.Option(20, "--show", min=0, help="Print the diffs of at most N events."),
    fail_on_change: bool = typer.Option(
        False, "--fail-on-change", help="Exit 1 if any request changed."
    ),
    format_flag: str | None = format_option(FORMATS),
) -> None:
    """Render the same events through two mapping files and print per-event request diffs and
    a summary (changed / unchanged / newly matched / no longer matched) — for reviewing a
    mapping pull request."""
    from pathlib import Path

    from cdpctl.delivery.sources import EventSource, SourceError
    from cdpctl.output import review as view
    from cdpctl.review import EventDiff, ReviewSummary, review

    chosen = output_format(format_flag, FORMATS)
    if events != "-" and not Path(events).is_file():
        fail(f"no such events file: {events}")
    old = load_destination(old_mapping)
    new = load_destination(new_mapping)
    summary = ReviewSummary()
    records = EventSource(events).records()
    if limit is not None:
        records = (r for i, r in enumerate(records) if i < limit)
    shown: list[EventDiff] = []
    try:
        for event_diff in review(old, new, records, summary):
            if event_diff.changed and len(shown) < show:
                shown.append(event_diff)
    except SourceError as error:
        fail(str(error))
    typer.echo(view.VIEWS[chosen](summary, shown), nl=False)
    raise typer.Exit(EXIT_FINDINGS if fail_on_change and summary.changed else EXIT_OK)
