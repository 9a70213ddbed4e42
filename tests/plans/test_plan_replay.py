"""`replay --plan` and `test-event --plan`: events checked against a tracking plan, violations
counted by rule, and with `--plan-mode block` violating events are not sent (checked against
the sandbox)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl.sandbox.providers.segment import WRITE_KEY

ROOT = Path(__file__).parents[2]
PLAN = ROOT / "tests/fixtures/plans/shop/protocols.json"
EVENTS = ROOT / "tests/cases/plans/shop-events.ndjson"
MAPPING = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: track
    trigger: type = "track"
    action: sendTrack
"""
ENV = {"SEGMENT_WRITE_KEY": WRITE_KEY}


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "segment.yaml"
    path.write_text(MAPPING)
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_violations_are_counted_by_rule_and_warn_mode_sends_everything(
    mapping: Path, workers: str
) -> None:
    args = ["replay", str(EVENTS), "-m", str(mapping), "--plan", str(PLAN), "--no-progress"]
    result = run_cli([*args, "-f", "json", "--workers", workers])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["plan_violating"], summary["plan_blocked"]) == (2, 0)
    assert summary["subscriptions"]["track"]["would_send"] == 3
    assert summary["plan_violating_events"] == {'"order_completed"': 1, '"signed_up"': 1}
    rules = {e["code"] for e in summary["errors"]}
    assert rules == {"CDP712", "CDP713"}
    assert any(
        e["first"] == f"{EVENTS} line 3" and '"gold"' in e["message"] for e in summary["errors"]
    )


def test_block_mode_sends_none_of_the_violating_events(
    mapping: Path, tmp_path: Path, sandbox
) -> None:
    events = tmp_path / "events.ndjson"
    lines = EVENTS.read_text().splitlines()
    events.write_text(
        "".join(
            json.dumps({**json.loads(line), "messageId": f"p-{i}"}) + "\n"
            for i, line in enumerate(lines)
        )
    )
    args = ["replay", str(events), "-m", str(mapping), "--plan", str(PLAN), "--no-progress"]
    args += ["--plan-mode", "block", "--live", "--endpoint", sandbox.url, "-f", "json"]
    result = run_cli(args, env=ENV)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["plan_violating"], summary["plan_blocked"]) == (2, 2)
    assert set(sandbox.state.providers["segment"]["messages"]) == {"p-0"}
    dead = [
        json.loads(line)
        for line in Path(str(events) + ".dead-letter.ndjson").read_text().splitlines()
    ]
    assert {d["event"]["messageId"] for d in dead} == {"p-1", "p-2"}
    assert all(d["deadLetter"]["reason"].startswith("blocked by the tracking plan") for d in dead)
    again = run_cli([*args, "--resume"], env=ENV)  # reported once, never again
    assert len(Path(str(events) + ".dead-letter.ndjson").read_text().splitlines()) == 2
    assert json.loads(again.stdout)["plan_blocked"] == 2


def test_test_event_shows_the_plan_violations(mapping: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(EVENTS.read_text().splitlines()[2])
    result = run_cli(["test-event", str(mapping), str(event), "--plan", str(PLAN)])
    assert result.exit_code == 1
    assert "✗ breaks the tracking plan (1 violation(s))" in result.stdout
    assert "CDP713" in result.stdout
    document = json.loads(
        run_cli(["test-event", str(mapping), str(event), "--plan", str(PLAN), "-f", "json"]).stdout
    )
    assert [v["code"] for v in document["plan_violations"]] == ["CDP713"]


def test_an_unknown_plan_mode_is_a_usage_error(mapping: Path) -> None:
    result = run_cli(
        ["replay", str(EVENTS), "-m", str(mapping), "--plan", str(PLAN), "--plan-mode", "drop"]
    )
    assert result.exit_code == 2
    assert "--plan-mode must be one of warn, block" in result.stderr
