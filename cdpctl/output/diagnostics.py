"""Views of validation reports: text, json, github, sarif, junit. Each is a function returning
the text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cdpctl import jsonwire
from cdpctl.diagnostics import Report, Severity
from cdpctl.output.junit import render_junit
from cdpctl.output.sarif import render_sarif
from cdpctl.output.terminal import escape


def summary_line(reports: Sequence[Report]) -> str:
    errors = sum(1 for r in reports for d in r.diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for r in reports for d in r.diagnostics if d.severity is Severity.WARNING)
    files = len(reports)
    noun = "file" if files == 1 else "files"
    if not errors and not warnings:
        return f"{files} {noun} checked: all valid"
    return f"{files} {noun} checked: {errors} error(s), {warnings} warning(s)"


def render_text(reports: Sequence[Report], *, color: bool = False) -> str:
    styles = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
    lines = []
    for report in reports:
        for d in report.diagnostics:
            severity = d.severity.value
            if color:
                severity = f"{styles[d.severity]}{severity}\x1b[0m"
            lines.append(f"{escape(d.location())}: {severity} {d.code} {escape(d.full_message())}")
    lines.append(summary_line(reports))
    return "\n".join(lines) + "\n"


def render_json(reports: Sequence[Report], *, color: bool = False) -> str:
    del color
    document = {
        "files": [
            {
                "path": report.path,
                "valid": report.valid,
                "errors": [d.as_dict() for d in report.diagnostics],
            }
            for report in reports
        ]
    }
    return jsonwire.dumps_text(document) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports: Sequence[Report], *, color: bool = False) -> str:
    """GitHub Actions workflow commands: one `::error file=…,line=…,col=…::…` per finding."""
    del color
    kinds = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for report in reports:
        for d in report.diagnostics:
            props = [f"file={_escape_property(d.path or report.path)}"]
            if d.line is not None:
                props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
            props.append(f"title={_escape_property(d.code)}")
            lines.append(
                f"::{kinds[d.severity]} {','.join(props)}::"
                f"{_escape_data(d.code + ' ' + d.full_message())}"
            )
    lines.append(summary_line(reports))
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "junit": render_junit,
}
