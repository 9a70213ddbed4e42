"""The engine beyond the conformance vectors: @jmespath, compiled reuse, problems, helpers."""

from __future__ import annotations

import copy
import json
import math
import pickle
from typing import Any

import jmespath
import pytest

from cdpctl.mapping import (
    DIRECTIVES,
    UNDEFINED,
    MappingError,
    MappingProblem,
    compile_mapping,
    strip_undefined,
    transform,
    validate,
)

EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "user-123",
    "context": {"ip": "1.2.3.4", "library": {"name": "analytics.js"}},
    "properties": {
        "order_id": "o-1",
        "total": 99.5,
        "coupon": None,
        "zero": 0,
        "products": [
            {"sku": "SKU-1", "price": 10, "quantity": 2},
            {"sku": "SKU-2", "price": 5.5, "quantity": 1},
        ],
    },
    "traits": {"email": "Peter@Example.com", "plan": "premium"},
}


# --- @jmespath -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("traits.plan", "premium"),
        ("properties.total", 99.5),
        ("properties.zero", 0),
        ("properties.products[1].sku", "SKU-2"),
        ("properties.products[-1].quantity", 1),
        ("properties.products[*].sku", ["SKU-1", "SKU-2"]),
        ("properties.products[?price > `6`].sku | [0]", "SKU-1"),
        ("length(properties.products)", 2),
        ('context."library".name', "analytics.js"),
        ("{id: userId, ip: context.ip}", {"id": "user-123", "ip": "1.2.3.4"}),
    ],
)
def test_jmespath_evaluates_against_the_event(expression: str, expected: Any) -> None:
    assert transform({"out": {"@jmespath": expression}}, EVENT) == {"out": expected}


@pytest.mark.parametrize(
    "expression", ["properties.nope", "properties.coupon", "traits.plan.deeper", "nope[0]"]
)
def test_jmespath_null_result_drops_the_key(expression: str) -> None:
    assert transform({"out": {"@jmespath": expression}, "kept": 1}, EVENT) == {"kept": 1}
    assert transform({"@jmespath": expression}, EVENT) is UNDEFINED


@pytest.mark.parametrize(
    "expression",
    [
        "a.b.c",
        "a[0]",
        "a[-1].b",
        "a[5]",
        "a.b[1][0]",
        '"a"."b c"',
        "s.x",
        "s[0]",
        "n.b",
        "a.b.c.d",
    ],
)
@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"a": {"b": {"c": False, "d": 0}, "b c": "x"}, "s": "str", "n": None},
        {"a": [{"b": [[1, 2], 3]}, {"b": "last"}], "s": ["x"]},
        {"a": {"b": [["p", "q"], ["r"]]}},
    ],
)
def test_jmespath_field_chains_agree_with_the_library(
    expression: str, payload: dict[str, Any]
) -> None:
    expected = jmespath.search(expression, payload)
    result = transform({"@jmespath": expression}, payload)
    assert result == (UNDEFINED if expected is None else expected)


def test_jmespath_syntax_error_is_reported_at_the_directive() -> None:
    mapping = {"user": {"email": {"@jmespath": "traits..email"}}}
    (problem,) = validate(mapping)
    assert problem.path == ("user", "email", "@jmespath")
    assert problem.message.startswith("/user/email/@jmespath is not a valid JMESPath expression: ")
    assert problem.message.endswith(".")
    assert "\n" not in problem.message
    with pytest.raises(MappingError) as raised:
        compile_mapping(mapping)
    assert raised.value.problems == (problem,)


@pytest.mark.parametrize("expression", ["", "foo(", "`unclosed", "a[?b ==]"])
def test_jmespath_syntax_errors_of_every_kind_are_problems(expression: str) -> None:
    (problem,) = validate({"@jmespath": expression})
    assert problem.message.startswith("/@jmespath is not a valid JMESPath expression: ")


def test_jmespath_argument_must_be_a_string() -> None:
    (problem,) = validate({"x": {"@jmespath": {"@path": "$.a"}}})
    assert problem.path == ("x", "@jmespath")
    assert problem.message == "/x/@jmespath should be a string but it is a directive."


def test_jmespath_runtime_type_error_raises_mapping_error() -> None:
    apply = compile_mapping({"n": {"@jmespath": "abs(traits.plan)"}})
    with pytest.raises(MappingError) as raised:
        apply(EVENT)
    assert raised.value.problems == ()


