"""`cdpctl source sendgrid FILE` — SendGrid Event Webhook payloads as Segment track events
(NDJSON) that `cdpctl replay` reads."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path

import typer

from cdpctl.cli.common import EXIT_FINDINGS, EXIT_OK, emit, fail, note
from cdpctl.cli.help import command_help

app = typer.Typer(
    help="Convert other tools' event feeds into Segment events for `cdpctl replay`.",
    short_help="Turn SendGrid webhook events into Segment events.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("sendgrid", **command_help("source sendgrid"))
def sendgrid(
    webhook_file: str = typer.Argument(
        ...,
        metavar="FILE",
        help="Event Webhook payloads: a JSON array as SendGrid posts it, or NDJSON (one event "
        "or one posted array per line); - for stdin.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="OUT", help="Write the NDJSON here instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Convert SendGrid webhook events (processed, delivered, open, click, bounce, dropped,
    spamreport, unsubscribe, group_unsubscribe, group_resubscribe, deferred) into Segment
    track events named as Segment's SendGrid source names them, sg_event_id as messageId.
    Unknown event types are counted and reported (exit 1); malformed input exits 2."""
    from cdpctl import jsonwire
    from cdpctl.sources import sendgrid as converter

    if webhook_file != "-" and not Path(webhook_file).is_file():
        fail(f"no such file: {webhook_file}")
    if output is not None and output.exists() and not force:
        fail(f"{output} already exists; use --force to overwrite it")
    source = "<stdin>" if webhook_file == "-" else webhook_file
    stats = converter.Stats()
    partial = None if output is None else output.with_name(output.name + ".partial")
    try:
        with ExitStack() as stack:
            lines = (
                sys.stdin
                if webhook_file == "-"
                else stack.enter_context(open(webhook_file, encoding="utf-8"))
            )
            sink = stack.enter_context(partial.open("w", encoding="utf-8")) if partial else None
            for event in converter.convert(converter.records(lines, source), stats):
                text = jsonwire.dumps_text(event)
                if sink is None:
                    emit(text + "\n", "ndjson")
                else:
                    sink.write(text + "\n")
    except converter.SourceError as error:
        _discard(partial)
        fail(str(error))
    except UnicodeDecodeError as error:
        _discard(partial)
        fail(f"{source}: not UTF-8 text ({error.reason} at byte {error.start})")
    except OSError as error:
        _discard(partial)
        fail(f"{error.filename or source}: {error.strerror or error}")
    if partial is not None and output is not None:
        os.replace(partial, output)
    for line in stats.unknown_at:
        note(f"{line}: not converted")
    if stats.total_unknown > len(stats.unknown_at):
        note(f"… and {stats.total_unknown - len(stats.unknown_at)} more")
    converted = sum(stats.converted.values())
    summary = ", ".join(f"{name} {count}" for name, count in sorted(stats.converted.items()))
    note(f"{source}: {converted} event(s) converted" + (f" ({summary})" if summary else ""))
    if stats.unknown:
        skipped = ", ".join(f"{kind} {count}" for kind, count in sorted(stats.unknown.items()))
        note(f"{source}: {stats.total_unknown} event(s) of unknown type not converted ({skipped})")
    raise typer.Exit(EXIT_FINDINGS if stats.unknown else EXIT_OK)


def _discard(partial: Path | None) -> None:
    if partial is not None:
        partial.unlink(missing_ok=True)
