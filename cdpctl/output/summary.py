"""The Markdown job summary for GitHub Actions ($GITHUB_STEP_SUMMARY): a table of findings."""

from __future__ import annotations

from collections.abc import Sequence

from cdpctl.diagnostics import Report
from cdpctl.output.diagnostics import summary_line

MAX_ROWS = 500  # GitHub caps a step summary at 1 MiB


def _cell(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r\n", "<br>")
        .replace("\n", "<br>")
        .replace("\r", "<br>")
    )


def render_step_summary(reports: Sequence[Report]) -> str:
    rows = [(report, d) for report in reports for d in report.diagnostics]
    lines = ["## cdpctl validate", ""]
    if not rows:
        return "\n".join([*lines, f"✅ {summary_line(reports)}", ""]) + "\n"
    icon = "❌" if any(d.is_error for _, d in rows) else "⚠️"
    lines += [f"{icon} {summary_line(reports)}", ""]
    lines += [
        "| File | Line | Column | Severity | Code | Message |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for report, d in rows[:MAX_ROWS]:
        lines.append(
            f"| {_cell(d.path or report.path)} | {d.line or ''} | {d.column or ''} | "
            f"{d.severity.value} | {d.code} | {_cell(d.full_message())} |"
        )
    if len(rows) > MAX_ROWS:
        lines += ["", f"… and {len(rows) - MAX_ROWS} more: see the job log."]
    return "\n".join(lines) + "\n\n"
