"""`cdpctl test-event MAPPING EVENT` — judge one event by every subscription."""

from __future__ import annotations

from pathlib import Path

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    PLAN_OPTION,
    color_choice,
    emit,
    fail,
    format_option,
    load_destination,
    output_format,
    plan_gate,
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
    format_flag: str | None = format_option(FORMATS),
    color: str | None = COLOR_OPTION,
    plan_file: Path | None = PLAN_OPTION,
) -> None:
    """Show which subscriptions match an event, the mapped payload, its errors, and the exact
    provider requests (secrets redacted). Exit 1 if a matched subscription has errors."""
    from cdpctl.events import load_event
    from cdpctl.loading import LoadError
    from cdpctl.output.test_event import VIEWS
    from cdpctl.pipeline import Invalid, evaluate_all

    chosen = output_format(format_flag, FORMATS)
    destination = load_destination(mapping_file)
    try:
        event = load_event(event_spec)
    except LoadError as error:
        fail(
            f"{error.diagnostic.location()}: {error.diagnostic.code} "
            f"{error.diagnostic.full_message()}"
        )
    gate = plan_gate(plan_file, "warn")
    violations = gate.checker.violations(event) if gate is not None else ()
    verdicts = evaluate_all(destination, event, destination.context(dry_run=True), explain=True)
    colored = color_choice(color)
    emit(
        VIEWS[chosen](event, verdicts, destination.redactor(), color=colored, plan=violations),
        chosen,
        color=colored,
    )
    failed = bool(violations) or any(isinstance(verdict, Invalid) for _, verdict in verdicts)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)
