"""The CLI as a real process: exit codes CI can trust, stdout/stderr separation, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import sigint_as_in_a_terminal

from cdpctl.sandbox.providers.loops import API_KEY
from cdpctl.sandbox.server import Faults

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases" / "validate"


def cdpctl(*args: str, env: dict | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "cdpctl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
    )


def test_help_and_version_exit_0() -> None:
    result = cdpctl("--help")
    assert result.returncode == 0
    for command in ("validate", "test-event", "send", "replay", "sandbox", "diff"):
        assert command in result.stdout
    assert cdpctl("--version").stdout.startswith("cdpctl ")


def test_validate_clean_exits_0_findings_exit_1_on_stdout_only() -> None:
    clean = cdpctl("validate", "examples/loops.yaml")
    assert (clean.returncode, clean.stderr) == (0, "")
    broken = cdpctl("validate", str(CASES / "unknown-key.yaml"))
    assert broken.returncode == 1
    assert "CDP201" in broken.stdout and broken.stderr == ""


def test_usage_errors_exit_2_with_one_line_on_stderr() -> None:
    missing = cdpctl("validate", "nope.yaml")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == "cdpctl: no such file or folder: nope.yaml"
    bad_option = cdpctl("replay", "x.ndjson", "--bogus")
    assert bad_option.returncode == 2
    assert "No such option" in bad_option.stderr


def test_invalid_mapping_for_test_event_is_a_config_error_without_traceback() -> None:
    result = cdpctl("test-event", str(CASES / "semantic-errors.yaml"), "track")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not a valid mapping file" in result.stderr


def test_test_event_json_goes_to_stdout_and_reads_stdin() -> None:
    event = (ROOT / "sample_events" / "track.json").read_text()
    result = cdpctl("test-event", "examples/loops.yaml", "-", "--format", "json", stdin=event)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"]["event"] == "Order Completed"


def test_binary_event_file_is_a_located_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = cdpctl("test-event", "examples/loops.yaml", str(junk))
    assert result.returncode == 2
    assert f"{junk}:3:1: CDP101 binary data" in result.stderr  # the NUL is on line 3
    assert "Traceback" not in result.stderr


def test_ctrl_c_during_a_live_replay_exits_130_and_keeps_the_ledger(
    tmp_path: Path, sandbox
) -> None:
    sandbox.set_faults(Faults(latency_ms=50, rate_limits=False))
    events = tmp_path / "events.ndjson"
    event = json.loads((ROOT / "sample_events" / "identify.json").read_text())
    events.write_text(
        "".join(json.dumps({**event, "messageId": f"m-{i}"}) + "\n" for i in range(500))
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdpctl",
            "replay",
            str(events),
            "-m",
            "examples/loops.yaml",
            "--live",
            "--endpoint",
            sandbox.url,
            "--rate",
            "50",
            "--workers",
            "1",
            "--no-progress",
        ],
        cwd=ROOT,
        env={**os.environ, "LOOPS_API_KEY": API_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    deadline = time.monotonic() + 30
    while sandbox.state.stats["acknowledged"] < 20:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert (tmp_path / "events.ndjson.cdpctl-state.sqlite").exists()
