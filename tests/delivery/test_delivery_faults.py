"""Live delivery against a provider that misbehaves the way real ones do: the real client (a
`cdpctl` process) against the real sandbox with its faults. Every run is a subprocess under a
watchdog (a hang fails the test), and the sandbox's receipts say how many times each event
reached the provider: never twice for an action that is not idempotent, never an in-doubt event
reported failed or delivered.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import CUSTOMERIO_EVENTS_MAPPING, SEGMENT_MAPPING, UNKEYED_MAPPING, replay_command

from cdpctl.sandbox.providers.customerio import API_KEY, SITE_ID
from cdpctl.sandbox.providers.segment import WRITE_KEY
from cdpctl.sandbox.providers.sfmc import CLIENT_ID, CLIENT_SECRET
from cdpctl.sandbox.server import Faults

ROOT = Path(__file__).parents[2]
ENV = {
    "SEGMENT_WRITE_KEY": WRITE_KEY,
    "CIO_SITE_ID": SITE_ID,
    "CIO_API_KEY": API_KEY,
    "SFMC_CLIENT_ID": CLIENT_ID,
    "SFMC_CLIENT_SECRET": CLIENT_SECRET,
}
WATCHDOG = 90  # seconds: no run here takes more than a few


def write_tracks(path: Path, count: int) -> list[str]:
    ids = [f"m-{n:04d}" for n in range(count)]
    path.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": f"user-{n % 7}",
                    "messageId": message_id,
                    "timestamp": "2024-05-17T09:30:00.000Z",
                    "properties": {"n": n},
                }
            )
            + "\n"
            for n, message_id in enumerate(ids)
        )
    )
    return ids


def run(args: list[str], *, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """`cdpctl ARGS` in a process of its own; a run that outlives WATCHDOG fails the test."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "cdpctl", *args],
        env={**os.environ, **ENV, "NO_COLOR": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WATCHDOG,
        preexec_fn=limit,
    )


