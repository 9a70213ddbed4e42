"""`cdpctl send MAPPING EVENT` — one event, dry run or live, with golden-request diffs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    check_choice,
    check_writable,
    fail,
    load_destination,
    use_color,
)

FORMATS = ("text", "json")


def command(
    mapping_file: str = typer.Argument(..., metavar="MAPPING", help="A mapping file."),
    event_spec: str = typer.Argument(
        ..., metavar="EVENT", help="A JSON event file, - for stdin, or a bundled sample."
    ),
    live: bool = typer.Option(False, "--live", help="Really send (default: dry run)."),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Send to this scheme://host[:port] (paths kept)."
    ),
    expect: Path | None = typer.Option(
        None, "--expect", help="Golden requests (JSON); exit 1 on any difference."
    ),
    save_expect: Path | None = typer.Option(
        None, "--save-expect", help="Write the requests as a golden file."
    ),
    max_attempts: int = typer.Option(
        5, "--max-attempts", min=1, max=50, help="Attempts per request (live)."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="Output: text or json."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Add response headers and timing."),
    color: str | None = COLOR_OPTION,
) -> None:
    """Send one event through a mapping file: prints each request (secrets redacted) and, with
    --live, each response. Exit 1 if a payload is invalid, a delivery fails, or --expect differs."""
    from cdpctl.delivery.limits import RetryPolicy
    from cdpctl.delivery.single import deliver_results
    from cdpctl.diffing import compare_requests
    from cdpctl.events import load_event
    from cdpctl.loading import LoadError
    from cdpctl.output import send as view
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
    golden = _read_golden(expect) if expect else None
    if save_expect is not None:
        check_writable(save_expect, "--save-expect")
    if live and destination.settings.missing:
        fail(
            "cannot send: environment variable(s) not set: "
            + ", ".join(destination.settings.missing)
        )
    results = render_event(destination, event, destination.context(dry_run=True))
    redactor = destination.redactor()
    deliveries = None
    endpoint = endpoint or destination.file.endpoint
    if live:
        deliveries = deliver_results(
            destination, results, endpoint, RetryPolicy(max_attempts=max_attempts), redactor
        )
    actual = view.golden_requests(results, deliveries, redactor)
    if save_expect is not None:
        save_expect.write_text(
            json.dumps({"requests": actual}, indent=2, ensure_ascii=False) + "\n"
        )
    changes = compare_requests(golden, actual) if golden is not None else None
    if output_format == "json":
        typer.echo(
            view.render_json(event, results, deliveries, changes, redactor, verbose), nl=False
        )
    else:
        typer.echo(
            view.render_text(
                results,
                deliveries,
                changes,
                redactor,
                color=use_color(color),
                verbose=verbose,
                endpoint=endpoint,
            ),
            nl=False,
        )
    failed = (
        any(r.matched and r.has_errors for r in results)
        or any(not d.ok for d in deliveries or ())
        or bool(changes)
    )
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


def _read_golden(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"no such expect file: {path}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"{path}: not valid JSON: {error}")
