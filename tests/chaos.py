"""Chaos runs of live delivery: random fault schedules × kill -9 at random points × `--resume`,
checked per event against the sandbox's receipts (how many times each event reached the
provider). Used by tests/delivery/test_chaos.py (a few bounded rounds) and bench/chaos.py (many).

The invariant, per event, once the last resume has finished:
- the ledger settles it: delivered, failed or in doubt;
- failed ⇒ dead-lettered with a reason; in doubt ⇒ not dead-lettered;
- not idempotent ⇒ received at most once, and never when failed; delivered ⇒ received once;
- idempotent or keyed ⇒ delivered ⇒ received at least once.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import replay_command

from cdpctl.sandbox.providers.customerio import API_KEY, SITE_ID
from cdpctl.sandbox.providers.loops import API_KEY as LOOPS_KEY
from cdpctl.sandbox.providers.segment import WRITE_KEY
from cdpctl.sandbox.server import Faults, SandboxServer

ROOT = Path(__file__).parent.parent
ENV = {
    "SEGMENT_WRITE_KEY": WRITE_KEY,
    "CIO_SITE_ID": SITE_ID,
    "CIO_API_KEY": API_KEY,
    "LOOPS_API_KEY": LOOPS_KEY,
}


@dataclass(frozen=True)
class Case:
    """One provider action, batched or not, and how to find an event's receipts."""

    name: str
    mapping: str
    batched: bool
    repeat_harmless: bool
    receipt: Callable[[int], str]  # event number -> the receipt key it must leave

    def received(self, sandbox: SandboxServer, provider: str, n: int) -> int:
        return int(sandbox.state.receipts.get(provider, {}).get(self.receipt(n), 0))


def _segment(single: bool, keyed: bool) -> str:
    message_id = '      message_id: {"@path": "$.messageId"}\n' if keyed else ""
    return (
        "version: 1\ndestination:\n  provider: segment\n  settings:\n"
        "    source_write_key: ${SEGMENT_WRITE_KEY}\nsubscriptions:\n"
        '  - name: track\n    trigger: type = "track"\n    action: sendTrack\n'
        "    defaults: false\n    mapping:\n"
        '      user_id: {"@path": "$.userId"}\n      event_name: {"@path": "$.event"}\n'
        + message_id
    )


CIO_EVENTS = (
    "version: 1\ndestination:\n  provider: customerio\n  settings:\n"
    "    siteId: ${CIO_SITE_ID}\n    apiKey: ${CIO_API_KEY}\nsubscriptions:\n"
    '  - name: events\n    trigger: type = "track"\n    action: trackEvent\n'
    "    mapping:\n      batch_size: 7\n"
)
CIO_PEOPLE = (
    "version: 1\ndestination:\n  provider: customerio\n  settings:\n"
    "    siteId: ${CIO_SITE_ID}\n    apiKey: ${CIO_API_KEY}\nsubscriptions:\n"
    '  - name: people\n    trigger: type = "track"\n    action: createUpdatePerson\n'
    "    mapping:\n      batch_size: 7\n"
)
LOOPS_EVENTS = (
    "version: 1\ndestination:\n  provider: loops\n  settings:\n    apiKey: ${LOOPS_API_KEY}\n"
    'subscriptions:\n  - name: events\n    trigger: type = "track"\n    action: sendEvent\n'
    "    defaults: false\n    mapping:\n"
    '      userId: {"@path": "$.userId"}\n      eventName: {"@path": "$.event"}\n'
    '      email: {"@template": "{{userId}}@example.com"}\n'
)

CASES = {
    "segment-batch-keyed": (
        "segment",
        Case("segment-batch-keyed", _segment(False, True), True, True, lambda n: f"c-{n:05d}"),
    ),
    "segment-single-unkeyed": (
        "segment",
        Case("segment-single-unkeyed", _segment(True, False), False, False, lambda n: ""),
    ),
    "customerio-batch-events": (
        "customerio",
        Case("customerio-batch-events", CIO_EVENTS, True, False, lambda n: f"event c-{n:05d}"),
    ),
    "customerio-batch-people": (
        "customerio",
        Case("customerio-batch-people", CIO_PEOPLE, True, True, lambda n: f"identify id:u{n}"),
    ),
    "loops-single-events": (
        "loops",
        Case("loops-single-events", LOOPS_EVENTS, False, False, lambda n: ""),
    ),
}


