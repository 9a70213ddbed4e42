"""`cdpctl schema` — print the mapping-file JSON Schema or one action's payload schema, or write
every schema into a folder (what the repository's `schemas/` holds)."""

from __future__ import annotations

from pathlib import Path

import typer

from cdpctl.cli.common import emit, fail, note


def command(
    action: str | None = typer.Option(
        None,
        "--action",
        "-a",
        metavar="PROVIDER.ACTION",
        help="Print this action's payload schema instead, e.g. loops.sendEvent.",
    ),
    write: Path | None = typer.Option(
        None,
        "--write",
        metavar="DIR",
        help="Write every schema into DIR (mapping.schema.json and actions/*.schema.json).",
    ),
) -> None:
    """Print the JSON Schema of mapping files (for editors: `# yaml-language-server: $schema=`),
    or of one action's payload, or write all of them into a folder."""
    from cdpctl import catalog, schema

    if action is not None and write is not None:
        fail("--action and --write cannot be combined")
    if write is not None:
        if write.exists() and not write.is_dir():
            fail(f"--write needs a folder, and {write} is a file")
        try:
            result = catalog.write_schemas(write)
        except OSError as error:
            fail(f"cannot write schemas into {write}: {error.strerror or error}")
        typer.echo(
            f"{write}: {len(result.written)} schema(s) written, {len(result.unchanged)} unchanged"
        )
        for relative in result.stale:
            note(f"{write / relative}: stale (no such provider action any more); delete it")
        return
    if action is not None:
        try:
            ref = catalog.ActionRef.parse(action)
        except catalog.LookupFailed as error:
            fail(str(error))
        text = schema.schema_text(schema.action_payload_schema(ref.provider, ref.action))
    else:
        text = schema.schema_text(schema.mapping_file_schema())
    emit(text, "json")
