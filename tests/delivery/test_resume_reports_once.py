"""A malformed line is reported by the live run that reads it, once: `--resume` reads it again
but neither prints its error again nor fails because of it (exit 0 when every error of the
run was already reported), and says so in one line. Against the real sandbox on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import SEGMENT_MAPPING, run_cli

from cdpctl.sandbox.providers.segment import WRITE_KEY

ENV = {"SEGMENT_WRITE_KEY": WRITE_KEY}


def _events(path: Path) -> None:
    good = [
        {
            "type": "identify",
            "messageId": f"m-{n}",
            "userId": f"u-{n}",
            "traits": {"email": f"u{n}@example.com"},
        }
        for n in range(3)
    ]
    lines = [json.dumps(good[0]), '{"type": "identify", oops}', json.dumps(good[1])]
    lines += ["{bad", json.dumps(good[2])]
    path.write_text("\n".join(lines) + "\n")


def test_resume_does_not_report_or_fail_on_malformed_lines_again(tmp_path: Path, sandbox) -> None:
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(SEGMENT_MAPPING)
    events = tmp_path / "events.ndjson"
    _events(events)
    args = ["replay", str(events), "-m", str(mapping), "--live", "--endpoint", sandbox.url]
    args += ["--no-progress", "--color", "never"]

    first = run_cli(args, env=ENV)
    assert first.exit_code == 1, first.output
    lines = first.stdout.splitlines()
    assert (
        "  CDP109 ×2 malformed JSON: unexpected character, expected a string key "
        f"(first at {events} line 2, column 22)"
    ) in lines
    assert not any("already reported" in line for line in lines)

    again = run_cli([*args, "--resume"], env=ENV)
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert not any("CDP109" in line for line in lines), again.stdout
    assert (
        "2 malformed records already reported by an earlier run (see its dead letters):"
    ) in lines
    assert "  read again, not reported again, and not a failure of this run" in lines
    assert any(line.startswith("events read 5 · malformed 0 ·") for line in lines), lines
    dead = (tmp_path / "events.ndjson.dead-letter.ndjson").read_text().splitlines()
    assert len(dead) == 2  # dead-lettered once, by the first run
    assert len(set(sandbox.state.providers["segment"]["messages"])) == 3
