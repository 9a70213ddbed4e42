"""`cdpctl replay`: sources, filters, dry-run counts, ledger guard, resume, dead letters."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from pathlib import Path

import pytest
from archives import ENV, LOOPS, live, make_events, summary, write_ndjson
from helpers import replay_command, run_cli

from cdpctl.sandbox.server import Faults

ROOT = Path(__file__).parents[2]


def test_dry_run_counts_per_subscription_and_reports_malformed_lines(tmp_path: Path) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(30), ("{broken",))
    result = run_cli(["replay", str(events), "-m", LOOPS, "--format", "json", "--no-progress"])
    assert result.exit_code == 1  # a malformed line is a failure
    report = summary(result)
    assert report["live"] is False
    assert report["events_read"] == 31 and report["malformed"] == 1
    assert report["subscriptions"]["Upsert contact"]["would_send"] == 10
    assert report["subscriptions"]["Order completed event"]["would_send"] == 20
    assert report["subscriptions"]["Upsert contact"]["no_match"] == 20
    (error,) = report["errors"]
    assert error["code"] == "CDP109" and error["first"] == f"{events} line 31, column 2"
    assert not list(tmp_path.glob("*.sqlite")), "a dry run never writes the ledger"
    assert not list(tmp_path.glob("*dead-letter*"))


def test_clean_dry_run_exits_0(tmp_path: Path) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(9))
    result = run_cli(["replay", str(events), "-m", LOOPS, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "dry run (nothing sent)" in result.stdout


@pytest.mark.parametrize("kind", ["gzip", "array", "stdin"])
def test_sources_gzip_json_array_and_stdin_read_the_same_events(tmp_path: Path, kind: str) -> None:
    events = make_events(12)
    text = "\n".join(json.dumps(e) for e in events) + "\n"
    args = ["replay", "-m", LOOPS, "--format", "json", "--no-progress"]
    if kind == "gzip":
        path = tmp_path / "e.ndjson.gz"
        path.write_bytes(gzip.compress(text.encode()))
        result = run_cli(["replay", str(path), *args[1:]])
    elif kind == "array":
        path = tmp_path / "e.json"
        path.write_text(json.dumps(events, indent=1))
        result = run_cli(["replay", str(path), *args[1:]])
    else:
        result = run_cli(["replay", "-", *args[1:]], input=text)
    assert result.exit_code == 0, result.output
    report = summary(result)
    assert report["events_read"] == 12
    assert report["subscriptions"]["Order completed event"]["would_send"] == 8


def test_filters_limit_since_until_and_where(tmp_path: Path) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(60))
    base = ["replay", str(events), "-m", LOOPS, "--format", "json", "--no-progress"]
    assert summary(run_cli([*base, "--limit", "7"]))["events_read"] == 7
    windowed = summary(
        run_cli([*base, "--since", "2024-05-03T00:00:00Z", "--until", "2024-05-05T00:00:00Z"])
    )
    sent = sum(s["would_send"] for s in windowed["subscriptions"].values())
    assert sent == sum(1 for i in range(60) if 2 <= i % 28 <= 3)
    where = summary(run_cli([*base, "--where", 'type = "identify"']))
    assert where["filtered_out"] == 40
    assert where["subscriptions"]["Upsert contact"]["would_send"] == 20


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ('type = "x', "--where: column"),
        ('type = = "x"', 'expected a value after "="'),
        ('type == "x"', 'expected a value after "="'),
        ('type "x"', "expected an operator"),
    ],
)
def test_invalid_where_is_a_usage_error(tmp_path: Path, where: str, message: str) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(3))
    result = run_cli(["replay", str(events), "-m", LOOPS, "--where", where])
    assert result.exit_code == 2
    assert "--where" in result.stderr and message in result.stderr


def test_live_replay_delivers_everything_and_guards_the_ledger(tmp_path: Path, sandbox) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(60))
    first = live(events, sandbox)
    assert first.exit_code == 0, first.output
    assert summary(first)["subscriptions"]["Order completed event"]["delivered"] == 40
    assert sandbox.state.stats["acknowledged"] == 60
    ledger = tmp_path / "e.ndjson.cdpctl-state.sqlite"
    rows = sqlite3.connect(ledger).execute("SELECT state, COUNT(*) FROM outcomes GROUP BY state")
    assert dict(rows.fetchall()) == {"delivered": 60}

    refused = live(events, sandbox)
    assert refused.exit_code == 2
    assert "--resume" in refused.stderr and "--force" in refused.stderr

    resumed = live(events, sandbox, "--resume")
    assert resumed.exit_code == 0
    assert summary(resumed)["subscriptions"]["Upsert contact"]["already_done"] == 20
    assert sandbox.state.stats["acknowledged"] == 60, "nothing is sent twice on --resume"

    forced = live(events, sandbox, "--force")
    assert forced.exit_code == 0
    assert sandbox.state.stats["acknowledged"] == 120


def test_failures_go_to_a_dead_letter_file_that_replays_as_is(tmp_path: Path, sandbox) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(9), ("not json",))
    failed = live(events, sandbox, env={"LOOPS_API_KEY": "revoked-key"})
    assert failed.exit_code == 1
    report = summary(failed)
    assert report["failed"] == 10
    dead = tmp_path / "e.ndjson.dead-letter.ndjson"
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert len(lines) == 10
    malformed = [line for line in lines if "raw" in line]
    assert malformed[0]["deadLetter"]["line"] == 10 and malformed[0]["raw"] == "not json"
    rejected = [line for line in lines if "event" in line]
    assert {line["deadLetter"]["status"] for line in rejected} == {401}
    assert all("Invalid API key" in line["deadLetter"]["response"] for line in rejected)
    assert "revoked-key" not in dead.read_text()

    again = run_cli(
        replay_command(
            dead,
            LOOPS,
            sandbox.url,
            "--rate",
            "1000",
            "--state",
            str(tmp_path / "retry.sqlite"),
            "--dead-letter",
            str(tmp_path / "retry-dead.ndjson"),
        ),
        env=ENV,
    )
    report = summary(again)
    assert sum(s["delivered"] for s in report["subscriptions"].values()) == 9
    assert report["malformed"] == 1  # the unparseable line stays unparseable


def test_retry_after_is_honoured_and_nothing_is_lost(tmp_path: Path, sandbox) -> None:
    sandbox.set_faults(Faults(throttle_rate=0.3, retry_after="1", rate_limits=False, seed=7))
    events = write_ndjson(tmp_path / "e.ndjson", make_events(12))
    started = time.monotonic()
    result = live(events, sandbox)
    elapsed = time.monotonic() - started
    report = summary(result)
    assert result.exit_code == 0, result.output
    assert report["throttled"] >= 1 and report["retries"] >= report["throttled"]
    assert elapsed >= 1.0, "every worker waits out Retry-After"
    assert sandbox.state.stats["acknowledged"] == 12


def test_invalid_payloads_are_dead_lettered_with_the_rule(tmp_path: Path, sandbox) -> None:
    events = write_ndjson(
        tmp_path / "e.ndjson",
        [{"type": "track", "event": "Order Completed", "messageId": "no-user", "properties": {}}],
    )
    result = live(events, sandbox)
    assert result.exit_code == 1
    assert summary(result)["subscriptions"]["Order completed event"]["invalid"] == 1
    (line,) = (tmp_path / "e.ndjson.dead-letter.ndjson").read_text().splitlines()
    assert "CDP401" in json.loads(line)["deadLetter"]["reason"]


def test_a_truncated_gzip_archive_is_a_clear_error_saying_how_far_it_got(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(json.dumps(e) for e in make_events(400)) + "\n").encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    result = run_cli(["replay", str(path), "-m", LOOPS, "--no-progress", "--workers", "1"])
    assert result.exit_code == 2
    assert f"cannot read {path} after line " in result.stderr
    assert "the rest was not processed" in result.stderr
    assert "dry run (nothing sent) — stopped early" in result.stdout  # the summary so far
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--state", "missing-folder/ledger.sqlite", "--state: cannot write"),
        ("--dead-letter", "missing-folder/dead.ndjson", "--dead-letter: cannot write"),
        ("--state", ".", "is a folder; give a file name"),
    ],
)
def test_unwritable_outputs_are_refused_before_anything_is_sent(
    tmp_path: Path, sandbox, option: str, value: str, message: str
) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(3))
    result = live(events, sandbox, option, str(tmp_path / value))
    assert result.exit_code == 2
    assert message in result.stderr
    assert sandbox.state.stats["requests"] == 0
