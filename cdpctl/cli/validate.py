"""`cdpctl validate PATH...` — lint mapping files for CI and pre-commit."""

from __future__ import annotations

from pathlib import Path

import typer

from cdpctl.cli.common import COLOR_OPTION, EXIT_FINDINGS, EXIT_OK, check_choice, fail, use_color

FORMATS = ("text", "json", "github")


def collect_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their *.yaml/*.yml files (sorted); a missing path is a usage error."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            if not found:
                fail(f"no *.yaml or *.yml mapping files in {path}")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            fail(f"no such file or folder: {path}")
    return files


def command(
    paths: list[Path] = typer.Argument(..., help="Mapping files, or folders of *.yaml/*.yml."),
    output_format: str = typer.Option(
        "text", "--format", "-f", help="Output: text, json or github (workflow annotations)."
    ),
    color: str | None = COLOR_OPTION,
) -> None:
    """Check mapping files: schema, providers, actions, fields, triggers and directives."""
    from cdpctl.lint import check_file
    from cdpctl.output.diagnostics import RENDERERS

    check_choice(output_format, FORMATS, "--format")
    reports = [check_file(str(path)) for path in collect_files(paths)]
    render = RENDERERS[output_format]
    typer.echo(render(reports, color=use_color(color)), nl=False)
    raise typer.Exit(EXIT_OK if all(r.valid for r in reports) else EXIT_FINDINGS)
