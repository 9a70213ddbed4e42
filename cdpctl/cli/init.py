"""`cdpctl init PROVIDER [ACTION...]` — print or write a commented starter mapping file."""

from __future__ import annotations

from pathlib import Path

import typer

from cdpctl.cli.common import emit, fail, note
from cdpctl.cli.providers import PROVIDER_ARGUMENT, complete_action


def command(
    provider: str = PROVIDER_ARGUMENT,
    actions: list[str] | None = typer.Argument(
        None,
        metavar="ACTION",
        help="Actions to subscribe to (default: every action of PROVIDER).",
        autocompletion=complete_action,
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="FILE", help="Write the file here instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE if it exists."),
    schema_ref: str | None = typer.Option(
        None,
        "--schema",
        metavar="URL|PATH",
        help="The $schema reference for editors (default: schemas/mapping.schema.json of the "
        "project if committed, relative to FILE, else the schema installed with cdpctl).",
    ),
) -> None:
    """Start a mapping file: every required setting (secrets as ${ENV} references) and one
    subscription per action with its default trigger and default mappings, each field
    commented. The result validates as it stands."""
    from cdpctl import catalog, scaffold

    try:
        spec = catalog.find_provider(provider)
        reference = schema_ref or scaffold.schema_reference(output)
        machine_only = schema_ref is None and reference == scaffold.installed_schema()
        text = scaffold.scaffold(spec, actions or (), schema_ref=reference)
    except catalog.LookupFailed as error:
        fail(str(error))
    if machine_only:
        typer.echo(
            f"note: the $schema line points at the schema installed with cdpctl ({reference}), "
            "which works on this machine only; for one everyone who clones the repository "
            "gets, commit it with `cdpctl schema --write schemas/` at the repository root and "
            "run init again",
            err=True,
        )
    if output is None:
        emit(text, "yaml")
        return
    if output.is_dir():
        fail(f"{output} is a folder; give a file name, e.g. {output / (spec.name + '.yaml')}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        fail(f"{output} already exists; use --force to overwrite it")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    count = len(dict.fromkeys(actions)) if actions else len(spec.actions)
    note(f"wrote {output} ({spec.name}: {count} subscription(s)); next: cdpctl validate {output}")