def write_events(path: Path, count: int) -> None:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": f"Event {n}",
                    "userId": f"u{n}",
                    "messageId": f"c-{n:05d}",
                    "timestamp": "2024-05-17T09:30:00.000Z",
                    "properties": {"n": n},
                }
            )
            + "\n"
            for n in range(count)
        )
    )


def receipts_by_event(sandbox: SandboxServer, provider: str, case: Case, count: int) -> list[int]:
    """How many times each event reached the provider."""
    if case.name == "segment-single-unkeyed":  # no messageId: count by the event name sent
        counted = [0] * count
        for message in sandbox.state.providers["segment"]["messages"].values():
            counted[int(message["event"].split()[1])] += 1
        return counted
    if case.name == "loops-single-events":
        counted = [0] * count
        for key, times in sandbox.state.receipts.get("loops", {}).items():
            if key.startswith("events/send userId=u"):
                counted[int(key.split()[1].removeprefix("userId=u"))] += times
        return counted
    return [case.received(sandbox, provider, n) for n in range(count)]


def random_faults(rng: random.Random) -> Faults:
    after = rng.choice(["reset_after_rate", "truncate_rate", "late_rate", "trickle_rate"])
    return Faults(
        error_rate=rng.choice([0, 0.05, 0.15]),
        throttle_rate=rng.choice([0, 0.05]),
        retry_after="0",
        reset_rate=rng.choice([0, 0.03]),
        rate_limits=False,
        seed=rng.randrange(1 << 30),
        late_ms=1500,
        trickle_ms=600,
        **{after: rng.choice([0.02, 0.08])},
    )


def run_round(
    sandbox: SandboxServer, workdir: Path, case_name: str, count: int, seed: int
) -> dict[str, Any]:
    """One chaos round: faults, up to two kills, resumes until the run ends, then the check.
    Returns the figures; raises AssertionError naming the event and what broke."""
    provider, case = CASES[case_name]
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    mapping = workdir / "mapping.yaml"
    mapping.write_text(case.mapping)
    events = workdir / "events.ndjson"
    write_events(events, count)
    args = [
        sys.executable,
        "-m",
        "cdpctl",
        *replay_command(
            events, mapping, sandbox.url, "--rate", "2000", "--timeout", "1", "--max-attempts", "3"
        ),
    ]
    if not case.batched:
        args.append("--no-batch")
    env = {**os.environ, **ENV}
    kills = 0
    runs = 0
    resume: list[str] = []
    while True:
        sandbox.set_faults(random_faults(rng) if runs < 3 else Faults(rate_limits=False))
        process = subprocess.Popen(
            args + resume, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        runs += 1
        if kills < 2 and rng.random() < 0.7:
            time.sleep(rng.uniform(0.3, 2.0))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"{case_name} seed {seed}: a run hung") from None
        text = stderr.decode()
        assert "Traceback" not in text and "internal error" not in text, text
        resume = ["--resume"]
        if process.returncode in (0, 1) and runs >= 2:
            report = json.loads(stdout)
            break
        assert process.returncode in (0, 1, -signal.SIGKILL), (process.returncode, text)
        assert runs < 12, f"{case_name} seed {seed}: no run finished"
    check(sandbox, provider, case, events, count)
    return {"runs": runs, "kills": kills, "report": report}


def check(sandbox: SandboxServer, provider: str, case: Case, events: Path, count: int) -> None:
    with sqlite3.connect(str(events) + ".cdpctl-state.sqlite") as db:
        states = dict(db.execute("SELECT message_id, state FROM outcomes"))
    dead_path = Path(str(events) + ".dead-letter.ndjson")
    dead = {}
    if dead_path.exists():
        for line in dead_path.read_text().splitlines():
            record = json.loads(line)
            dead[record["event"]["messageId"]] = record["deadLetter"]["reason"]
    received = receipts_by_event(sandbox, provider, case, count)
    for n in range(count):
        message_id = f"c-{n:05d}"
        state = states.get(message_id)
        where = f"{case.name}: event {n} ({state}, received {received[n]}×)"
        assert state in ("delivered", "failed", "in doubt"), where
        assert (state == "failed") == (message_id in dead), where
        if state == "failed":
            assert dead[message_id], where
        if not case.repeat_harmless:
            assert received[n] <= 1, where + ": a not-idempotent event received twice"
            if state == "failed":
                assert received[n] == 0, where + ": failed, yet the provider acted on it"
            if state == "delivered":
                assert received[n] == 1, where
        elif state == "delivered":
            assert received[n] >= 1, where
