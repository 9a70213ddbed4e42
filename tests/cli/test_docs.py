"""Docs as tests: every mapping and trigger example in docs/mapping-language.md gives what the
page says, and every cdpctl command shown in README.md and docs/ runs with the exit code the
page gives (`# exit N` after a command; 0 otherwise) — so a documented command cannot break.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cdpctl import mapping, triggers
from cdpctl.sandbox.server import load_emulators

ROOT = Path(__file__).parents[2]
LANGUAGE = ROOT / "docs" / "mapping-language.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"```(?P<info>[^\n]*)\n(?P<body>.*?)```", re.DOTALL)
EXIT = re.compile(r"#\s*exit (\d+)")

#: Shell lines a test does not run, and why (anything else with `cdpctl` in it runs).
NOT_RUN = {
    "pip install": "installing is what .ci/run itself does, from a clean clone",
    ". .venv/bin/activate": "activating a virtualenv only changes the caller's shell",
    "--install-completion": "changes the user's shell start-up files",
    "pre-commit try-repo": "fetches the hook repository; tests/cli/test_ci_pre_commit.py runs it",
    "cdpctl sandbox --port 8765 &": "the test runs its own sandbox and points 8765 at it",
}


def blocks(page: Path, kind: str) -> list[str]:
    return [m["body"] for m in BLOCK.finditer(page.read_text()) if m["info"].strip() == kind]


EVENT = yaml.safe_load(blocks(LANGUAGE, "yaml event")[0])


@pytest.mark.parametrize("example", blocks(LANGUAGE, "yaml example"), ids=lambda b: b[:40])
def test_mapping_example(example: str) -> None:
    case = yaml.safe_load(example)
    result = mapping.strip_undefined(mapping.transform(case["mapping"], EVENT))
    assert result == case["result"]


@pytest.mark.parametrize("example", blocks(LANGUAGE, "yaml trigger-example"), ids=str)
def test_trigger_example(example: str) -> None:
    case = yaml.safe_load(example)
    parsed = triggers.parse(case["trigger"])
    assert not parsed.warnings, parsed.warnings
    assert triggers.compile_trigger(parsed)(EVENT) is case["matches"]


def test_every_directive_has_a_tested_example() -> None:
    text = LANGUAGE.read_text()
    for directive in mapping.DIRECTIVES:
        assert f"## `{directive}`" in text, directive
    examples = "\n".join(blocks(LANGUAGE, "yaml example"))
    for directive in mapping.DIRECTIVES:
        assert f'"{directive}"' in examples, directive


def shell_lines(page: Path) -> list[tuple[str, int]]:
    """(command, expected exit code) for each cdpctl line of the page's sh blocks."""
    found = []
    for info in ("sh", "bash", "shell"):
        for body in blocks(page, info):
            for line in body.replace("\\\n", " ").splitlines():
                command = line.strip()
                if "cdpctl" not in command or command.startswith("#"):
                    continue
                if any(marker in command for marker in NOT_RUN):
                    if "&& .venv/bin/cdpctl " not in command:
                        continue
                    command = "cdpctl " + command.split("&& .venv/bin/cdpctl ", 1)[1]
                expected = EXIT.search(command)
                command = re.sub(r"\s+#.*$", "", command)
                found.append((command, int(expected.group(1)) if expected else 0))
    return found


def workspace(tmp_path: Path) -> Path:
    """What the docs' commands read, as a user would have it: the repository's examples,
    an archive of the sample events, a Segment export and SendGrid webhooks."""
    home = tmp_path / "work"
    for folder in ("examples", "sample_events"):
        shutil.copytree(ROOT / folder, home / folder)
    samples = [
        json.loads((ROOT / "sample_events" / f"{n}.json").read_text())
        for n in ("identify", "track", "page", "screen", "group", "alias")
    ]
    archive = "".join(json.dumps(e) + "\n" for e in samples * 5)
    (home / "events.ndjson").write_text(archive)
    (home / "events.ndjson.gz").write_bytes(gzip.compress(archive.encode()))
    (home / "my-event.json").write_text(json.dumps(samples[1]))
    shutil.copy(ROOT / "tests/fixtures/segment_export/export.json", home / "export.json")
    webhooks = ROOT / "tests/fixtures/sendgrid_webhook"
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(webhooks.glob("*.json"))]
    for name in ("webhooks.ndjson", "sendgrid-webhooks.ndjson"):
        (home / name).write_text("\n".join(lines) + "\n")
    (home / "mappings").mkdir()
    shutil.copy(ROOT / "examples" / "sendgrid.yaml", home / "mappings" / "sendgrid.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "cdpctl"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cdpctl "$@"\n')
    wrapper.chmod(0o755)
    return home


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_run(page: Path, tmp_path: Path, sandbox) -> None:
    commands = shell_lines(page)
    if not commands:
        return
    home = workspace(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CDPCTL_")},
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    for emulator in load_emulators():  # the credentials the sandbox prints, as a user sets them
        for setting, value in emulator.credentials.items():
            snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", setting).upper()
            env[f"{emulator.name.upper()}_{snake}"] = value
    env["SENDGRID_API_KEY"] = env.pop("SENDGRID_SEND_GRID_API_KEY")
    env["SEGMENT_WRITE_KEY"] = env.pop("SEGMENT_SOURCE_WRITE_KEY")
    for command, expected in commands:
        command = command.replace("http://127.0.0.1:8765", sandbox.url)
        result = subprocess.run(
            # `; exit` keeps bash from exec-ing a lone command: cdpctl runs with a shell as
            # its parent, as in a terminal (--show-completion detects the shell that way)
            ["bash", "-c", f"{command}; exit $?"],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in result.stderr, (command, result.stderr)
        assert result.returncode == expected, (command, result.stdout[-2000:], result.stderr)
