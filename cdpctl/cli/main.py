"""`cdpctl` entry point: the Typer app, exit-code policy and the no-traceback guarantee."""

from __future__ import annotations

import os
import sys

import typer

from cdpctl import __version__
from cdpctl.cli import (
    account,
    diff,
    import_cmd,
    init,
    plan,
    providers,
    replay,
    sandbox,
    schema_cmd,
    send,
    source,
    test_event,
    validate,
    workspace,
)
from cdpctl.cli.common import EXIT_INTERNAL, EXIT_INTERRUPTED, fail
from cdpctl.cli.help import command_help
from cdpctl.cli.helpfmt import install as conventional_help
from cdpctl.output import terminal

conventional_help()

app = typer.Typer(
    name="cdpctl",
    help="Check, preview, send and replay Segment-event mappings to marketing providers.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("validate", **command_help("validate"))(validate.command)
app.command("test-event", **command_help("test-event"))(test_event.command)
app.command("send", **command_help("send"))(send.command)
app.command("replay", **command_help("replay"))(replay.command)
app.command("diff", **command_help("diff"))(diff.command)
app.command("providers", **command_help("providers"))(providers.providers_command)
app.command("actions", **command_help("actions"))(providers.actions_command)
app.command("fields", **command_help("fields"))(providers.fields_command)
app.command("schema", **command_help("schema"))(schema_cmd.command)
app.command("init", **command_help("init"))(init.command)
app.add_typer(import_cmd.app, name="import")
app.add_typer(source.app, name="source")
app.add_typer(plan.app, name="plan")
app.add_typer(sandbox.app, name="sandbox", **command_help("sandbox"))
app.add_typer(workspace.app, name="workspace")
app.add_typer(account.app, name="account")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cdpctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks on internal errors."),
) -> None:
    if debug:
        os.environ["CDPCTL_DEBUG"] = "1"
    terminal.install()  # run() guards already; this covers in-process runs (tests, embedding)


def run() -> None:
    """Console-script entry: never a traceback unless --debug; 130 on Ctrl-C; no raw control
    character from any input on the terminal (cdpctl.output.terminal)."""
    terminal.install()
    try:
        app(prog_name="cdpctl")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit:
        raise
    except Exception as error:  # the last line of defence: report, never a traceback
        if os.environ.get("CDPCTL_DEBUG") or "--debug" in sys.argv:
            raise
        fail(
            f"internal error: {type(error).__name__}: {error} (rerun with --debug for details)",
            EXIT_INTERNAL,
        )
