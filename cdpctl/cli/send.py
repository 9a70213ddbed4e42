"""`cdpctl send MAPPING EVENT` — one event, dry run or live, with golden-request diffs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    check_can_send,
    check_endpoint,
    check_writable,
    color_choice,
    emit,
    fail,
    format_option,
    load_destination,
    note,
    output_format,
)

FORMATS = ("text", "json")


def command(
    mapping_file: str = typer.Argument(..., metavar="MAPPING", help="A mapping file."),
    event_spec: str = typer.Argument(
        ..., metavar="EVENT", help="A JSON event file, - for stdin, or a bundled sample."
    ),
    live: bool = typer.Option(False, "--live", help="Really send (default: dry run)."),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        metavar="URL",
        help="Send to this scheme://host[:port] instead (e.g. the sandbox); paths are kept.",
    ),
    expect: Path | None = typer.Option(
        None, "--expect", metavar="FILE", help="Golden requests (JSON); exit 1 on any difference."
    ),
    save_expect: Path | None = typer.Option(
        None, "--save-expect", metavar="FILE", help="Write the requests as a golden file."
    ),
    max_attempts: int = typer.Option(
        5, "--max-attempts", min=1, max=50, help="Attempts per request (live)."
    ),
    format_flag: str | None = format_option(FORMATS),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Add response headers and timing."),
    color: str | None = COLOR_OPTION,
) -> None:
    """Send one event through a mapping file: prints each request (secrets redacted) and, with
    --live, each response. Exit 1 if a payload is invalid, a delivery fails, or --expect differs."""
    from cdpctl.delivery.limits import RetryPolicy
    from cdpctl.delivery.single import deliver_ready, sent_requests
    from cdpctl.diffing import compare_requests
    from cdpctl.events import load_event
    from cdpctl.loading import LoadError
    from cdpctl.output.send import VIEWS
    from cdpctl.pipeline import Invalid, Ready, evaluate_all
    from cdpctl.requestview import golden_requests

    chosen = output_format(format_flag, FORMATS)
    destination = load_destination(mapping_file)
    endpoint = check_endpoint(endpoint, destination)
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
    if live:
        check_can_send(destination)
    verdicts = evaluate_all(destination, event, destination.context(dry_run=True), explain=True)
    redactor = destination.redactor()
    outcomes = None
    if live:
        ready = [(sub, v) for sub, v in verdicts if isinstance(v, Ready)]
        outcomes = deliver_ready(
            destination, ready, endpoint, RetryPolicy(max_attempts=max_attempts), redactor
        )
    actual = golden_requests(sent_requests(verdicts, outcomes), redactor)
    if save_expect is not None:
        save_expect.write_text(
            json.dumps({"requests": actual}, indent=2, ensure_ascii=False) + "\n"
        )
    changes = compare_requests(golden, actual) if golden is not None else None
    colored = color_choice(color)
    emit(
        VIEWS[chosen](
            event,
            verdicts,
            outcomes,
            changes,
            redactor,
            verbose=verbose,
            color=colored,
            endpoint=endpoint,
        ),
        chosen,
        color=colored,
    )
    if save_expect is not None:
        note(f"wrote {len(actual)} request(s) to {save_expect}")
    failed = (
        any(isinstance(v, Invalid) for _, v in verdicts)
        or any(not o.delivered for o in (outcomes or {}).values())
        or bool(changes)
    )
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


def _read_golden(path: Path) -> object:
    from cdpctl import jsonwire

    try:
        return jsonwire.read(path.read_bytes(), str(path))
    except FileNotFoundError:
        fail(f"no such expect file: {path}")
    except IsADirectoryError:
        fail(f"--expect: {path} is a folder; give a file")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror or error}")
    except jsonwire.JSONInputError as error:
        fail(str(error))
