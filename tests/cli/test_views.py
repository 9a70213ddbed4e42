"""Every command's real console output: printed once, in the format asked for (flag, then
CDPCTL_FORMAT, then the project config), and the README's first command pinned byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

ROOT = Path(__file__).parents[2]
PINNED = ROOT / "tests" / "cases" / "output" / "test-event-loops-identify.txt"


def cdpctl(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CDPCTL_", "NO_COLOR", "FORCE_COLOR"))
    }
    return subprocess.run(
        [sys.executable, "-m", "cdpctl", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_readme_first_command_prints_its_report_once_exactly_as_pinned() -> None:
    """Regenerate after a deliberate change: python -m cdpctl test-event examples/loops.yaml
    identify > tests/cases/output/test-event-loops-identify.txt"""
    result = cdpctl("test-event", "examples/loops.yaml", "identify")
    assert result.returncode == 0, result.stderr
    assert result.stdout == PINNED.read_text(encoding="utf-8")
    assert result.stdout.count("event identify") == 1
    # The first thing a user runs is clean: no warning or error about the bundled files.
    assert " warning " not in result.stdout and " error " not in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["test-event", "examples/loops.yaml", "identify"],
        ["send", "examples/loops.yaml", "identify"],
        [
            "replay",
            "tests/cases/output/events.ndjson",
            "-m",
            "examples/loops.yaml",
            "--no-progress",
        ],
        ["diff", "examples/loops.yaml", "examples/loops.yaml", "tests/cases/output/events.ndjson"],
        ["validate", "examples/loops.yaml"],
    ],
    ids=lambda args: args[0],
)
def test_text_views_print_once(args: list[str]) -> None:
    result = cdpctl(*args)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.strip()
    first_line = text.splitlines()[0]
    assert text.count(first_line + "\n") == 1, text


@pytest.mark.parametrize(
    "args",
    [
        ["test-event", "examples/loops.yaml", "identify"],
        ["send", "examples/loops.yaml", "identify"],
        [
            "replay",
            "tests/cases/output/events.ndjson",
            "-m",
            "examples/loops.yaml",
            "--no-progress",
        ],
        ["diff", "examples/loops.yaml", "examples/loops.yaml", "tests/cases/output/events.ndjson"],
    ],
    ids=lambda args: args[0],
)
def test_cdpctl_format_and_project_config_choose_the_view(args: list[str], tmp_path: Path) -> None:
    from_env = cdpctl(*args, env={"CDPCTL_FORMAT": "json"})
    assert from_env.returncode == 0, from_env.stderr
    json.loads(from_env.stdout)
    # A format another command has (sarif, for validate in CI) means text here, not an error.
    other = cdpctl(*args, env={"CDPCTL_FORMAT": "sarif"})
    assert other.returncode == 0, other.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(other.stdout)
    # The flag wins, and must be one this command has.
    flagged = cdpctl(*args, "--format", "text", env={"CDPCTL_FORMAT": "json"}).stdout
    assert flagged.splitlines()[0] == other.stdout.splitlines()[0]
    bad = cdpctl(*args, "--format", "sarif")
    assert bad.returncode == 2 and "--format must be one of" in bad.stderr
    # [tool.cdpctl] format in the project's pyproject.toml.
    (tmp_path / "pyproject.toml").write_text('[tool.cdpctl]\nformat = "json"\n')
    absolute = [str(ROOT / a) if (ROOT / a).exists() else a for a in args]
    configured = cdpctl(*absolute, cwd=tmp_path)
    assert configured.returncode == 0, configured.stderr
    json.loads(configured.stdout)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("127.0.0.1:8765", "needs a scheme: use http://127.0.0.1:8765"),
        (
            "http://127.0.0.1:8765/api",
            "takes scheme://host[:port] only; requests keep their own paths",
        ),
        ("ftp://127.0.0.1", "scheme must be http or https"),
    ],
)
@pytest.mark.parametrize("command", ["send", "replay"])
def test_a_bad_endpoint_is_refused_before_anything_is_sent(
    command: str, endpoint: str, message: str
) -> None:
    args = (
        ["send", "examples/loops.yaml", "identify", "--live"]
        if command == "send"
        else ["replay", "tests/cases/output/events.ndjson", "-m", "examples/loops.yaml", "--live"]
    )
    result = run_cli([*args, "--endpoint", endpoint], env={"LOOPS_API_KEY": "k" * 20})
    assert result.exit_code == 2
    assert f"--endpoint {message}" in result.stderr


def test_test_event_shows_how_segment_reads_a_trigger_differently(tmp_path: Path) -> None:
    mapping = tmp_path / "loops.yaml"
    mapping.write_text(
        (ROOT / "examples" / "loops.yaml")
        .read_text()
        .replace('trigger: type = "identify"', 'trigger: type = "identify" and userId or email')
    )
    result = run_cli(["test-event", str(mapping), "identify"])
    assert result.exit_code == 0, result.output
    assert "⚠ trigger (column" in result.stdout
    document = json.loads(run_cli(["test-event", str(mapping), "identify", "-f", "json"]).stdout)
    warnings = document["results"][0]["trigger_warnings"]
    assert warnings and warnings[0]["drops_condition"] is False
