"""Literal before pattern: an argument that names an existing file is that file, whatever glob
characters its name holds; a pattern applies only when nothing of that name exists."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdpctl.delivery.inputs import expand

ROOT = Path(__file__).parents[2]
LOOPS = str(ROOT / "examples" / "loops.yaml")


def _events(path: Path, count: int) -> Path:
    lines = [
        json.dumps({"type": "track", "event": "Order Completed", "userId": f"u{i}"})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_reads_the_file_named_not_the_files_its_name_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events(tmp_path / "ev[1].ndjson", 3)
    _events(tmp_path / "ev1.ndjson", 7)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["replay", "ev[1].ndjson", "-m", LOOPS, "--format", "json", "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["events_read"] == 3
    assert report["inputs"] == ["ev[1].ndjson"]
    text = run_cli(["replay", "ev[1].ndjson", "-m", LOOPS, "--no-progress", "--color", "never"])
    assert "read ev[1].ndjson\n" in text.stdout


def test_a_pattern_still_matches_when_no_file_has_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events(tmp_path / "ev1.ndjson", 7)
    _events(tmp_path / "ev2.ndjson", 2)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["replay", "ev[12].ndjson", "-m", LOOPS, "--format", "json", "--no-progress"])
    report = json.loads(result.stdout)
    assert report["events_read"] == 9
    assert report["inputs"] == ["ev1.ndjson", "ev2.ndjson"]
    text = run_cli(["replay", "ev[12].ndjson", "-m", LOOPS, "--no-progress"])
    assert "read 2 files: ev1.ndjson, ev2.ndjson\n" in text.stdout


# A name made of glob metacharacters and letters, which as a pattern could match other files.
_NAMES = st.text(alphabet="[]*?{}!ab1-", min_size=1, max_size=12).filter(
    lambda name: name not in {".", ".."}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stem=_NAMES)
def test_existing_names_with_glob_characters_are_read_literally(stem: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        name = os.path.join(folder, stem + ".ndjson")
        _events(Path(name), 1)
        # siblings a pattern reading of the name could match instead of (or as well as) it
        for sibling in ("a.ndjson", "b.ndjson", "1.ndjson", "ab.ndjson", "[.ndjson"):
            if sibling != stem + ".ndjson":
                _events(Path(folder, sibling), 2)
        inputs = expand([name])
        assert [item.name for item in inputs] == [name]
        assert inputs[0].path == os.path.abspath(name)
