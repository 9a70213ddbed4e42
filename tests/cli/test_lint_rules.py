"""Lint rules beyond the schema: YAML cases in tests/cases/lint/ (`# expect:` headers), and the
rule tables themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl import codes, triggers
from cdpctl.lint import spec
from cdpctl.lint.literals import kind_of
from cdpctl.lint.reach import analyse

CASES = Path(__file__).parents[1] / "cases" / "lint"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (CDP\d+) (.*)$")
ROOT = Path(__file__).parents[2]


def _expectations(path: Path) -> list[tuple[int, int, str, str]]:
    found = []
    for line in path.read_text().splitlines():
        match = EXPECT.match(line)
        if match:
            found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_finding_at_its_line_and_column_with_its_default_severity(case: Path) -> None:
    expected = _expectations(case)
    result = run_cli(["validate", "--format", "json", str(case)])
    errors = any(codes.default_severity(code) == "error" for _, _, code, _ in expected)
    assert result.exit_code == (1 if errors else 0), result.output
    (report,) = json.loads(result.stdout)["files"]
    got = [
        (e["line"], e["column"], e["code"], e["message"], e["severity"]) for e in report["errors"]
    ]
    for line, column, code, words in expected:
        matching = [g for g in got if g[:3] == (line, column, code)]
        assert matching, f"expected {code} at {line}:{column}; got {got}"
        assert words in matching[0][3], matching[0][3]
        assert matching[0][4] == codes.default_severity(code), matching[0]
    assert len(got) == len(expected), got


def test_bundled_examples_have_no_findings_at_all() -> None:
    result = run_cli(["validate", "--format", "json", str(ROOT / "examples")])
    assert result.exit_code == 0, result.output
    for report in json.loads(result.stdout)["files"]:
        assert report["errors"] == [], report


def _reach(fql: str) -> frozenset[str] | None:
    reach = analyse(triggers.parse(fql))
    return None if reach is None else reach.types


@pytest.mark.parametrize(
    ("fql", "types"),
    [
        ('type = "identify"', {"identify"}),
        ('event = "Order Completed"', {"track"}),
        ('type = "track" or type = "page"', {"track", "page"}),
        ('name = "Home"', {"page", "screen"}),
        ("traits.plan = null", set(spec.CALL_TYPES)),
        ('type != "track"', set(spec.CALL_TYPES) - {"track"}),
        ('properties.total > 10 and traits.plan = "pro"', set()),
        ('userId != null and context.ip = "1.2.3.4"', set(spec.CALL_TYPES)),
    ],
)
def test_the_call_types_a_trigger_can_match(fql: str, types: set[str]) -> None:
    assert _reach(fql) == frozenset(types)


def test_a_trigger_with_too_many_alternatives_is_left_alone() -> None:
    fql = " and ".join(f'(event = "a{i}" or event = "b{i}")' for i in range(9))  # 512 branches
    assert analyse(triggers.parse(fql)) is None


@pytest.mark.parametrize(
    ("key", "known", "guess"),
    [
        ("trait", spec.TOP_LEVEL_FIELDS, "traits"),
        ("propertes", spec.TOP_LEVEL_FIELDS, "properties"),
        ("property", spec.TOP_LEVEL_FIELDS, "properties"),
        ("user_id", spec.TOP_LEVEL_FIELDS, "userId"),
        ("messageID", spec.TOP_LEVEL_FIELDS, "messageId"),
        ("timestmap", spec.TOP_LEVEL_FIELDS, "timestamp"),
        ("trait", spec.CONTEXT_FIELDS, "traits"),
        ("user_agent", spec.CONTEXT_FIELDS, "userAgent"),
        ("email", spec.TOP_LEVEL_FIELDS, None),
        ("user", spec.TOP_LEVEL_FIELDS, None),
        ("traits", spec.TOP_LEVEL_FIELDS, None),
        ("deviceToken", spec.CONTEXT_FIELDS, None),
        ("ips", spec.CONTEXT_FIELDS, None),
    ],
)
def test_near_misses_of_segment_spec_names(
    key: str, known: frozenset[str], guess: str | None
) -> None:
    assert spec.near_miss(key, known) == guess


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("jane@acme.com", "email address"),
        ("Jane Doe <jane@acme.com>", "email address"),
        ("+447700900123", "phone number"),
        ("+1 (415) 555-0100", "phone number"),
        ("@acme.com", None),
        ("Order {{properties.id}} for jane@acme.com", None),
        ("+12", None),
        ("123456", None),
        ("2024-05-01", None),
    ],
)
def test_what_counts_as_a_hard_coded_contact(value: str, kind: str | None) -> None:
    assert kind_of(value) == kind


def test_every_new_rule_has_a_stable_code_a_description_and_a_severity() -> None:
    for code in ("CDP601", "CDP602", "CDP603", "CDP604", "CDP605", "CDP606"):
        assert code in codes.DESCRIPTIONS
    assert [codes.default_severity(f"CDP60{n}") for n in range(1, 7)] == [
        "error",
        "warning",
        "error",
        "warning",
        "warning",
        "warning",
    ]