def test_directives_lists_mapping_kit_directives_and_jmespath() -> None:
    assert (
        frozenset(
            {
                "@path",
                "@template",
                "@if",
                "@literal",
                "@arrayPath",
                "@case",
                "@replace",
                "@merge",
                "@flatten",
                "@json",
                "@excludeWhenNull",
                "@transform",
                "@liquid",
                "@jmespath",
            }
        )
        == DIRECTIVES
    )


# --- compile once, apply many ----------------------------------------------------------

REALISTIC_MAPPING: dict[str, Any] = {
    "email": {"@path": "$.traits.email"},
    "email_lower": {"@case": {"operator": "lower", "value": {"@path": "$.traits.email"}}},
    "order_id": {"@path": "$.properties.order_id"},
    "value": {"@path": "$.properties.total"},
    "coupon": {"@excludeWhenNull": {"@path": "$.properties.coupon"}},
    "currency": {
        "@if": {
            "exists": {"@path": "$.properties.currency"},
            "then": {"@path": "$.properties.currency"},
            "else": "USD",
        }
    },
    "label": {"@template": "{{userId}} ({{traits.plan}})"},
    "items": {
        "@arrayPath": [
            "$.properties.products",
            {"id": {"@path": "$.sku"}, "qty": {"@path": "$.quantity"}},
        ]
    },
    "plan": {"@jmespath": "traits.plan"},
    "flat": {"@flatten": {"value": {"@path": "$.context"}, "separator": "_"}},
    "merged": {
        "@merge": {"direction": "right", "objects": [{"plan": "free"}, {"@path": "$.traits"}]}
    },
    "json": {"@json": {"mode": "encode", "value": {"@path": "$.properties.products"}}},
    "greeting": {"@liquid": "{{ traits.email | downcase }}"},
    "constant": "cdpctl",
}


def _payloads() -> list[dict[str, Any]]:
    payloads: list[dict[str, Any]] = [EVENT, {}, {"traits": {}}]
    for index in range(40):
        event = copy.deepcopy(EVENT)
        event["userId"] = f"user-{index}"
        event["traits"]["email"] = f"Person{index}@Example.COM"
        event["properties"]["products"] = event["properties"]["products"][: index % 3]
        if index % 2:
            event["properties"]["currency"] = "EUR"
            event["properties"]["coupon"] = f"C{index}"
        if index % 5 == 0:
            del event["traits"]
        payloads.append(event)
    return payloads


def test_compiled_mapping_reused_over_many_payloads_matches_transform() -> None:
    apply = compile_mapping(REALISTIC_MAPPING)
    for payload in _payloads():
        assert apply(payload) == transform(REALISTIC_MAPPING, payload)


def test_compiled_mapping_neither_mutates_the_payload_nor_reuses_results() -> None:
    apply = compile_mapping(REALISTIC_MAPPING)
    payload = copy.deepcopy(EVENT)
    first = apply(payload)
    first["items"].append("tampered")
    first["merged"]["plan"] = "tampered"
    first["flat"].clear()
    assert payload == EVENT
    assert apply(payload) == transform(REALISTIC_MAPPING, EVENT)


def test_compiled_mapping_defaults_to_an_empty_payload_and_rejects_non_objects() -> None:
    apply = compile_mapping({"a": {"@path": "$.a"}, "b": 1})
    assert apply() == {"b": 1}
    for payload in ([], "event", None, 5):
        with pytest.raises(MappingError, match="data must be an object"):
            apply(payload)


def test_compile_mapping_rejects_an_invalid_mapping_up_front() -> None:
    with pytest.raises(MappingError) as raised:
        compile_mapping({"a": {"@path": 5}, "b": {"@template": False}})
    assert [problem.path for problem in raised.value.problems] == [
        ("a", "@path"),
        ("b", "@template"),
    ]
    assert str(raised.value).splitlines() == [
        "/a/@path should be a string or a mapping directive but it is a number.",
        "/b/@template should be a string or a mapping directive but it is a boolean.",
    ]


def test_runtime_failures_happen_only_where_mapping_kit_resolves_them() -> None:
    # Arrays are not validated; an unknown directive inside one fails when resolved.
    apply = compile_mapping(
        {
            "@if": {
                "exists": {"@path": "$.flag"},
                "then": [{"@oops": 1}],
                "else": "fine",
            }
        }
    )
    assert apply({}) == "fine"
    with pytest.raises(MappingError, match="@oops is not a valid directive") as raised:
        apply({"flag": True})
    assert raised.value.problems == ()


# --- problems: paths and hints ---------------------------------------------------------


