"""Small helpers shared by the commands (exit codes, errors, output format options)."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    sys.stderr.write(f"cdpctl: {message}\n")
    raise SystemExit(code)


def use_color(choice: str | None, stream: object = sys.stdout) -> bool:
    """--color beats NO_COLOR/FORCE_COLOR, which beat terminal detection."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def format_option(choices: tuple[str, ...], default: str = "text") -> typer.models.OptionInfo:
    return typer.Option(
        default, "--format", "-f", help="Output format: " + ", ".join(choices) + "."
    )


COLOR_OPTION = typer.Option(None, "--color", help="Colour output: auto, always or never.")


def check_choice(value: str, choices: object, option: str) -> str:
    """Exit 2 with the allowed values when `value` is not one of `choices`."""
    allowed = list(choices)  # type: ignore[call-overload]
    if value not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def load_destination(path: str):  # -> cdpctl.pipeline.Destination
    """Load, check and compile a mapping file; on any error print the findings and exit 2."""
    from cdpctl.lint import check_document
    from cdpctl.loading import LoadError, load_yaml
    from cdpctl.mappingfile import read_mapping_file
    from cdpctl.output.diagnostics import render_text
    from cdpctl.pipeline import compile_destination

    if not os.path.exists(path):
        fail(f"no such mapping file: {path}")
    try:
        document = load_yaml(path)
    except LoadError as error:
        fail(
            f"{error.diagnostic.location()}: {error.diagnostic.code} "
            f"{error.diagnostic.full_message()}"
        )
    findings = check_document(document)
    errors = [d for d in findings if d.is_error]
    if errors:
        report = type("Report", (), {"path": path, "diagnostics": errors, "valid": False})
        sys.stderr.write(render_text([report]))
        fail(f"{path} is not a valid mapping file; fix the errors above (see `cdpctl validate`)")
    return compile_destination(read_mapping_file(document), os.environ)
