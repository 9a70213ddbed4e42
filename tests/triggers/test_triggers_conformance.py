"""Every FQL conformance vector (produced by Segment's own packages) through cdpctl.triggers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from cdpctl.triggers import UNDEFINED, TriggerSyntaxError, compile_ast, matches, parse

VECTORS = Path(__file__).parents[1] / "conformance"


def _decode(value: Any) -> Any:
    """Turn the vectors' ``$undefined`` / ``$number`` sentinels into Python values."""
    if isinstance(value, dict):
        if value == {"$undefined": True}:
            return UNDEFINED
        if set(value) == {"$number"}:
            return float(value["$number"])
        return {k: _decode(v) for k, v in value.items() if v != {"$undefined": True}}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def _same(actual: Any, expected: Any) -> bool:
    """Structural equality where NaN equals NaN and 1 equals 1.0 (JSON numbers)."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_same(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    numbers = {type(actual), type(expected)} <= {int, float}
    return (type(actual) is type(expected) or numbers) and actual == expected


FQL_CASES = _load("fql.json")
AST_CASES = _load("fql_ast.json")


def test_vector_counts() -> None:
    assert len(FQL_CASES) == 475
    assert len(AST_CASES) == 146


@pytest.mark.parametrize("case", FQL_CASES, ids=[c["name"] for c in FQL_CASES])
def test_fql_case(case: dict[str, Any]) -> None:
    if case.get("parse_error"):
        with pytest.raises(TriggerSyntaxError) as raised:
            parse(case["fql"])
        assert raised.value.column >= 1
        assert raised.value.message
        return
    trigger = parse(case["fql"])
    expected_ast = _decode(case["ast"])
    assert _same(trigger.ast, expected_ast), f"{trigger.ast!r} != {expected_ast!r}"
    assert matches(case["fql"], _decode(case["event"])) is case["matches"]
    assert matches(trigger, _decode(case["event"])) is case["matches"]


@pytest.mark.parametrize("case", AST_CASES, ids=[c["name"] for c in AST_CASES])
def test_fql_ast_case(case: dict[str, Any]) -> None:
    predicate = compile_ast(_decode(case["ast"]))
    event = _decode(case["event"])
    if case.get("error"):
        with pytest.raises((TypeError, ValueError)):
            predicate(event)
        return
    assert predicate(event) is case["matches"]