def test_nested_unknown_directive_has_path_and_hint() -> None:
    (problem,) = validate({"user": {"contact": {"@pathh": "$.traits.email"}}})
    assert problem == MappingProblem(
        path=("user", "contact", "@pathh"),
        message="/user/contact has an invalid directive: @pathh.",
        hint='did you mean "@path"?',
    )


def test_unknown_directive_hint_ignores_case_and_gives_up_on_nonsense() -> None:
    (upper,) = validate({"@Template": "x"})
    assert upper.hint == 'did you mean "@template"?'
    (nonsense,) = validate({"@zzzzzzzz": "x"})
    assert nonsense.hint is None


def test_problem_paths_point_at_the_offending_node() -> None:
    mapping = {
        "items": {"@arrayPath": ["$.products", {"id": {"@path": 1}}]},
        "merged": {"@merge": {"direction": "lft", "objects": [{"a": 1}]}},
        "replace": {"@replace": {"pattern": "toolongpattern", "value": "x"}},
        "missing": {"@json": {"mode": "encode"}},
        "two": {"@path": "$.a", "@template": "b"},
    }
    paths = {problem.path: problem for problem in validate(mapping)}
    assert set(paths) == {
        ("items", "@arrayPath", 1, "id", "@path"),
        ("merged", "@merge", "direction"),
        ("replace", "@replace", "pattern"),
        ("missing", "@json"),
        ("two",),
    }
    assert paths[("merged", "@merge", "direction")].hint == 'did you mean "left"?'
    assert paths[("missing", "@json")].message == (
        '/missing/@json should have field "value" but it doesn\'t.'
    )


def test_merge_object_problems_keep_mapping_kit_message_but_real_path() -> None:
    (problem,) = validate({"m": {"@merge": {"direction": "left", "objects": [{}, {"@path": 5}]}}})
    assert problem.message == "/@path should be a string or a mapping directive but it is a number."
    assert problem.path == ("m", "@merge", "objects", 1, "@path")


def test_mapping_error_pickles_with_its_problems() -> None:
    with pytest.raises(MappingError) as raised:
        compile_mapping({"x": {"@pathh": "$.a"}})
    copied = pickle.loads(pickle.dumps(raised.value))
    assert str(copied) == str(raised.value)
    assert copied.problems == raised.value.problems


def test_problems_come_in_javascript_key_order() -> None:
    # Object.keys lists integer-like keys first, and mapping-kit reports in that order.
    mapping = {"b": {"@oops": 1}, "10": {"@oops": 2}, "2": {"@oops": 3}}
    assert [problem.path[0] for problem in validate(mapping)] == ["2", "10", "b"]


def test_compile_paths_refer_to_the_mapping_as_written() -> None:
    with pytest.raises(MappingError) as spread_array:
        compile_mapping([{"@path": "$.a"}, {"@path": 5}])
    assert spread_array.value.problems[0].path == (1, "@path")

    root_mapping = {
        "__segment_internal_directive": {"@transform": {"apply": {"p": {"@oops": 1}}}},
        "out": {"@template": 5},
    }
    with pytest.raises(MappingError) as rooted:
        compile_mapping(root_mapping)
    assert [problem.path for problem in rooted.value.problems] == [
        ("__segment_internal_directive", "@transform", "apply", "p", "@oops"),
        ("out", "@template"),
    ]


# --- JavaScript semantics the vectors do not pin ---------------------------------------


def test_merge_lets_undefined_from_a_directive_overwrite() -> None:
    mapping = {
        "@merge": {
            "direction": "right",
            "objects": [{"a": 1, "b": 2}, {"@literal": {"a": {"@path": "$.nope"}}}],
        }
    }
    assert transform(mapping, {}) == {"b": 2}


