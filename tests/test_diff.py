"""`cdpctl diff`: per-event request diffs and the verdict summary for a mapping change."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli

ROOT = Path(__file__).parent.parent
OLD = ROOT / "examples" / "loops.yaml"


def test_diff_reports_changed_unchanged_newly_and_no_longer_matched(tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    text = OLD.read_text()
    text = text.replace(
        'eventName: {"@template": "{{event}}"}', 'eventName: {"@template": "order: {{event}}"}'
    )
    text = text.replace('trigger: type = "identify"', 'trigger: type = "page"')
    new.write_text(text)
    events = tmp_path / "events.ndjson"
    samples = [
        json.loads((ROOT / "sample_events" / f"{n}.json").read_text())
        for n in ("identify", "track", "page", "screen")
    ]
    events.write_text("\n".join(json.dumps(e) for e in samples) + "\n")

    result = run_cli(["diff", str(OLD), str(new), str(events), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["events"] == 4
    assert report["summary"] == {
        "changed": 1,
        "unchanged": 0,
        "newly matched": 1,
        "no longer matched": 1,
    }
    changed = [s for d in report["diffs"] for s in d["subscriptions"] if s["verdict"] == "changed"]
    assert changed[0]["changes"] == [
        '$.requests[0].json.eventName: was "Order Completed", now "order: Order Completed"'
    ]

    strict = run_cli(["diff", str(OLD), str(new), str(events), "--fail-on-change"])
    assert strict.exit_code == 1
    assert "1 changed, 0 unchanged, 1 newly matched, 1 no longer matched" in strict.stdout


def test_identical_mappings_give_no_diffs(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text((ROOT / "sample_events" / "track.json").read_text().replace("\n", "") + "\n")
    result = run_cli(["diff", str(OLD), str(OLD), str(events), "--fail-on-change"])
    assert result.exit_code == 0
    assert "0 changed, 1 unchanged" in result.stdout
