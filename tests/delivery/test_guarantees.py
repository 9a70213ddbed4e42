"""What cdpctl promises a live replay (docs/guarantees.md), checked against the real sandbox:
nothing lost or sent twice across kill -9 and Ctrl-C, one run per ledger, dead letters on disk
before the ledger says "failed", a disk that fills up stops the run cleanly, and every report
happens once however often a run is resumed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    SEGMENT_MAPPING,
    UNKEYED_MAPPING,
    replay_command,
    run_cli,
    sigint_as_in_a_terminal,
)

from cdpctl.delivery.ledger import hold
from cdpctl.sandbox.providers.segment import WRITE_KEY
from cdpctl.sandbox.server import Faults

ROOT = Path(__file__).parents[2]
ENV = {"SEGMENT_WRITE_KEY": WRITE_KEY}
MAPPING = SEGMENT_MAPPING


def write_events(path: Path, count: int, *, malformed: bool = False) -> set[str]:
    ids = set()
    lines = []
    for i in range(count):
        message_id = f"g-{i:05d}"
        ids.add(message_id)
        event = {
            "type": "identify" if i % 2 else "track",
            "messageId": message_id,
            "userId": f"user-{i % 97}",
            "timestamp": "2024-05-17T09:30:00.000Z",
            "traits": {"email": f"user-{i % 97}@example.com"},
            "event": "Order Completed",
        }
        lines.append(json.dumps(event))
        if malformed and i == count // 2:
            lines.append("{this line is not json")
    path.write_text("\n".join(lines) + "\n")
    return ids


def dead_letters(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "segment.yaml"
    path.write_text(MAPPING)
    return path


def start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cdpctl", *args],
        env={**os.environ, **ENV},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )


def wait_for_acknowledged(sandbox, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(sandbox.state.providers["segment"]["messages"]) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)


def write_tracks(path: Path, count: int) -> set[int]:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": f"user-{n % 97}",
                    "messageId": f"t-{n:05d}",
                    "properties": {"n": n},
                }
            )
            + "\n"
            for n in range(count)
        )
    )
    return set(range(count))


def copies(sandbox) -> dict[int, int]:
    """How many times the sandbox received each event (by `properties.n`)."""
    counted: dict[int, int] = {}
    for message in sandbox.state.providers["segment"]["messages"].values():
        n = message["properties"]["n"]
        counted[n] = counted.get(n, 0) + 1
    return counted


def ledger_states(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT message_id, state FROM outcomes"))


def wait_for_received(sandbox, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(sandbox.state.providers["segment"]["messages"]) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.slow
def test_kill_9_then_resume_never_sends_a_not_idempotent_event_twice_or_loses_one(
    tmp_path: Path, sandbox
) -> None:
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(UNKEYED_MAPPING)
    events = tmp_path / "events.ndjson"
    numbers = write_tracks(events, 1_200)
    sandbox.set_faults(
        Faults(
            latency_ms=2,
            error_rate=0.1,
            throttle_rate=0.05,
            retry_after="0",
            reset_rate=0.02,
            rate_limits=False,
            seed=99,
        )
    )
    args = replay_command(events, mapping, sandbox.url, "--no-batch", "--rate", "600")
    rng = random.Random(5)
    resume: list[str] = []
    for _ in range(3):  # kill at three random points, resuming each time
        process = start(args + resume)
        received = len(sandbox.state.providers["segment"]["messages"])
        wait_for_received(sandbox, received + rng.randrange(40, 300), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resume = ["--resume"]
    final = run_cli([*args, "--resume", "--rate", "5000"], env=ENV)
    assert final.exit_code in (0, 1), final.output
    report = json.loads(final.stdout)
    received = copies(sandbox)
    states = ledger_states(tmp_path / "events.ndjson.cdpctl-state.sqlite")
    dead = {
        r["event"]["properties"]["n"]: r["deadLetter"]["reason"]
        for r in dead_letters(tmp_path / "events.ndjson.dead-letter.ndjson")
    }
    in_doubt = {int(m[2:]) for m, state in states.items() if state == "in doubt"}

    assert max(received.values()) == 1, "no event received twice"
    assert received.keys() | dead.keys() | in_doubt == numbers, "every event accounted for"
    assert not dead.keys() & in_doubt, "in doubt is never dead-lettered as failed"
    assert not dead.keys() & received.keys(), "a received event is never dead-lettered"
    assert all(state in ("delivered", "failed", "in doubt") for state in states.values())
    assert sum(s["in_doubt"] for s in report["subscriptions"].values()) == len(in_doubt)
    assert {int(e["messageId"][2:]) for e in report["in_doubt_events"]} <= in_doubt


@pytest.mark.slow
def test_kill_9_then_resume_resends_keyed_events_in_doubt_and_loses_none(
    tmp_path: Path, sandbox, mapping: Path
) -> None:
    events = tmp_path / "events.ndjson"
    ids = write_events(events, 1_200)
    sandbox.set_faults(
        Faults(latency_ms=2, error_rate=0.1, reset_rate=0.02, rate_limits=False, seed=98)
    )
    args = replay_command(events, mapping, sandbox.url, "--no-batch", "--rate", "600")
    process = start(args)
    wait_for_acknowledged(sandbox, 300, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    final = run_cli([*args, "--resume", "--rate", "5000"], env=ENV)
    assert final.exit_code in (0, 1), final.output
    report = json.loads(final.stdout)
    state = sandbox.state.providers["segment"]
    dead = {
        r["event"]["messageId"] for r in dead_letters(tmp_path / "events.ndjson.dead-letter.ndjson")
    }
    # Segment deduplicates by messageId: what the killed run left in doubt is sent again, and
    # Segment drops the repeats (counted by the sandbox as duplicates).
    assert set(state["messages"]) | dead == ids
    assert sum(s["in_doubt"] for s in report["subscriptions"].values()) == 0
    states = ledger_states(tmp_path / "events.ndjson.cdpctl-state.sqlite")
    assert set(states.values()) <= {"delivered", "failed"}


def test_a_second_run_on_the_same_ledger_is_refused_naming_the_holder(
    tmp_path: Path, sandbox, mapping: Path
) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 10)
    state = tmp_path / "state.sqlite"
    lock = hold(state)  # a first run that is still going
    try:
        result = run_cli(
            replay_command(events, mapping, sandbox.url, "--state", str(state)), env=ENV
        )
    finally:
        lock.release()
    assert result.exit_code == 2
    assert f"pid {os.getpid()}" in result.stderr
    assert "in use by another replay" in result.stderr
    assert sandbox.state.stats["requests"] == 0
    again = run_cli(replay_command(events, mapping, sandbox.url, "--state", str(state)), env=ENV)
    assert again.exit_code == 0, again.output


def test_two_runs_started_together_on_one_ledger_send_each_event_once(
    tmp_path: Path, sandbox, mapping: Path
) -> None:
    events = tmp_path / "events.ndjson"
    ids = write_events(events, 300)
    args = replay_command(
        events, mapping, sandbox.url, "--no-batch", "--rate", "300", "--state", str(tmp_path / "s")
    )
    first, second = start(args), start(args)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 2], outputs
    assert any("in use by another replay" in err for _, err in outputs)
    assert set(sandbox.state.providers["segment"]["messages"]) == ids
    assert sandbox.state.providers["segment"]["duplicates"] == 0


def test_a_full_disk_stops_the_run_and_resume_loses_nothing(
    tmp_path: Path, sandbox, mapping: Path
) -> None:
    events = tmp_path / "events.ndjson"
    ids = write_events(events, 40)
    state = tmp_path / "state.sqlite"
    wrong = {"SEGMENT_WRITE_KEY": "wrong-key"}  # every event is refused: each needs a dead letter
    full = run_cli(
        replay_command(
            events,
            mapping,
            sandbox.url,
            "--no-batch",
            "--state",
            str(state),
            "--dead-letter",
            "/dev/full",
        ),
        env=wrong,
    )
    assert full.exit_code == 2, full.output
    assert "cannot write the dead-letter file /dev/full" in full.stderr
    summary = json.loads(full.stdout)
    assert summary["stopped"].startswith("cannot write the dead-letter file")
    assert "--resume" in summary["resume"]
    with sqlite3.connect(state) as db:
        failed = db.execute("SELECT COUNT(*) FROM outcomes WHERE state='failed'").fetchone()[0]
    assert failed == 0, "no failure recorded without its dead letter"

    dead = tmp_path / "dead.ndjson"
    resumed = run_cli(
        replay_command(
            events,
            mapping,
            sandbox.url,
            "--no-batch",
            "--state",
            str(state),
            "--dead-letter",
            str(dead),
            "--resume",
        ),
        env=wrong,
    )
    assert resumed.exit_code == 1, resumed.output
    assert {r["event"]["messageId"] for r in dead_letters(dead)} == ids


def test_interrupted_replay_prints_summary_and_resume_command_and_resends_only_in_doubt(
    tmp_path: Path, sandbox
) -> None:
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(UNKEYED_MAPPING)
    events = tmp_path / "events.ndjson"
    numbers = write_tracks(events, 600)
    with events.open("a") as archive:
        archive.write("{this line is not json\n")
    sandbox.set_faults(Faults(latency_ms=30, rate_limits=False))
    args = replay_command(events, mapping, sandbox.url, "--no-batch", "--rate", "200")
    process = start(args)
    wait_for_received(sandbox, 30, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "interrupted"
    assert summary["resume"].endswith("--resume")
    delivered = sum(s["delivered"] for s in summary["subscriptions"].values())
    interrupted_in_doubt = sum(s["in_doubt"] for s in summary["subscriptions"].values())
    received = copies(sandbox)
    assert delivered <= len(received) <= delivered + interrupted_in_doubt <= delivered + 8
    assert summary["queued"] >= summary["settled_in_run"] == delivered + interrupted_in_doubt

    sandbox.set_faults(Faults(rate_limits=False))
    dead_file = tmp_path / "events.ndjson.dead-letter.ndjson"
    resumed = run_cli([*args, "--resume", "--rate", "5000"], env=ENV)
    report = json.loads(resumed.stdout)
    states = ledger_states(tmp_path / "events.ndjson.cdpctl-state.sqlite")
    in_doubt = {int(m[2:]) for m, state in states.items() if state == "in doubt"}
    assert len(in_doubt) == interrupted_in_doubt
    assert sum(s["in_doubt"] for s in report["subscriptions"].values()) == len(in_doubt)
    assert copies(sandbox).keys() | in_doubt == numbers
    assert max(copies(sandbox).values()) == 1
    assert [r for r in dead_letters(dead_file) if "event" in r] == [], "in doubt is no dead letter"
    assert len([r for r in dead_letters(dead_file) if "event" not in r]) == 1, "the bad line"

    # Resuming again reports nothing twice: no new dead letters, nothing sent.
    before = sandbox.state.stats["requests"]
    lines = len(dead_letters(dead_file))
    again = run_cli([*args, "--resume"], env=ENV)
    assert len(dead_letters(dead_file)) == lines
    assert sandbox.state.stats["requests"] == before
    assert sum(s["in_doubt"] for s in json.loads(again.stdout)["subscriptions"].values()) == len(
        in_doubt
    )

    # --resend-in-doubt sends exactly the in-doubt events, once.
    received_before = len(sandbox.state.providers["segment"]["received"])
    resent = run_cli([*args, "--resume", "--resend-in-doubt"], env=ENV)
    report = json.loads(resent.stdout)
    assert sum(s["delivered"] for s in report["subscriptions"].values()) == len(in_doubt)
    new = sandbox.state.providers["segment"]["received"][received_before:]
    assert {r["body"]["properties"]["n"] for r in new} == in_doubt
    assert len(new) == len(in_doubt)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_a_dry_run_prints_the_summary_so_far(mapping: Path, workers: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdpctl",
            "replay",
            "-",
            "-m",
            str(mapping),
            "--no-progress",
            "--workers",
            workers,
            "--format",
            "json",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_as_in_a_terminal,
    )
    assert process.stdin is not None
    line = json.dumps({"type": "identify", "userId": "u", "traits": {"email": "u@example.com"}})
    process.stdin.write((line + "\n").encode() * 20_000)
    process.stdin.flush()  # and keep stdin open: the run waits for more events
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert b"Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "interrupted"
    assert summary["resume"] is None  # a dry run has nothing to resume
    assert 0 < summary["subscriptions"]["identify"]["would_send"] <= 20_000