# Expected values below are what liquidjs 10.27.2 (mapping-kit's engine) renders.
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 0.1 | plus: 0.2 }}", "0.30000000000000004"),
        ("{{ 3 | times: 1.1 }}", "3.3000000000000003"),
        ("{{ nope | plus: 1 }}|{{ 't' | plus: 1 }}|{{ ' 3 ' | plus: 1 }}", "1|1|4"),
        ("{{ i | divided_by: 0 }}|{{ i | modulo: 0 }}", "Infinity|NaN"),
        ("{{ -7 | modulo: 5 }}|{{ 7 | modulo: -5 }}", "3|-3"),
        ("{{ 2.5 | round }}|{{ -2.5 | round }}|{{ 1.005 | round: 2 }}", "3|-3|1.01"),
        ("{{ 1234.5678 | round: -2 }}", "1200"),
        ("{{ i | at_most: 'x' }}|{{ 3 | at_least: '5' }}", "0|5"),
        ("{{ f }}|{{ f | append: 1.0 }}", "2|21"),
        ("{{ s | size }}|{{ d | size }}|{{ i | size }}", "7|0|0"),
        ("{{ t | first }}{{ t | last }}|{{ strs | first }}", "ac|x"),
        ("{{ strs | join }}|{{ strs }}|{{ d }}", "x y|xy|[object Object]"),
        ("{{ d | json }}", '{"a":1,"b":2}'),
    ],
)
def test_liquid_filters_follow_liquidjs(template: str, expected: str) -> None:
    payload = {
        "s": "héllo🌍",
        "t": "abc",
        "strs": ["x", "y"],
        "d": {"a": 1, "b": 2},
        "i": 7,
        "f": 2.0,
    }
    assert transform({"@liquid": template}, payload) == expected


def test_an_undefined_payload_inside_transform_renders_as_an_empty_object() -> None:
    # mapping-kit's `render(template, data = {})` and `transform(mapping, data = {})` defaults.
    mapping = {
        "@transform": {
            "apply": {"@path": "$.nope"},
            "mapping": {
                "t": {"@template": "[{{ }}]"},
                "inner": {"@transform": {"apply": {"x": 1}, "mapping": {"@path": "$.x"}}},
            },
        }
    }
    assert transform(mapping, {}) == {"t": "[[object Object]]", "inner": 1}


# --- helpers ---------------------------------------------------------------------------


def test_undefined_is_a_falsy_singleton() -> None:
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"
    assert UNDEFINED is not None
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert copy.deepcopy([UNDEFINED])[0] is UNDEFINED


def test_strip_undefined_makes_a_json_safe_copy() -> None:
    value = {
        "a": UNDEFINED,
        "b": [1, UNDEFINED, {"c": UNDEFINED, "d": None}],
        "e": {"f": {"g": UNDEFINED}},
        "h": math.nan,
        "i": [math.inf],
        "j": "text",
    }
    stripped = strip_undefined(value)
    assert stripped == {
        "b": [1, None, {"d": None}],
        "e": {"f": {}},
        "h": None,
        "i": [None],
        "j": "text",
    }
    assert json.loads(json.dumps(stripped, allow_nan=False)) == stripped
    assert value["a"] is UNDEFINED
    assert value["b"][1] is UNDEFINED
    assert strip_undefined(UNDEFINED) is None
    assert strip_undefined([UNDEFINED]) == [None]


def test_strip_undefined_copies_containers() -> None:
    original = {"a": {"b": [1]}}
    stripped = strip_undefined(original)
    stripped["a"]["b"].append(2)
    assert original == {"a": {"b": [1]}}


def test_may_leave_undefined_is_true_wherever_strip_undefined_changes_a_result() -> None:
    """Every conformance mapping whose result strip_undefined alters is flagged (bulk
    rendering skips the walk only for mappings that are not)."""
    import json
    from pathlib import Path

    from cdpctl.mapping import may_leave_undefined

    cases = json.loads((Path(__file__).parents[1] / "conformance" / "mapping_kit.json").read_text())
    checked = 0
    for case in cases:
        if case.get("error") or not isinstance(case["mapping"], dict):
            continue
        mapping = _with_undefined(case["mapping"])
        try:
            result = transform(mapping, _with_undefined(case["input"]))
        except MappingError:
            continue
        if not isinstance(result, dict):  # not a payload: the pipeline rejects it either way
            continue
        if strip_undefined(result) != result or _has_undefined(result):
            assert may_leave_undefined(mapping), case["name"]
        checked += 1
    assert checked > 150
    assert not may_leave_undefined({"a": {"@path": "$.x"}, "b": {"@template": "{{y}}"}})
    assert may_leave_undefined({"a": [{"@path": "$.x"}]})
    assert may_leave_undefined({"a": {"@arrayPath": ["$.xs", {"v": {"@path": "$.v"}}]}})


def _with_undefined(value):
    """The vectors' `{"$undefined": true}` as UNDEFINED."""
    if value == {"$undefined": True}:
        return UNDEFINED
    if isinstance(value, dict):
        return {k: _with_undefined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_undefined(v) for v in value]
    return value


def _has_undefined(value) -> bool:
    if value is UNDEFINED:
        return True
    if isinstance(value, dict):
        return any(_has_undefined(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_undefined(v) for v in value)
    return False
