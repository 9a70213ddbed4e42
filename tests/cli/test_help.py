"""Every command's --help: a purpose, examples, plain metavars, and nothing cut at 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdpctl.cli.help import COMMANDS

ROOT = Path(__file__).parents[2]


def help_text(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cdpctl", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=True,
    )
    return result.stdout


def test_the_command_list_is_whole_at_80_columns() -> None:
    text = help_text()
    assert "…" not in text and "..." not in text.split("Commands:")[1]
    for name, (purpose, _) in COMMANDS.items():
        assert f"{name.split()[0]}  " in text
        if " " not in name:
            assert purpose in text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_examples_and_plain_metavars(command: str) -> None:
    text = help_text(*command.split())
    assert "Examples:" in text
    for example in COMMANDS[command][1]:
        assert example in text
    for decoration in ("<str>", "<int", "<float", "<path>", "<bool>", "{", "list[", "......"):
        assert decoration not in text.replace("${ENV}", "").replace("{id}", ""), decoration
    assert max(len(line) for line in text.splitlines()) <= 80
