"""`cdpctl send`: dry run by default, live against the sandbox, golden-request diffs."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli

from cdpctl.sandbox.providers.loops import API_KEY

ROOT = Path(__file__).parents[2]
LOOPS = str(ROOT / "examples" / "loops.yaml")


def test_dry_run_is_the_default_and_sends_nothing(sandbox) -> None:
    result = run_cli(
        ["send", LOOPS, "track", "--endpoint", sandbox.url], env={"LOOPS_API_KEY": API_KEY}
    )
    assert result.exit_code == 0, result.output
    assert "dry run — nothing sent" in result.stdout
    assert sandbox.state.stats["requests"] == 0


def test_live_send_prints_request_and_response_and_redacts_the_key(sandbox) -> None:
    result = run_cli(
        ["send", LOOPS, "track", "--live", "--endpoint", sandbox.url, "--format", "json", "-v"],
        env={"LOOPS_API_KEY": API_KEY},
    )
    assert result.exit_code == 0, result.output
    assert API_KEY not in result.stdout
    document = json.loads(result.stdout)
    sent = [s for s in document["subscriptions"] if s["matched"]]
    (request,) = sent[0]["requests"]
    assert request["headers"]["Authorization"] == "Bearer ${LOOPS_API_KEY}"
    assert request["response"]["status"] == 200
    assert request["response"]["attempts"] == 1
    assert "headers" in request["response"]
    assert sandbox.state.providers["loops"]["events"][0]["eventName"] == "Order Completed"


def test_live_send_of_a_rejected_request_exits_1_with_the_provider_reason(sandbox) -> None:
    result = run_cli(
        ["send", LOOPS, "track", "--live", "--endpoint", sandbox.url],
        env={"LOOPS_API_KEY": "wrong-key"},
    )
    assert result.exit_code == 1
    assert "not delivered: HTTP 401" in result.stdout
    assert "wrong-key" not in result.stdout


def test_live_send_refuses_when_a_secret_is_not_in_the_environment(sandbox) -> None:
    result = run_cli(["send", LOOPS, "track", "--live", "--endpoint", sandbox.url], env={})
    assert result.exit_code == 2
    assert "LOOPS_API_KEY" in result.stderr


def test_expect_passes_on_identical_requests_and_fails_on_a_difference(tmp_path: Path) -> None:
    golden = tmp_path / "golden.json"
    saved = run_cli(["send", LOOPS, "track", "--save-expect", str(golden)])
    assert saved.exit_code == 0
    assert run_cli(["send", LOOPS, "track", "--expect", str(golden)]).exit_code == 0
    document = json.loads(golden.read_text())
    document["requests"][0]["json"]["eventName"] = "Something Else"
    del document["requests"][0]["headers"]["Content-Type"]  # headers left out are not compared
    golden.write_text(json.dumps(document))
    result = run_cli(["send", LOOPS, "track", "--expect", str(golden), "--format", "json"])
    assert result.exit_code == 1
    differences = json.loads(result.stdout)["expect"]["differences"]
    assert differences == [
        '$.requests[0].json.eventName: expected "Something Else", got "Order Completed"'
    ]


def test_bad_event_json_is_a_located_usage_error(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"type": "track",\n "event": }')
    result = run_cli(["send", LOOPS, str(event)])
    assert result.exit_code == 2
    assert f"{event}:2:" in result.stderr and "CDP109" in result.stderr
