"""docs/tracking-plans.md: the worked example's plan and mapping give exactly the output the
page shows (the `console` blocks), so the page cannot drift from the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from helpers import run_cli

PAGE = Path(__file__).parents[2] / "docs" / "tracking-plans.md"
BLOCK = re.compile(r"```(?P<info>[^\n]*)\n(?P<body>.*?)```", re.DOTALL)


def block(info: str) -> str:
    (body,) = [m["body"] for m in BLOCK.finditer(PAGE.read_text()) if m["info"].strip() == info]
    return body


RATE = re.compile(r"\d+\.\ds · [\d,]+ events/s")


@pytest.mark.parametrize(
    ("info", "exit_code"), [("console validate", 1), ("console show", 0), ("console replay", 1)]
)
def test_the_worked_example_prints_what_the_page_shows(
    info: str, exit_code: int, tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "tracking-plan.json").write_text(block("json plan"))
    (tmp_path / "loops.yaml").write_text(block("yaml mapping"))
    (tmp_path / "events.ndjson").write_text(block("ndjson events"))
    monkeypatch.setenv("LOOPS_API_KEY", "a-loops-key-for-the-example")
    monkeypatch.chdir(tmp_path)
    command, _, shown = block(info).partition("\n")
    args = shlex.split(command.removeprefix("$ "))
    assert args[0] == "cdpctl"
    if "validate" not in args:
        args.extend(["--color", "never"])
    result = run_cli(args[1:])
    assert result.exit_code == exit_code, result.output
    assert RATE.sub("…", result.stdout) == RATE.sub("…", shown)
