"""`--resume` knows subscriptions by identity, not by name, and refuses what it cannot tell;
a ledger file that cannot be used is one located line, exit 2, and nothing is sent."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import replay_command, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from cdpctl.delivery.ledger import Ledger, ResumeAmbiguous, Subscription
from cdpctl.sandbox.providers.segment import WRITE_KEY

ENV = {"SEGMENT_WRITE_KEY": WRITE_KEY}

SUBSCRIPTIONS = {
    "every event": ('type = "track"', "sendTrack", '      event_name: {"@path": "$.event"}\n'),
    "people": ('type = "identify"', "sendIdentify", ""),
}


def mapping_text(subs: list[tuple[str, str]]) -> str:
    """A Segment mapping with the given (name, key of SUBSCRIPTIONS) in that order."""
    text = (
        "version: 1\ndestination:\n  provider: segment\n  settings:\n"
        "    source_write_key: ${SEGMENT_WRITE_KEY}\nsubscriptions:\n"
    )
    for name, kind in subs:
        trigger, action, mapping = SUBSCRIPTIONS[kind]
        text += f"  - name: {name}\n    trigger: {trigger}\n    action: {action}\n"
        if mapping:
            text += "    mapping:\n" + mapping
    return text


def write_events(path: Path, count: int) -> None:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track" if n % 2 else "identify",
                    "event": "Order Completed",
                    "userId": f"u{n}",
                    "messageId": f"r-{n}",
                    "traits": {"email": f"u{n}@example.com"},
                }
            )
            + "\n"
            for n in range(count)
        )
    )


def replay(events: Path, mapping: Path, sandbox: Any, *extra: str) -> Any:
    return run_cli(replay_command(events, mapping, sandbox.url, *extra), env=ENV)


def sent(sandbox: Any) -> int:
    return int(sandbox.state.stats["requests"])


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param([("Every event", "every event"), ("people", "people")], id="renamed"),
        pytest.param([("people", "people"), ("every event", "every event")], id="reordered"),
        pytest.param([("People", "people"), ("Every Event", "every event")], id="both"),
    ],
)
def test_resume_after_renaming_or_reordering_sends_nothing_already_delivered(
    tmp_path: Path, sandbox: Any, changed: list[tuple[str, str]]
) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 10)
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(mapping_text([("every event", "every event"), ("people", "people")]))
    first = replay(events, mapping, sandbox)
    assert first.exit_code == 0, first.output
    before = sent(sandbox)

    mapping.write_text(mapping_text(changed))
    again = replay(events, mapping, sandbox, "--resume")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert sent(sandbox) == before, "nothing sent again"
    assert sum(s["already_done"] for s in report["subscriptions"].values()) == 10


def test_resume_after_an_edit_under_the_same_name_continues_that_subscription(
    tmp_path: Path, sandbox: Any
) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 6)
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(mapping_text([("every event", "every event")]))
    assert replay(events, mapping, sandbox).exit_code == 0
    before = sent(sandbox)
    edited = mapping.read_text().replace('{"@path": "$.event"}', '{"@template": "{{event}}!"}')
    mapping.write_text(edited)
    again = replay(events, mapping, sandbox, "--resume")
    assert again.exit_code == 0, again.output
    assert sent(sandbox) == before


def test_resume_refuses_a_rename_with_an_edit_in_one_line_and_sends_nothing(
    tmp_path: Path, sandbox: Any
) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 6)
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(mapping_text([("every event", "every event")]))
    assert replay(events, mapping, sandbox).exit_code == 0
    before = sent(sandbox)
    edited = mapping_text([("Every event", "every event")]).replace("$.event", "$.properties.x")
    mapping.write_text(edited)
    refused = replay(events, mapping, sandbox, "--resume")
    assert refused.exit_code == 2
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1
    assert '"Every event"' in message and '"every event"' in message
    assert "earlier name" in message and "--state" in message
    assert sent(sandbox) == before


def test_a_ledger_written_before_identities_resumes_by_name(tmp_path: Path, sandbox: Any) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 4)
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(mapping_text([("every event", "every event"), ("people", "people")]))
    state = tmp_path / "old.sqlite"
    with sqlite3.connect(state) as db:  # the layout of ledgers from before subscription ids
        db.execute(
            "CREATE TABLE outcomes (destination TEXT NOT NULL, subscription TEXT NOT NULL, "
            "message_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
            " status INTEGER, reason TEXT, updated REAL NOT NULL, PRIMARY KEY (destination, "
            "subscription, message_id)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO outcomes VALUES ('segment', ?, ?, 'delivered', 1, 200, NULL, 0)",
            [("every event", f"r-{n}") for n in (1, 3)] + [("people", f"r-{n}") for n in (0, 2)],
        )
    again = replay(events, mapping, sandbox, "--resume", "--state", str(state))
    assert again.exit_code == 0, again.output
    assert sent(sandbox) == 0


NAMES = st.sampled_from(["a", "b", "c", "A", "B"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(NAMES, st.sampled_from(["t1", "t2"])),
        min_size=1,
        max_size=4,
        unique_by=lambda x: x[0],
    ),
    st.permutations(range(4)),
    st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_bind_keeps_each_identity_or_refuses_never_swaps(
    tmp_path_factory: Any, subs: list[tuple[str, str]], order: list[int], rename: list[bool]
) -> None:
    """Over random renames and reorders (mappings unchanged), every subscription gets back the
    identity it had, and a fresh ledger never hands one identity to two subscriptions."""
    path = tmp_path_factory.mktemp("bind") / "ledger.sqlite"
    ledger = Ledger(path)
    first = [Subscription.of(name, "sendTrack", trigger, {"n": trigger}) for name, trigger in subs]
    try:
        identities = ledger.bind("d", first)
    except ResumeAmbiguous:  # two subscriptions identical but for their names
        ledger.close()
        return
    assert len(set(identities)) == len(identities)
    moved = [i for i in order if i < len(first)]
    second = [
        Subscription(
            first[i].name + ("-renamed" if rename[i] else ""),
            first[i].action,
            first[i].trigger,
            first[i].fingerprint,
        )
        for i in moved
    ]
    try:
        again = ledger.bind("d", second)
    except ResumeAmbiguous:
        ledger.close()
        return
    ledger.close()
    assert again == [identities[i] for i in moved]


def test_state_files_that_cannot_be_used_are_one_line_naming_the_file(
    tmp_path: Path, sandbox: Any
) -> None:
    events = tmp_path / "events.ndjson"
    write_events(events, 3)
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(mapping_text([("every event", "every event")]))

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("these are my notes, not a ledger\n" * 200)
    good = tmp_path / "good.sqlite"
    assert replay(events, mapping, sandbox, "--state", str(good)).exit_code == 0
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(good.read_bytes()[:1500])
    read_only = tmp_path / "read-only.sqlite"
    read_only.write_bytes(good.read_bytes())
    read_only.chmod(0o444)
    # root writes through file permissions, but not through the immutable attribute
    immutable = os.geteuid() == 0 and _chattr("+i", read_only)
    before = sent(sandbox)
    cases = [(not_sqlite, "not a cdpctl ledger"), (truncated, "")]
    if os.geteuid() != 0 or immutable:
        cases.append((read_only, "read-only"))
    try:
        for path, words in cases:
            result = replay(events, mapping, sandbox, "--resume", "--state", str(path))
            assert result.exit_code == 2, (path, result.output)
            message = result.stderr.strip()
            assert len(message.splitlines()) == 1, message
            assert str(path) in message and words in message
            assert "internal error" not in message and "Traceback" not in message
    finally:
        if immutable:
            _chattr("-i", read_only)
    assert sent(sandbox) == before, "nothing sent"
    assert os.geteuid() != 0 or immutable, "root could not make the ledger read-only to test it"


def _chattr(flag: str, path: Path) -> bool:
    import shutil
    import subprocess

    tool = shutil.which("chattr")
    if tool is None:
        return False
    return subprocess.run([tool, flag, str(path)], capture_output=True).returncode == 0


def test_a_segment_id_keeps_the_identity_through_a_rename_and_an_edit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = Subscription.of("every event", "sendTrack", 'type = "track"', {"a": 1}, "sub-1")
    (identity,) = ledger.bind("d", [first])
    renamed = Subscription.of("Every event", "sendTrack", 'type = "track"', {"a": 2}, "sub-1")
    assert ledger.bind("d", [renamed]) == [identity]
    ledger.close()
