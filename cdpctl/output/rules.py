"""The catalogue of diagnostic codes (from cdpctl.codes) as rule records and as Markdown.

`python -m cdpctl.output.rules docs/lint-rules.md` rewrites the generated table in that file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from cdpctl import codes

BEGIN = "<!-- BEGIN GENERATED: python -m cdpctl.output.rules docs/lint-rules.md -->"
END = "<!-- END GENERATED -->"

_FAMILIES = {
    "1": "Loading the file",
    "2": "Mapping-file schema",
    "3": "Semantics of a mapping file",
    "4": "Payloads (rendered by test-event, send, replay; literals by validate)",
    "5": "Delivery",
    "6": "Lint rules beyond the schema",
    "7": "Tracking plans (validate --plan, events checked against a plan)",
    "8": "Segment workspaces (workspace push)",
    "9": "The provider account (account pull, validate with a snapshot, --check-account)",
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str  # PascalCase, from the constant in cdpctl.codes (UNKNOWN_FIELD → UnknownField)
    description: str
    severity: str  # "error" or "warning"


def all_rules() -> list[Rule]:
    """Every code in cdpctl.codes, sorted by code."""
    names = {
        value: name
        for name, value in vars(codes).items()
        if name.isupper() and isinstance(value, str) and value.startswith("CDP")
    }
    return [
        Rule(
            code,
            "".join(part.capitalize() for part in names[code].split("_")),
            codes.DESCRIPTIONS.get(code, ""),
            codes.default_severity(code),
        )
        for code in sorted(names)
    ]


def markdown_table() -> str:
    """The generated part of docs/lint-rules.md: one table per code family."""
    lines = [BEGIN]
    family = None
    for rule in all_rules():
        if rule.code[3] != family:
            family = rule.code[3]
            lines += ["", f"### {_FAMILIES.get(family, 'Other')}", ""]
            lines += ["| Code | Name | Severity | What it means |", "| --- | --- | --- | --- |"]
        text = rule.description.replace("|", "\\|")
        lines.append(f"| `{rule.code}` | {rule.name} | {rule.severity} | {text} |")
    lines += ["", END]
    return "\n".join(lines)


def rewrite(document: str) -> str:
    """`document` with its generated block replaced by the current table."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + markdown_table() + document[end:]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m cdpctl.output.rules docs/lint-rules.md\n")
        return 2
    path = Path(argv[0])
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
