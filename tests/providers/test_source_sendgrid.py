"""`cdpctl source sendgrid`: SendGrid Event Webhook payloads → Segment track events (NDJSON)
that `cdpctl replay` reads."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from cdpctl.sources import sendgrid

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sendgrid_webhook"
ROOT = Path(__file__).parents[2]

NAMES = {
    "processed": "Email Processed",
    "delivered": "Email Delivered",
    "open": "Email Opened",
    "click": "Email Link Clicked",
    "bounce": "Email Bounced",
    "dropped": "Email Dropped",
    "spamreport": "Email Marked as Spam",
    "unsubscribe": "Unsubscribed",
    "group_unsubscribe": "Unsubscribed From Group",
    "group_resubscribe": "Resubscribed To Group",
    "deferred": "Email Deferred",
}


def _convert(path: Path | str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = run_cli(["source", "sendgrid", str(path), *args])
    events = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, events, result.stderr


def test_the_table_is_the_documented_one() -> None:
    assert sendgrid.EVENT_NAMES == NAMES


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_each_event_type_becomes_a_valid_segment_track_event(kind: str) -> None:
    fixture = FIXTURES / f"{kind}.json"
    (webhook,) = json.loads(fixture.read_text(encoding="utf-8"))
    code, events, stderr = _convert(fixture)
    assert code == 0, stderr
    (event,) = events
    assert event["type"] == "track"
    assert event["event"] == NAMES[kind]
    assert event["messageId"] == webhook["sg_event_id"]
    moment = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert moment.timestamp() == webhook["timestamp"]
    assert event["timestamp"].endswith(".000Z")
    email = webhook["email"]
    assert event["anonymousId"] == hashlib.sha256(email.lower().encode()).hexdigest()
    assert event["context"]["traits"]["email"] == email
    assert "userId" not in event
    properties = event["properties"]
    for key, value in webhook.items():  # every webhook field, as SendGrid sent it
        assert properties[key] == value
    if "category" in webhook:
        assert properties["categories"] == [webhook["category"]]
    if "url" in webhook:
        assert properties["link_url"] == webhook["url"]
    if "asm_group_id" in webhook:
        assert properties["unsubscribe_group_id"] == webhook["asm_group_id"]
    if kind in ("open", "click", "group_unsubscribe", "group_resubscribe"):
        assert event["context"]["traits"]["ip"] == webhook["ip"]
        assert event["context"]["traits"]["user_agent"] == webhook["useragent"]
    else:  # a delivery event's ip is the IP SendGrid sent from, not the recipient's
        assert set(event["context"]["traits"]) == {"email"}
    assert f"1 event(s) converted ({NAMES[kind]} 1)" in stderr


def _all_events(tmp_path: Path) -> Path:
    """Every fixture, as NDJSON lines each holding one posted array."""
    lines = [
        json.dumps(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(FIXTURES.glob("*.json"))
    ]
    path = tmp_path / "webhooks.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_output_replays(tmp_path: Path) -> None:
    out = tmp_path / "segment.ndjson"
    result = run_cli(["source", "sendgrid", str(_all_events(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(NAMES)
    assert {json.loads(line)["event"] for line in lines} == set(NAMES.values())

    replay = run_cli(
        [
            "replay",
            str(out),
            "-m",
            str(ROOT / "examples" / "segment.yaml"),
            "--format",
            "json",
            "--no-progress",
        ]
    )
    assert replay.exit_code == 0, replay.stderr
    summary = json.loads(replay.stdout)
    assert summary["events_read"] == len(NAMES)
    assert summary["malformed"] == 0

    # Through a mapping that forwards every track event, each one renders without errors.
    mapping = tmp_path / "forward.yaml"
    assert run_cli(["init", "segment", "sendTrack", "-o", str(mapping)]).exit_code == 0
    replay = run_cli(["replay", str(out), "-m", str(mapping), "-f", "json", "--no-progress"])
    assert replay.exit_code == 0, replay.stdout
    counts = json.loads(replay.stdout)["subscriptions"]["Send Track"]
    assert counts["would_send"] == len(NAMES)
    assert counts["invalid"] == 0


def test_machine_opens_blocked_bounces_campaigns_and_unknown_types() -> None:
    code, events, stderr = _convert(FIXTURES / "extras.ndjson")
    assert code == 1  # an event of unknown type was reported, not converted
    machine, blocked = events
    assert machine["event"] == "Email Machine Opened"
    assert machine["anonymousId"] == hashlib.sha256(b"sam@example.org").hexdigest()
    assert machine["context"]["traits"]["email"] == "Sam@Example.org"
    assert machine["properties"]["categories"] == ["newsletter", "may"]
    assert machine["properties"]["campaign_id"] == 12345
    assert machine["properties"]["campaign_name"] == "May launch"
    assert blocked["event"] == "Email Bounced"
    assert blocked["properties"]["type"] == "blocked"
    assert 'extras.ndjson:3: unknown SendGrid event type "account_status_change"' in stderr
    assert "1 event(s) of unknown type not converted (account_status_change 1)" in stderr


def test_pretty_printed_array_ndjson_and_stdin(tmp_path: Path) -> None:
    pretty = tmp_path / "post.json"
    items = [json.loads(p.read_text())[0] for p in sorted(FIXTURES.glob("*.json"))]
    pretty.write_text("\n" + json.dumps(items, indent=2) + "\n", encoding="utf-8")
    code, events, _ = _convert(pretty)
    assert code == 0
    assert len(events) == len(NAMES)

    ndjson = "\n".join(json.dumps(item) for item in items) + "\n"
    result = run_cli(["source", "sendgrid", "-"], input=ndjson)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(NAMES)
    assert "<stdin>: 11 event(s) converted" in result.stderr


GOOD = {
    "email": "a@example.com",
    "timestamp": 1715938872,
    "event": "delivered",
    "sg_event_id": "abc",
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[\n  {"event": "delivered",\n  oops}\n]\n', "in.json:3:3: CDP109 invalid JSON"),
        ('{"event": "open"\n', "in.json:1:17: CDP109 invalid JSON"),
        ("[\n  1\n]\n", "in.json:2: expected a SendGrid webhook event (a JSON object), got int"),
        (
            json.dumps({**GOOD, "sg_event_id": None}) + "\n",
            'in.json:1: "sg_event_id" is missing; it is SendGrid\'s event ID, kept as messageId',
        ),
        (
            json.dumps({**GOOD, "timestamp": "yesterday"}) + "\n",
            'in.json:1: "timestamp" is not Unix seconds ("yesterday")',
        ),
        (
            json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "email": ""}) + "\n",
            'in.json:2: "email" is not a non-empty string ("")',
        ),
        (json.dumps({**GOOD, "event": 5}) + "\n", 'in.json:1: "event" is not a non-empty string'),
        (
            "[" + json.dumps(GOOD) + "] trailing\n",
            "in.json:1:99: CDP109 invalid JSON: unexpected content",
        ),
        (
            "[\n" + json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n]\n",
            "in.json:3:1: CDP109 invalid JSON: unexpected character, expected ',' or ']'",
        ),
    ],
)
def test_malformed_input_is_one_located_line_and_exit_2(
    tmp_path: Path, content: str, message: str
) -> None:
    source = tmp_path / "in.json"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.ndjson"
    result = run_cli(["source", "sendgrid", str(source), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith("cdpctl: ") and result.stderr.count("\n") == 1
    assert message in result.stderr.replace(str(tmp_path) + "/", "")
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_missing_file_and_no_overwrite(tmp_path: Path) -> None:
    result = run_cli(["source", "sendgrid", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    out = tmp_path / "out.ndjson"
    out.write_text("keep\n", encoding="utf-8")
    result = run_cli(["source", "sendgrid", str(FIXTURES / "open.json"), "-o", str(out)])
    assert result.exit_code == 2
    assert out.read_text(encoding="utf-8") == "keep\n"


def test_timestamps_and_identity() -> None:
    assert sendgrid.iso_timestamp(1513299569) == "2017-12-15T00:59:29.000Z"
    assert sendgrid.iso_timestamp(1513299569.25) == "2017-12-15T00:59:29.250Z"
    assert sendgrid.anonymous_id(" Jane@Example.com ") == sendgrid.anonymous_id("jane@example.com")
