"""`cdpctl diff` judges each event once per mapping file and compares cheaply first: what it
reports must be what comparing every request's full redacted view reports."""

from __future__ import annotations

import copy
import functools
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import run_cli
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cdpctl.delivery.sources import EventSource, Malformed
from cdpctl.diffing import diff
from cdpctl.output.review import render_json, render_text
from cdpctl.pipeline import Destination, Invalid, Ready, Skipped, evaluate_all, load_destination
from cdpctl.providers.base import ActionContext, Request
from cdpctl.requestview import request_view
from cdpctl.review import (
    CHANGED,
    INVALID_BOTH,
    NEWLY_MATCHED,
    NO_LONGER_MATCHED,
    SAME_TRAFFIC,
    UNCHANGED,
    EventDiff,
    Reviewer,
    ReviewSummary,
    SubscriptionDiff,
    collect_changed,
    field_name,
)

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
NOW = 1_714_521_600.0  # one instant for every judgement of the oracle
ENV = {
    "CUSTOMERIO_SITE_ID": "site-4a1b2c3d4e",
    "CUSTOMERIO_API_KEY": "cio-key-0f1e2d3c4b5a",
    "DOTDIGITAL_USERNAME": "apiuser-1a2b3c@apiconnector.com",
    "DOTDIGITAL_PASSWORD": "dd-password-9z8y7x",
    "LOOPS_API_KEY": "loops-key-5e6f7a8b9c",
    "SEGMENT_WRITE_KEY": "wk-0a9b8c7d6e5f",
    "SENDGRID_API_KEY": "SG.key-1q2w3e4r5t6y",
    "SFMC_CLIENT_ID": "sfmc-client-7u8i9o0p",
    "SFMC_CLIENT_SECRET": "sfmc-secret-a1s2d3f4g5",
}


def _reference(
    old: Destination, new: Destination, records: Iterator[Any], show: int
) -> tuple[ReviewSummary, list[EventDiff]]:
    """The plain definition: per event, every matched subscription's full request views
    (redacted, without `purpose`) under each file, compared field by field."""
    summary = ReviewSummary()
    shown: list[EventDiff] = []

    def views(destination: Destination, event: dict[str, Any]) -> dict[str, Any]:
        redactor = destination.redactor()
        ctx = ActionContext(settings=destination.settings.values, clock=lambda: NOW)
        found: dict[str, Any] = {}
        for sub, verdict in evaluate_all(destination, event, ctx, explain=False):
            if isinstance(verdict, Invalid):
                errors = [f"{d.code} {d.message}" for d in verdict.diagnostics if d.is_error]
                found[sub.name] = {"invalid": errors}
            elif isinstance(verdict, Skipped):
                found[sub.name] = {"requests": []}
            elif isinstance(verdict, Ready):
                sent = [request_view(r, redactor) for r in verdict.requests]
                for view in sent:
                    view.pop("purpose", None)
                found[sub.name] = {"requests": sent}
        return found

    for record in records:
        summary.events += 1
        if isinstance(record, Malformed):
            summary.malformed += 1
            continue
        before, after = views(old, record.event), views(new, record.event)
        subs = []
        for name in [*before, *(n for n in after if n not in before)]:
            if name not in after:
                subs.append(SubscriptionDiff(name, NO_LONGER_MATCHED))
            elif name not in before:
                subs.append(SubscriptionDiff(name, NEWLY_MATCHED))
            elif "invalid" in before[name] and "invalid" in after[name]:
                subs.append(SubscriptionDiff(name, INVALID_BOTH))
            else:
                changes = tuple(diff(before[name], after[name]))
                subs.append(SubscriptionDiff(name, CHANGED if changes else UNCHANGED, changes))
        message_id = record.event.get("messageId")
        result = EventDiff(
            record.where, message_id if isinstance(message_id, str) else None, tuple(subs)
        )
        for sub in subs:
            summary.verdicts[(sub.subscription, sub.verdict)] += 1
            for where, kind in {(field_name(c.path), c.kind) for c in sub.changes}:
                summary.fields[(sub.subscription, where, kind)] += 1
        changed = any(s.verdict not in SAME_TRAFFIC for s in subs)
        summary.changed_events += changed
        if changed and len(shown) < show:
            shown.append(result)
    return summary, shown


