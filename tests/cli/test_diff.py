"""`cdpctl diff`: per-event request diffs and the verdict summary for a mapping change."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli

ROOT = Path(__file__).parents[2]
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
        "invalid under both": 0,
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


DOTDIGITAL = ROOT / "examples" / "dotdigital.yaml"


def _events(tmp_path: Path, *events: dict) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _sample(name: str) -> dict:
    return json.loads((ROOT / "sample_events" / f"{name}.json").read_text())


def test_diff_compares_what_is_sent_counts_invalid_apart_and_sums_up_by_field(
    tmp_path: Path,
) -> None:
    """A new dataFieldTypes changes the lookup's description (`purpose`), which is not sent:
    only the body fields that change are reported. An event invalid under both mappings is
    counted as such, not as unchanged."""
    new = tmp_path / "new.yaml"
    new.write_text(
        DOTDIGITAL.read_text()
        .replace("BIRTHDAY=Date", "BIRTHDAY=String")
        .replace("emailType: html", "emailType: plainText")
    )
    identify = _sample("identify")
    broken = {"type": "identify", "userId": "u-2", "traits": {"email": "not an email"}}
    events = _events(tmp_path, identify, broken, identify)
    result = run_cli(["diff", str(DOTDIGITAL), str(new), str(events)])
    assert result.exit_code == 0, result.output
    message_id = identify["messageId"]
    changes = [
        "  Upsert contact: changed",
        '    $.requests[1].json.channelProperties.email.emailType: was "html", now "plainText"',
        '    $.requests[1].json.dataFields.BIRTHDAY: was "1990-05-17T00:00:00.000Z", '
        'now "1990-05-17"',
    ]
    assert result.stdout.splitlines() == [
        f"{events} line 1 ({message_id})",
        *changes,
        f"{events} line 3 ({message_id})",
        *changes,
        "3 events compared (0 malformed): 2 changed, 0 unchanged, 0 newly matched, "
        "0 no longer matched, 1 invalid under both",
        "  Upsert contact: 2 changed, 0 unchanged, 0 newly matched, 0 no longer matched, "
        "1 invalid under both",
        "changes by field (number of events):",
        "  Upsert contact: $.requests[1].json.channelProperties.email.emailType changed in 2 "
        "events",
        "  Upsert contact: $.requests[1].json.dataFields.BIRTHDAY changed in 2 events",
    ]
    assert "purpose" not in result.stdout

    report = json.loads(
        run_cli(["diff", str(DOTDIGITAL), str(new), str(events), "-f", "json"]).stdout
    )
    assert report["summary"]["invalid under both"] == 1
    assert report["summary"]["unchanged"] == 0
    assert report["fields"] == [
        {
            "subscription": "Upsert contact",
            "field": "$.requests[1].json.channelProperties.email.emailType",
            "added": 0,
            "changed": 2,
            "removed": 0,
        },
        {
            "subscription": "Upsert contact",
            "field": "$.requests[1].json.dataFields.BIRTHDAY",
            "added": 0,
            "changed": 2,
            "removed": 0,
        },
    ]


def test_field_summary_counts_added_fields_per_event_and_long_values_end_on_a_word(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(OLD.read_text().replace('        plan: {"@path": "$.traits.plan"}\n', "", 1))
    new = tmp_path / "new.yaml"
    long_text = "Thanks for your order " * 8
    new.write_text(
        OLD.read_text().replace(
            '        companyName: {"@path": "$.traits.company.name"}\n',
            '        companyName: {"@path": "$.traits.company.name"}\n'
            f'        note: "{long_text}"\n',
            1,
        )
    )
    identify = _sample("identify")
    without_plan = {**identify, "traits": {**identify["traits"]}}
    del without_plan["traits"]["plan"]
    events = _events(tmp_path, identify, identify, without_plan)
    result = run_cli(["diff", str(old), str(new), str(events), "--show", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    note = [line for line in lines if ".note:" in line]
    assert note == [
        '    $.requests[0].json.note: added "Thanks for your order Thanks for your order Thanks for'
        ' your order Thanks for your order Thanks for your order Thanks…"'
    ]
    assert "… 2 more changed event(s) not shown (see them with --show N)" in lines
    assert lines[-3:] == [
        "changes by field (number of events):",
        "  Upsert contact: $.requests[0].json.note added in 3 events",
        "  Upsert contact: $.requests[0].json.plan added in 2 events",
    ]


def test_diff_color_like_every_other_command(tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(OLD.read_text().replace('trigger: type = "identify"', 'trigger: type = "page"'))
    events = _events(tmp_path, _sample("identify"))
    plain = run_cli(["diff", str(OLD), str(new), str(events), "--color", "never"])
    colored = run_cli(["diff", str(OLD), str(new), str(events), "--color", "always"])
    assert plain.exit_code == colored.exit_code == 0
    assert "\x1b[" not in plain.stdout
    assert "\x1b[31mno longer matched" in colored.stdout
    assert "\x1b[" in colored.stdout
    bad = run_cli(["diff", str(OLD), str(new), str(events), "--color", "sometimes"])
    assert bad.exit_code == 2