def replay(
    events: Path, mapping: Path, sandbox: Any, *extra: str, memory: int | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = run(
        replay_command(events, mapping, sandbox.url, "--rate", "1000", *extra), memory=memory
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result, json.loads(result.stdout) if result.stdout.strip() else {}


def segment_copies(sandbox: Any) -> dict[int, int]:
    """Copies of each event Segment received, by `properties.n` (messageIds may be absent)."""
    counted: dict[int, int] = {}
    for message in sandbox.state.providers["segment"]["messages"].values():
        counted[message["properties"]["n"]] = counted.get(message["properties"]["n"], 0) + 1
    return counted


def ledger(events: Path) -> dict[str, str]:
    with sqlite3.connect(str(events) + ".cdpctl-state.sqlite") as db:
        return dict(db.execute("SELECT message_id, state FROM outcomes"))


def dead_letters(events: Path) -> list[dict[str, Any]]:
    path = Path(str(events) + ".dead-letter.ndjson")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def totals(report: dict[str, Any], column: str) -> int:
    return sum(s[column] for s in report["subscriptions"].values())


@pytest.fixture
def unkeyed(tmp_path: Path) -> Path:
    path = tmp_path / "unkeyed.yaml"
    path.write_text(UNKEYED_MAPPING)
    return path


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    path = tmp_path / "segment.yaml"
    path.write_text(SEGMENT_MAPPING)
    return path


# --- answers that never come whole: in doubt when a repeat would duplicate --------------------

AMBIGUOUS = [
    pytest.param(Faults(trickle_rate=1, trickle_ms=400, rate_limits=False), id="trickle"),
    pytest.param(Faults(late_rate=1, late_ms=2500, rate_limits=False), id="late"),
    pytest.param(Faults(reset_after_rate=1, rate_limits=False), id="reset-after-processing"),
    pytest.param(Faults(truncate_rate=1, rate_limits=False), id="truncated"),
]


@pytest.mark.parametrize("faults", AMBIGUOUS)
def test_an_answer_that_never_comes_whole_leaves_a_not_idempotent_event_in_doubt(
    tmp_path: Path, sandbox: Any, unkeyed: Path, faults: Faults
) -> None:
    events = tmp_path / "events.ndjson"
    ids = write_tracks(events, 3)
    sandbox.set_faults(faults)
    result, report = replay(events, unkeyed, sandbox, "--no-batch", "--timeout", "1")
    assert result.returncode == 1, result.stderr
    assert segment_copies(sandbox) == {0: 1, 1: 1, 2: 1}, "each reached Segment once, no retry"
    assert totals(report, "in_doubt") == 3
    assert totals(report, "delivered") == totals(report, "failed") == 0
    assert set(ledger(events).values()) == {"in doubt"}
    assert dead_letters(events) == [], "in doubt is not failed: no dead letter to replay"
    assert {e["messageId"] for e in report["in_doubt_events"]} == set(ids)

    # --resume alone sends nothing again; --resend-in-doubt is the user's say-so.
    sandbox.set_faults(Faults(rate_limits=False))
    _, again = replay(events, unkeyed, sandbox, "--no-batch", "--resume")
    assert totals(again, "in_doubt") == 3 and sandbox.state.stats["acknowledged"] == 3
    _, resent = replay(events, unkeyed, sandbox, "--no-batch", "--resume", "--resend-in-doubt")
    assert totals(resent, "delivered") == 3
    assert segment_copies(sandbox) == {0: 2, 1: 2, 2: 2}


@pytest.mark.parametrize("faults", AMBIGUOUS)
def test_an_answer_that_never_comes_whole_is_retried_for_a_keyed_event(
    tmp_path: Path, sandbox: Any, keyed: Path, faults: Faults
) -> None:
    events = tmp_path / "events.ndjson"
    ids = write_tracks(events, 3)
    sandbox.set_faults(replace(faults, limit=1))  # the first attempt only
    result, report = replay(events, keyed, sandbox, "--no-batch", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert totals(report, "delivered") == 3 and totals(report, "in_doubt") == 0
    messages = sandbox.state.providers["segment"]
    assert set(messages["messages"]) == set(ids)
    assert messages["duplicates"] == 1, "the ambiguous attempt was sent again; Segment drops it"


def test_max_attempts_1_and_no_answer_is_in_doubt_and_the_summary_says_how_to_resend(
    tmp_path: Path, sandbox: Any, keyed: Path
) -> None:
    events = tmp_path / "events.ndjson"
    write_tracks(events, 2)
    sandbox.set_faults(Faults(reset_after_rate=1, rate_limits=False))
    result = run(
        [
            "replay",
            str(events),
            "-m",
            str(keyed),
            "--live",
            "--endpoint",
            sandbox.url,
            "--no-batch",
            "--max-attempts",
            "1",
            "--no-progress",
        ]
    )
    assert result.returncode == 1
    assert "in doubt: 2 event(s)" in result.stdout
    assert "--resend-in-doubt" in result.stdout
    assert set(ledger(events).values()) == {"in doubt"}


# --- answers that are too big or unusable ---------------------------------------------------


def test_an_800_mb_answer_is_not_read_whole_and_the_run_ends_with_its_summary(
    tmp_path: Path, sandbox: Any, keyed: Path
) -> None:
    events = tmp_path / "events.ndjson"
    write_tracks(events, 3)
    sandbox.set_faults(Faults(huge_rate=1, huge_bytes=800_000_000, rate_limits=False))
    result, report = replay(events, keyed, sandbox, "--no-batch", memory=1_500_000_000)
    assert result.returncode == 0, result.stderr
    assert totals(report, "delivered") == 3


@pytest.mark.parametrize("token", ["non-ascii", "crlf", "empty", "missing", "huge", "not-json"])
def test_an_unusable_sfmc_token_fails_the_events_with_a_located_reason_and_never_hangs(
    tmp_path: Path, sandbox: Any, token: str
) -> None:
    mapping = tmp_path / "sfmc.yaml"
    mapping.write_text((ROOT / "examples" / "sfmc.yaml").read_text())
    sandbox.set_faults(Faults(token=token, rate_limits=False))
    event = tmp_path / "identify.json"
    event.write_text(
        json.dumps({"type": "identify", "userId": "u-1", "messageId": "i-1", "traits": {}})
    )
    sent = run(["send", str(mapping), str(event), "--live", "--endpoint", sandbox.url])
    assert sent.returncode == 1, sent.stderr
    assert "internal error" not in sent.stderr and "Traceback" not in sent.stderr
    assert "X-Injected" not in sent.stdout + sent.stderr
    assert "€" not in sent.stdout + sent.stderr
    assert "token" in sent.stdout

    events = tmp_path / "events.ndjson"
    events.write_text(event.read_text() + "\n")
    result, report = replay(events, mapping, sandbox, "--no-batch")
    assert result.returncode == 1
    assert totals(report, "failed") >= 1 and totals(report, "in_doubt") == 0
    assert "X-Injected" not in result.stdout + result.stderr
    assert all(state == "failed" for state in ledger(events).values())


# --- the run's own machinery failing ----------------------------------------------------------


def test_a_dead_letter_file_that_cannot_be_written_at_the_last_batch_stops_the_run_cleanly(
    tmp_path: Path, sandbox: Any
) -> None:
    mapping = tmp_path / "customerio.yaml"
    mapping.write_text(CUSTOMERIO_EVENTS_MAPPING)
    events = tmp_path / "events.ndjson"
    write_tracks(events, 4)  # one batch, flushed when the input ends
    sandbox.set_faults(Faults(error_rate=1, rate_limits=False))
    result, report = replay(
        events,
        mapping,
        sandbox,
        "--max-attempts",
        "1",
        "--concurrency",
        "1",  # one lane: the batch is the last thing sent, and nothing else is in flight
        "--dead-letter",
        "/dev/full",
    )
    assert result.returncode == 2
    assert "cannot write the dead-letter file /dev/full" in result.stderr
    assert report["stopped"] and report["resume"].endswith("--resume")
    assert not set(ledger(events).values()) & {"failed", "in doubt", "sending"}, (
        "refused, so never processed: nothing recorded that a resume would not send again"
    )
    resumed, _ = replay(events, mapping, sandbox, "--max-attempts", "1", "--resume")
    assert resumed.returncode == 1
    assert len(dead_letters(events)) == 4, "each refused event dead-lettered on the resume"


def test_a_customerio_207_partial_failure_dead_letters_exactly_the_refused_items(
    tmp_path: Path, sandbox: Any
) -> None:
    mapping = tmp_path / "customerio.yaml"
    mapping.write_text(CUSTOMERIO_EVENTS_MAPPING)
    events = tmp_path / "events.ndjson"
    ids = write_tracks(events, 20)
    sandbox.set_faults(Faults(partial_rate=0.3, rate_limits=False, seed=4))
    result, report = replay(events, mapping, sandbox)
    receipts = sandbox.state.receipts["customerio"]
    received = {key.removeprefix("event ") for key in receipts}
    dead = {r["event"]["messageId"] for r in dead_letters(events)}
    assert result.returncode == 1
    assert dead and received, "some items refused, the others applied"
    assert received | dead == set(ids) and not received & dead
    assert set(receipts.values()) == {1}, "each applied once"
    assert (totals(report, "delivered"), totals(report, "failed")) == (len(received), len(dead))
    assert totals(report, "in_doubt") == 0, "a 207 is an answer: nothing is in doubt"


# --- pacing: the provider's limit is kept, and 429s are waited out ------------------------------


def test_throttling_never_fails_an_event_and_the_summary_says_how_long_the_run_waited(
    tmp_path: Path, sandbox: Any, unkeyed: Path
) -> None:
    events = tmp_path / "events.ndjson"
    write_tracks(events, 6)
    sandbox.set_faults(Faults(throttle_rate=0.8, retry_after="1", rate_limits=False, seed=2))
    result = run(
        [
            "replay",
            str(events),
            "-m",
            str(unkeyed),
            "--live",
            "--endpoint",
            sandbox.url,
            "--no-batch",
            "--max-attempts",
            "1",
            "--no-progress",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waited " in result.stdout and "rate limit" in result.stdout
    assert segment_copies(sandbox) == dict.fromkeys(range(6), 1)


@pytest.mark.slow
def test_forty_dotdigital_contacts_at_the_default_pace_get_no_429(tmp_path: Path) -> None:
    from cdpctl.sandbox.providers.dotdigital import PASSWORD, USERNAME
    from cdpctl.sandbox.server import SandboxServer

    server = SandboxServer(0, faults=Faults(rate_limits=True))  # Dotdigital's 1 request/s
    server.start_background()
    try:
        mapping = tmp_path / "dotdigital.yaml"
        mapping.write_text(
            "version: 1\n"
            "destination:\n"
            "  provider: dotdigital\n"
            "  settings:\n"
            "    api_host: https://r1-api.dotdigital.com\n"
            "    username: ${DD_USER}\n"
            "    password: ${DD_PASSWORD}\n"
            "subscriptions:\n"
            "  - name: contacts\n"
            '    trigger: type = "identify"\n'
            "    action: addContactToList\n"
        )
        events = tmp_path / "events.ndjson"
        events.write_text(
            "".join(
                json.dumps(
                    {
                        "type": "identify",
                        "userId": f"u{n}",
                        "messageId": f"d-{n}",
                        "traits": {"email": f"person{n}@example.com"},
                    }
                )
                + "\n"
                for n in range(40)
            )
        )
        result = subprocess.run(
            [sys.executable, "-m", "cdpctl", *replay_command(events, mapping, server.url)],
            env={**os.environ, "DD_USER": USERNAME, "DD_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            timeout=240,
        )
        report = json.loads(result.stdout)
        assert result.returncode == 0, result.stderr
        assert totals(report, "delivered") == 40
        assert report["throttled"] == 0 and server.state.stats.get("rate_limited", 0) == 0
    finally:
        server.shutdown()
        server.server_close()
