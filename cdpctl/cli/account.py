"""`cdpctl account pull MAPPING…` — snapshot the provider account the mappings depend on."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cdpctl.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, fail
from cdpctl.cli.help import command_help

app = typer.Typer(
    help="The provider account the mappings depend on: `account pull` snapshots it beside "
    "each mapping file; validate, test-event, send and replay then check against it "
    "(docs/account.md).",
    short_help="Snapshot the provider account a mapping uses.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("pull", **command_help("account pull"))
def pull(
    mappings: list[str] = typer.Argument(..., metavar="MAPPING", help="Mapping files."),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        metavar="URL",
        help="Read from this scheme://host[:port] instead (e.g. the sandbox); paths are kept.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Write the snapshot here (one mapping file only). Default: beside the mapping "
        "file, loops.yaml → loops.account.json.",
        show_default=False,
    ),
) -> None:
    """Read, with each file's own credentials, the parts of the provider account the mapping
    depends on (data extensions and columns, lists, programs, campaigns, templates, fields and
    their types) and write them as a snapshot without secrets. Exit 1 if a provider's answer
    could not be used, 2 if a mapping file, its settings or the options are at fault."""
    from cdpctl.account.pull import PullError
    from cdpctl.account.pull import pull as pull_account
    from cdpctl.account.snapshot import KINDS

    if output is not None and len(mappings) != 1:
        fail("--output takes one mapping file; without it each snapshot goes beside its file")
    exit_code = EXIT_OK
    for mapping in mappings:
        try:
            pulled = pull_account(mapping, endpoint=endpoint, output=output)
        except PullError as error:
            sys.stderr.write(f"cdpctl: {error}\n")
            exit_code = max(exit_code, EXIT_USAGE if error.usage else EXIT_FINDINGS)
            continue
        snapshot = pulled.snapshot
        counts = (
            [f"{len(snapshot.data_extensions)} data extension(s)"]
            if ("data_extensions" in snapshot.read)
            else []
        )
        counts += [f"{len(snapshot.kind(kind))} {kind}" for kind in KINDS if kind in snapshot.read]
        typer.echo(
            f"{mapping}: wrote {pulled.written} ({', '.join(counts)}; {pulled.requests} request(s))"
        )
    raise typer.Exit(exit_code)
