"""`cdpctl test-event MAPPING EVENT` — render one event through every subscription."""

from __future__ import annotations

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    check_choice,
    fail,
    load_destination,
    use_color,
)

FORMATS = ("text", "json")


def command(
    mapping_file: str = typer.Argument(..., metavar="MAPPING", help="A mapping file."),
    event_spec: str = typer.Argument(
        ...,
        metavar="EVENT",
        help="A JSON event file, - for stdin, or a bundled sample: identify, track, page, "
        "screen, group, alias.",
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="Output: text or json."),
    color: str | None = COLOR_OPTION,
) -> None:
    """Show which subscriptions match an event, the mapped payload, its errors, and the exact
    provider requests (secrets redacted). Exit 1 if a matched subscription has errors."""
    from cdpctl.events import load_event
    from cdpctl.loading import LoadError
    from cdpctl.output import test_event as view
    from cdpctl.pipeline import render_event

    check_choice(output_format, FORMATS, "--format")
    destination = load_destination(mapping_file)
    try:
        event = load_event(event_spec)
    except LoadError as error:
        fail(
            f"{error.diagnostic.location()}: {error.diagnostic.code} "
            f"{error.diagnostic.full_message()}"
        )
    results = render_event(destination, event, destination.context(dry_run=True))
    redactor = destination.redactor()
    if output_format == "json":
        typer.echo(view.render_json(event, results, redactor), nl=False)
    else:
        typer.echo(view.render_text(event, results, redactor, color=use_color(color)), nl=False)
    failed = any(r.matched and r.has_errors for r in results)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)
