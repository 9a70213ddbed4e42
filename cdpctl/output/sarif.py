"""SARIF 2.1.0 for GitHub code scanning: every code as a rule, every finding as a result."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cdpctl import __version__
from cdpctl.diagnostics import Severity
from cdpctl.output.rules import all_rules

if TYPE_CHECKING:
    from cdpctl.diagnostics import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(path: str, root: Path) -> tuple[str, bool]:
    """A URI reference for `path`: relative to `root` when inside it (True), else file://."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return absolute.as_uri(), False
    return quote(PurePath(relative).as_posix()), True


def render_sarif(
    reports: Sequence[Report], *, color: bool = False, root: Path | None = None
) -> str:
    del color
    base = Path(os.path.abspath(root or Path.cwd()))
    rules = all_rules()
    index = {rule.code: position for position, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for report in reports:
        for d in report.diagnostics:
            uri, relative = artifact_uri(d.path or report.path, base)
            location: dict[str, Any] = {"uri": uri}
            if relative:
                location["uriBaseId"] = "%SRCROOT%"
            physical: dict[str, Any] = {"artifactLocation": location}
            if d.line is not None and d.line >= 1:
                region: dict[str, int] = {"startLine": d.line}
                if d.column is not None and d.column >= 1:
                    region["startColumn"] = d.column
                physical["region"] = region
            result: dict[str, Any] = {
                "ruleId": d.code,
                "level": LEVELS[d.severity],
                "message": {"text": d.full_message()},
                "locations": [{"physicalLocation": physical}],
            }
            if d.code in index:
                result["ruleIndex"] = index[d.code]
            results.append(result)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cdpctl",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [
                            {
                                "id": rule.code,
                                "name": rule.name,
                                "shortDescription": {"text": rule.description},
                                "fullDescription": {"text": rule.description},
                                "defaultConfiguration": {"level": rule.severity},
                                "properties": {"tags": ["cdpctl", rule.severity]},
                            }
                            for rule in rules
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