def _variants(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Mapping changes a pull request makes: none, reordered or renamed subscriptions (an
    action may keep a token for the event's later requests), an equivalent trigger, a field
    mapped differently."""
    subs = document["subscriptions"]
    yield "same", copy.deepcopy(document)
    changed = copy.deepcopy(document)
    changed["subscriptions"] = subs[::-1]
    yield "reversed", changed
    changed = copy.deepcopy(document)
    changed["subscriptions"] = subs[1:] + subs[:1]
    yield "rotated", changed
    changed = copy.deepcopy(document)
    changed["subscriptions"][-1]["name"] += " (v2)"
    yield "renamed", changed
    changed = copy.deepcopy(document)
    changed["subscriptions"][0]["trigger"] += ' and userId != "nobody"'
    yield "equivalent trigger", changed
    changed = copy.deepcopy(document)
    changed["subscriptions"][0]["enabled"] = False
    yield "disabled", changed
    for index, sub in enumerate(subs):
        mapping = sub.get("mapping")
        paths = [k for k, v in (mapping or {}).items() if isinstance(v, dict) and "@path" in v]
        if paths:
            changed = copy.deepcopy(document)
            field = changed["subscriptions"][index]["mapping"][paths[0]]
            changed["subscriptions"][index]["mapping"][paths[0]] = {
                "@if": {"exists": field, "then": field, "else": "n/a"}
            }
            yield "default added", changed
            break


def _events(folder: Path) -> Path:
    """The sample events, each also without its timestamp and ids, and some broken ones."""
    lines = []
    for path in sorted((ROOT / "sample_events").glob("*.json")):
        event = json.loads(path.read_text())
        lines.append(event)
        bare = {k: v for k, v in event.items() if k not in ("timestamp", "userId", "messageId")}
        lines.append(bare)
    lines += [
        {"type": "identify", "userId": "u-2", "traits": {"email": "not an email"}},
        {"type": "track", "event": "Order Completed", "anonymousId": "a-1"},
        {"type": "track", "event": "Order Completed", "userId": "u-3", "properties": []},
    ]
    path = folder / "events.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines) + "{broken\n")
    return path


CASES = [
    (example, label)
    for example in EXAMPLES
    for label, _ in _variants(yaml.safe_load(example.read_text()))
]


@pytest.mark.parametrize(("example", "label"), CASES, ids=[f"{e.stem}-{v}" for e, v in CASES])
def test_diff_reports_what_comparing_full_request_views_reports(
    tmp_path: Path, example: Path, label: str
) -> None:
    document = yaml.safe_load(example.read_text())
    changed = dict(_variants(document))[label]
    new_path = tmp_path / "new.yaml"
    new_path.write_text(yaml.safe_dump(changed, sort_keys=False))
    old = load_destination(str(example), ENV)
    new = load_destination(str(new_path), ENV)
    events = _events(tmp_path)
    for before, after in ((old, new), (new, old)):
        summary, shown = ReviewSummary(), []
        records = EventSource(str(events)).records()
        collect_changed(before, after, records, summary, shown, 100, clock=lambda: NOW)
        expected = _reference(before, after, EventSource(str(events)).records(), 100)
        assert render_json(summary, shown) == render_json(*expected)
        assert render_text(summary, shown) == render_text(*expected)
        assert summary.events == 16 and summary.malformed == 1
        if label == "same":
            assert summary.changed == 0
        if label == "disabled":  # every event the first subscription matched is a change
            assert summary.changed > 0


def test_a_secret_is_compared_by_its_reference_never_by_its_value(tmp_path: Path) -> None:
    """Requests under another value of a secret, or with it unset, show the same `${NAME}`:
    unchanged, and no value is printed."""
    example = ROOT / "examples" / "loops.yaml"
    old = load_destination(str(example), ENV)
    rotated = load_destination(str(example), {**ENV, "LOOPS_API_KEY": "loops-key-rotated-1"})
    unset = load_destination(str(example), {k: v for k, v in ENV.items() if "LOOPS" not in k})
    events = _events(tmp_path)
    for after in (rotated, unset):
        summary, shown = ReviewSummary(), []
        collect_changed(old, after, EventSource(str(events)).records(), summary, shown, 100)
        assert summary.changed_events == 0 and summary.count(UNCHANGED) > 0
        assert render_json(summary, shown) == render_json(
            *_reference(old, after, EventSource(str(events)).records(), 100)
        )
        assert "loops-key" not in render_json(summary, shown)


REPORT_MAPPING = """\
version: 1
destination:
  provider: customerio
  settings:
    siteId: ${CIO_SITE_ID}
    apiKey: ${CIO_API_KEY}
subscriptions:
  - name: metrics
    trigger: type = "track" and event = "Report Delivery Event"
    action: reportDeliveryEvent
"""


def _ticking(start: float) -> Callable[[], float]:
    """A clock one second later at every reading."""
    now = [start]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    return clock


def test_both_files_judge_an_event_at_one_instant(tmp_path: Path) -> None:
    """Customer.io's delivery metric carries the time when the event has none: judged by both
    files at one instant, only the mapping's change shows, never a second ticking by."""
    old = tmp_path / "old.yaml"
    old.write_text(REPORT_MAPPING)
    new = tmp_path / "new.yaml"
    new.write_text(REPORT_MAPPING + "    mapping:\n      action_name: clicked\n")
    events = tmp_path / "events.ndjson"
    event = {
        "type": "track",
        "event": "Report Delivery Event",
        "userId": "u-1",
        "properties": {"deliveryId": "d-1", "metric": "opened"},
    }
    events.write_text(json.dumps(event) + "\n" + json.dumps({**event, "userId": "u-2"}) + "\n")
    environ = {"CIO_SITE_ID": "site-1a2b3c4d", "CIO_API_KEY": "key-5e6f7a8b9c"}
    before, after = load_destination(str(old), environ), load_destination(str(new), environ)
    summary, shown = ReviewSummary(), []
    records = EventSource(str(events)).records()
    collect_changed(before, after, records, summary, shown, 10, clock=_ticking(NOW))
    assert [c.describe() for e in shown for s in e.subscriptions for c in s.changes] == [
        '$.requests[0].json.metadata: added {"action_name": "clicked"}'
    ] * 2
    # the same file against itself: unchanged, whatever the clock says between readings
    summary = ReviewSummary()
    records = EventSource(str(events)).records()
    collect_changed(before, before, records, summary, [], 10, clock=_ticking(NOW))
    assert summary.count(UNCHANGED) == 2 and summary.changed == 0


def test_limit_stops_reading_like_replay(tmp_path: Path) -> None:
    """`--limit N` reads N records and stops, so a broken end of the archive after them is
    not read (as `replay --limit`); without it the break is reported."""
    example = str(ROOT / "examples" / "loops.yaml")
    track = (ROOT / "sample_events" / "track.json").read_text().replace("\n", "")
    archive = tmp_path / "events.ndjson.gz"
    data = gzip.compress(((track + "\n") * 3).encode())
    archive.write_bytes(data[: len(data) - 6])  # the gzip trailer is cut off
    limited = run_cli(["diff", example, example, str(archive), "--limit", "2", "-f", "json"])
    assert limited.exit_code == 0, limited.output
    assert json.loads(limited.stdout)["events"] == 2
    whole = run_cli(["diff", example, example, str(archive), "-f", "json"])
    assert whole.exit_code == 2
    assert "the rest was not processed" in whole.output


SECRET = ENV["LOOPS_API_KEY"]
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from(["a", "b", "a b", SECRET, f"key {SECRET}", "ü"]),
)
_keys = st.sampled_from(["a", "b", "c", "d", "x y", SECRET])
_json = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
_bodies = st.dictionaries(_keys, _json, max_size=5)


@functools.cache
def _loops() -> Destination:
    return load_destination(str(ROOT / "examples" / "loops.yaml"), ENV)


@settings(max_examples=300, deadline=None)
@given(before=_bodies, after=_bodies, same_url=st.booleans())
@example(before={"a": True, "b": {"c": 1}}, after={"a": 1, "b": {"c": 1.0}}, same_url=True)
@example(
    before={"a": {"b": [1, {"c": "x"}], "d": "y"}, "e": 1},
    after={"x y": 2, "a": {"d": "y", "b": [1, {"c": "z"}], SECRET: 3}},
    same_url=True,
)
def test_changes_between_two_requests_are_those_of_their_full_views(
    before: dict[str, Any], after: dict[str, Any], same_url: bool
) -> None:
    """Only members that differ are viewed, yet the changes (their places, values, order and
    redaction) are those of comparing both requests' whole redacted views."""
    destination = _loops()
    reviewer = Reviewer(destination, destination)
    redactor = destination.redactor()
    headers = (("Authorization", f"Bearer {SECRET}"),)
    old = Request("POST", "https://api.example.test/v1/a", headers, json=before)
    url = old.url if same_url else "https://api.example.test/v1/b"
    new = Request("POST", url, headers, json=after)

    def view(request: Request) -> dict[str, Any]:
        sent = request_view(request, redactor)
        sent.pop("purpose", None)
        return {"requests": [sent]}

    expected = diff(view(old), view(new))
    found = reviewer.changes(Ready({}, (old,)), Ready({}, (new,)))
    assert [(c.path, c.expected, c.actual) for c in found] == [
        (c.path, c.expected, c.actual) for c in expected
    ]
    assert SECRET not in repr(found)
