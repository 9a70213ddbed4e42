"""`TrackingPlan.checker().violations(event)`: cases in tests/cases/plans/events.yaml against
the Protocols fixture, a plan with `additionalProperties: false` and COMMON rules, and the
checker's own guarantees (no details for conforming events, stable results, bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cdpctl import codes
from cdpctl.diagnostics import Severity, format_json_path
from cdpctl.plans import load_plan

ROOT = Path(__file__).parents[1]
PLAN = ROOT / "fixtures" / "plans" / "protocols" / "ecommerce.json"
CASES = yaml.safe_load((ROOT / "cases" / "plans" / "events.yaml").read_text())


@pytest.fixture(scope="module")
def checker():
    return load_plan(PLAN).checker()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_violations(checker, case: dict) -> None:
    found = checker.violations(case["event"])
    got = [[d.code, format_json_path(d.json_path)] for d in found]
    assert sorted(got) == sorted(case["expect"])
    for diagnostic in found:
        assert diagnostic.severity is Severity.ERROR
        assert diagnostic.message


def test_messages_name_the_property_and_the_plan_event(checker) -> None:
    (missing,) = checker.violations(
        {"type": "track", "event": "Order Completed", "properties": {"order_id": "o"}}
    )
    assert missing.message == "properties.total is required by the plan for Order Completed"
    (unplanned,) = checker.violations({"type": "track", "event": "Order Refunded"})
    assert unplanned.message == 'the tracking plan does not define the track event "Order Refunded"'


def test_results_do_not_depend_on_what_was_checked_before(checker) -> None:
    event = {"type": "track", "event": "Order Completed", "properties": {"total": "x"}}
    first = checker.violations(event)
    for name in (f"Event {i}" for i in range(50)):
        checker.violations({"type": "track", "event": name})
    assert checker.violations(event) == first
    assert len(first) == 2


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"type": None},
        {"type": 3, "event": {"a": 1}},
        {"type": "track", "event": ["not", "a", "name"]},
        {"type": "track", "event": None},
    ],
)
def test_events_without_a_usable_type_or_name(checker, event: dict) -> None:
    found = checker.violations(event)
    assert all(d.code == codes.UNPLANNED_EVENT for d in found)
    assert bool(found) == (event.get("type") == "track")


def test_additional_properties_false_and_common_rules(tmp_path: Path) -> None:
    plan = {
        "rules": [
            {
                "key": "Signed Up",
                "type": "TRACK",
                "jsonSchema": {
                    "properties": {
                        "properties": {
                            "type": "object",
                            "properties": {"plan": {"type": "string"}},
                            "additionalProperties": False,
                        }
                    }
                },
            },
            {
                "key": None,
                "type": "COMMON",
                "jsonSchema": {
                    "properties": {
                        "context": {
                            "type": "object",
                            "properties": {"library": {"type": "object"}},
                            "required": ["library"],
                        }
                    }
                },
            },
        ]
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    checker = load_plan(tmp_path / "plan.json").checker()
    fine = {
        "type": "track",
        "event": "Signed Up",
        "properties": {"plan": "pro"},
        "context": {"library": {}},
    }
    assert checker.violations(fine) == ()
    bad = {"type": "track", "event": "Signed Up", "properties": {"plan": "pro", "coupon": "X"}}
    found = {(d.code, format_json_path(d.json_path)) for d in checker.violations(bad)}
    assert found == {
        (codes.UNPLANNED_PROPERTY, "$.properties"),
        (codes.PLAN_PROPERTY_MISSING, "$.context.library"),
    }
    extra = next(d for d in checker.violations(bad) if d.code == codes.UNPLANNED_PROPERTY)
    assert "coupon" in extra.message


def test_a_plan_event_name_that_is_every_event_of_its_type(tmp_path: Path) -> None:
    rules = [
        {
            "key": "Home",
            "type": "PAGE",
            "jsonSchema": {"properties": {"properties": {"required": ["path"]}}},
        },
        {
            "key": None,
            "type": "PAGE",
            "jsonSchema": {"properties": {"properties": {"required": ["url"]}}},
        },
    ]
    (tmp_path / "plan.json").write_text(json.dumps(rules))
    checker = load_plan(tmp_path / "plan.json").checker()
    home = checker.violations({"type": "page", "name": "Home", "properties": {}})
    other = checker.violations({"type": "page", "name": "Pricing", "properties": {}})
    assert [format_json_path(d.json_path) for d in home] == ["$.properties.path"]
    assert [format_json_path(d.json_path) for d in other] == ["$.properties.url"]
