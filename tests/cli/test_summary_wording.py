"""The replay summary says what is true: requests per event, singular units, one group per
kind of error whatever column each line breaks at."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli

ROOT = Path(__file__).parents[2]


def test_dotdigital_dry_run_says_two_requests_per_event_and_one_request_per_second(
    tmp_path: Path,
) -> None:
    identify = json.loads((ROOT / "sample_events" / "identify.json").read_text())
    events = tmp_path / "events.ndjson"
    events.write_text(
        "".join(json.dumps({**identify, "messageId": f"m-{n}"}) + "\n" for n in range(720))
    )
    mapping = str(ROOT / "examples" / "dotdigital.yaml")
    result = run_cli(["replay", str(events), "-m", mapping, "--no-progress", "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    would_send = [line for line in lines if line.startswith("would send")]
    assert would_send == ["would send 1,440 requests (2 per event) · 296,640 bytes"]
    assert "backfill estimate at 1 request/s (the documented Dotdigital limit)" in lines
    assert "at least 1,440 requests · 24m 00s (retries and 429s add to it)" in lines
    assert "request(s)" not in result.stdout and "1 requests" not in result.stdout


def test_one_kind_of_json_error_is_one_group_whatever_its_column(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text('{"type": "identify", oops}\n{bad\n{"type":"identify" "x"}\n')
    mapping = str(ROOT / "examples" / "loops.yaml")
    result = run_cli(["replay", str(events), "-m", mapping, "--no-progress"])
    assert result.exit_code == 1
    groups = [line for line in result.stdout.splitlines() if line.startswith("  CDP109")]
    assert groups == [
        "  CDP109 ×2 malformed JSON: unexpected character, expected a string key "
        f"(first at {events} line 1, column 22)",
        "  CDP109 ×1 malformed JSON: unexpected character, expected ',' or '}' "
        f"(first at {events} line 3, column 20)",
    ]
