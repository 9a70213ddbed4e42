"""`cdpctl import segment FILE` — a Segment Public API export of a destination's subscriptions
as a cdpctl mapping file."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cdpctl.cli.common import EXIT_FINDINGS, EXIT_OK, emit, fail, note
from cdpctl.cli.help import command_help

app = typer.Typer(
    help="Convert other tools' configuration into cdpctl mapping files.",
    short_help="Convert a Segment destination into a mapping file.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("segment", **command_help("import segment"))
def segment(
    export_file: str = typer.Argument(
        ...,
        metavar="FILE",
        help="The JSON body of GET /destinations/{id}/subscriptions (or a list of "
        "subscriptions); - for stdin.",
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        "-p",
        metavar="NAME",
        help="The cdpctl provider (or Segment destination slug), when the export does not say.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="OUT", help="Write the mapping file here, not stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Convert a Segment destination's subscriptions: triggers and mappings unchanged,
    `enabled` kept, secrets as ${ENV} references. Whatever cannot be converted is listed at
    the top of the file and on stderr (exit 1 then; 0 when everything converted)."""
    from cdpctl.importing import segment as importer
    from cdpctl.scaffold import schema_reference

    if export_file == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, source = Path(export_file).read_text(encoding="utf-8"), export_file
        except (OSError, UnicodeDecodeError) as error:
            fail(f"cannot read {export_file}: {getattr(error, 'strerror', None) or error}")
    if output is not None and output.exists() and not force:
        fail(f"{output} already exists; use --force to overwrite it")
    try:
        export = importer.parse_export(text, source)
        spec = importer.resolve_provider(export, provider)
        result = importer.convert(export, spec, source=source, schema_ref=schema_reference(output))
    except importer.ExportError as error:
        fail(str(error))
    for item in result.not_converted:
        note(f"{source}: not converted: {item}")
    if output is None:
        emit(result.text, "yaml")
    else:
        try:
            output.write_text(result.text, encoding="utf-8")
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror or error}")
    if result.variables:
        note(
            f"{source}: credentials are written as references; set "
            + ", ".join(result.variables)
            + " in the environment before sending"
        )
    note(
        f"{source}: {result.converted} of {result.total} subscription(s) converted to "
        f"{result.provider}; {len(result.not_converted)} item(s) not converted"
        + (f"; wrote {output}" if output is not None else "")
    )
    raise typer.Exit(EXIT_FINDINGS if result.not_converted else EXIT_OK)
