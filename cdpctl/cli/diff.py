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

    from cdpctl.delivery.sources import EventSource, SourceError
    from cdpctl.output import review as view
    from cdpctl.review import ReviewSummary, review

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
    render = view.render_json if output_format == "json" else view.render_text
    typer.echo(render(summary, shown), nl=False)
    raise typer.Exit(EXIT_FINDINGS if fail_on_change and summary.changed else EXIT_OK)
