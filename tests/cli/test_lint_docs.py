"""docs/lint-rules.md stays in step with cdpctl/codes.py and the lint rule modules."""

from __future__ import annotations

import re
from pathlib import Path

from cdpctl import codes
from cdpctl.lint import RULES
from cdpctl.output.rules import BEGIN, END, markdown_table, rewrite

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "lint-rules.md"


def test_generated_table_matches_codes_py() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == markdown_table(), (
        "docs/lint-rules.md is stale: run `python -m cdpctl.output.rules docs/lint-rules.md`"
    )
    assert rewrite(text) == text


def test_every_code_is_listed_with_its_severity() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code, description in codes.DESCRIPTIONS.items():
        assert f"| `{code}` |" in text, code
        row = next(line for line in text.splitlines() if line.startswith(f"| `{code}` |"))
        assert f"| {codes.default_severity(code)} |" in row
        assert description.replace("|", "\\|") in row


def test_every_lint_rule_module_has_a_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES:
        module = rule.__module__.rsplit(".", 1)[1]
        assert f"`lint/{module}.py`" in text, module
    for code in ("CDP601", "CDP602", "CDP603", "CDP604", "CDP605", "CDP606"):
        assert re.search(rf"^### .*{code}", text, re.M), code


def test_every_code_the_source_emits_is_in_codes_py() -> None:
    emitted = set()
    for path in (ROOT / "cdpctl").rglob("*.py"):
        emitted |= set(re.findall(r"\"(CDP\d{3})\"", path.read_text(encoding="utf-8")))
    assert emitted <= set(codes.DESCRIPTIONS), emitted - set(codes.DESCRIPTIONS)
