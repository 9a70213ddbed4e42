"""cdpctl.jsvalues against JavaScript: vectors made by Node (tests/vectors/jsvalues/) and
generated properties that hold for every JavaScript value."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdpctl.jsvalues import (
    UNDEFINED,
    is_nullish,
    js_to_number,
    js_to_string,
    js_trim,
    js_truthy,
    js_type,
    js_typeof,
    json_parse,
    json_stringify,
    loosely_equals_empty_string,
    number_to_string,
    own_keys,
    string_to_number,
    to_double,
    utf16_contains,
    utf16_endswith,
    utf16_length,
    utf16_slice,
    utf16_startswith,
    utf16_units,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "jsvalues" / "jsvalues.json").read_text("utf-8")
)
_MAX_SAFE_INTEGER = 2**53


def _value(tagged: Any) -> Any:
    """The Python value a vector's tagged input stands for (see make.js)."""
    if not isinstance(tagged, dict):
        return tagged
    tag = tagged["$"]
    if tag == "int":
        return int(tagged["text"])
    if tag == "float":
        return float(tagged["text"])
    if tag == "undefined":
        return UNDEFINED
    if tag == "array":
        return [_value(item) for item in tagged["items"]]
    assert tag == "object", tag
    return {key: _value(item) for key, item in tagged["entries"]}


def _same_number(actual: float, expected_text: str) -> bool:
    expected = float(expected_text)
    if math.isnan(expected):
        return math.isnan(actual)
    return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)


def _case_id(case: dict[str, Any]) -> str:
    return json.dumps(case["value"], ensure_ascii=True)[:60]


CASES = [pytest.param(case, id=_case_id(case)) for case in VECTORS["cases"]]


def test_vectors_cover_the_values_the_brief_names() -> None:
    texts = {
        c["value"]["text"]
        for c in VECTORS["cases"]
        if isinstance(c["value"], dict) and "text" in c["value"]
    }
    assert {"-0", "NaN", "Infinity", "-Infinity", "1e21", "1e-7", "9007199254740993"} <= texts
    kinds = {c["realTypeOf"] for c in VECTORS["cases"]}
    assert kinds == {"null", "undefined", "boolean", "number", "string", "array", "object"}


@pytest.mark.parametrize("case", CASES)
def test_string_matches_javascript(case: dict[str, Any]) -> None:
    assert js_to_string(_value(case["value"])) == case["string"]


@pytest.mark.parametrize("case", CASES)
def test_number_matches_javascript(case: dict[str, Any]) -> None:
    actual = js_to_number(_value(case["value"]))
    assert _same_number(actual, case["number"]), (actual, case["number"])


@pytest.mark.parametrize("case", CASES)
def test_truthiness_and_types_match_javascript(case: dict[str, Any]) -> None:
    value = _value(case["value"])
    assert js_truthy(value) is case["truthy"]
    assert js_typeof(value) == case["typeof"]
    assert js_type(value) == case["realTypeOf"]
    assert is_nullish(value) is case["nullish"]
    if not case["nullish"]:
        assert loosely_equals_empty_string(value) is case["looselyEmpty"]


@pytest.mark.parametrize("case", CASES)
def test_json_stringify_matches_javascript(case: dict[str, Any]) -> None:
    expected = case["json"]
    expected = UNDEFINED if expected == {"$": "undefined"} else expected
    assert json_stringify(_value(case["value"])) == expected


@pytest.mark.parametrize("case", [c for c in CASES if "keys" in c.values[0]])
def test_object_key_order_matches_javascript(case: dict[str, Any]) -> None:
    assert own_keys(_value(case["value"])) == case["keys"]


@pytest.mark.parametrize("case", [c for c in CASES if "trim" in c.values[0]])
def test_string_helpers_match_javascript(case: dict[str, Any]) -> None:
    text = case["value"]
    assert js_trim(text) == case["trim"]
    assert utf16_length(text) == case["length"] == len(utf16_units(text))
    assert _same_number(string_to_number(text), case["number"])


@pytest.mark.parametrize("search", VECTORS["searches"])
def test_string_search_counts_utf16_units_as_javascript(search: dict[str, Any]) -> None:
    haystack, needle = search["haystack"], search["needle"]
    assert utf16_contains(haystack, needle) is search["includes"]
    assert utf16_startswith(haystack, needle) is search["startsWith"]
    assert utf16_endswith(haystack, needle) is search["endsWith"]


@pytest.mark.parametrize("case", VECTORS["slices"])
def test_slice_counts_utf16_units_as_javascript(case: dict[str, Any]) -> None:
    assert utf16_slice(case["text"], case["start"], case["stop"]) == case["slice"]


# --- generated: what holds for every value ----------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
any_ints = st.one_of(st.integers(), st.integers(min_value=-(10**400), max_value=10**400))


@given(finite_floats)
def test_string_of_a_finite_number_reads_back_as_the_same_number(number: float) -> None:
    # ECMA-262 Number::toString: the shortest text that Number() reads back to the same double.
    text = js_to_string(number)
    assert js_to_number(text) == number
    assert text == number_to_string(number)
    mantissa = text.partition("e")[0]
    assert "." not in mantissa or not mantissa.endswith("0")
    if number.is_integer() and abs(number) < _MAX_SAFE_INTEGER:
        assert text == str(int(number))


@given(any_ints)
def test_an_int_is_the_double_it_stands_for(number: int) -> None:
    assert js_to_string(number) == js_to_string(to_double(number))
    assert js_to_number(number) == to_double(number)
    assert json_stringify([number]) == json_stringify([to_double(number)])
    if -_MAX_SAFE_INTEGER < number < _MAX_SAFE_INTEGER:
        assert js_to_string(number) == str(number)


@given(st.one_of(finite_floats, st.integers(), st.sampled_from([math.nan, math.inf, -math.inf])))
def test_a_number_is_truthy_unless_zero_or_nan(number: float) -> None:
    assert js_truthy(number) is not (number == 0 or number != number)
    assert js_truthy(number) is js_truthy(js_to_number(number))


_json_scalars = st.one_of(st.none(), st.booleans(), finite_floats, st.integers(), st.text())
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(_json_values)
def test_every_json_value_converts_as_javascript_does(value: Any) -> None:
    kind = js_type(value)
    assert js_typeof(value) == ("object" if kind in ("null", "array") else kind)
    assert is_nullish(value) is (value is None)
    if kind in ("array", "object"):
        assert js_truthy(value) is True
    if kind == "object":
        assert js_to_string(value) == "[object Object]"
        assert math.isnan(js_to_number(value))
    if kind == "boolean":
        assert js_to_string(value) == ("true" if value else "false")
        assert js_to_number(value) == (1.0 if value else 0.0)
    if kind == "null":
        assert (js_to_string(value), js_to_number(value), js_truthy(value)) == ("null", 0.0, False)
    if kind != "object":
        # Number(v) is Number(String(v)) for primitives and arrays (ToPrimitive gives a string)
        by_string = js_to_number(js_to_string(value))
        if kind in ("string", "array"):
            assert repr(js_to_number(value)) == repr(by_string)  # NaN and -0 alike


@given(st.lists(_json_values, max_size=5))
def test_string_of_an_array_joins_its_items_with_commas(items: list[Any]) -> None:
    expected = ",".join("" if item is None else js_to_string(item) for item in items)
    assert js_to_string(items) == expected
    assert js_to_number(items) == js_to_number(expected) or math.isnan(js_to_number(items))


def _as_javascript_reads(value: Any) -> Any:
    """``value`` with every number the double it stands for, as ``JSON.parse`` gives it."""
    if isinstance(value, list):
        return [_as_javascript_reads(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_javascript_reads(item) for key, item in value.items()}
    if type(value) is int and not -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER:
        return to_double(value)
    return value


@given(_json_values)
def test_json_stringify_reads_back_as_the_same_json(value: Any) -> None:
    text = json_stringify(value)
    assert isinstance(text, str)
    assert json_parse(text) == _as_javascript_reads(value)


@given(st.text())
def test_strings_count_utf16_units(text: str) -> None:
    units = utf16_units(text)
    assert utf16_length(text) == len(units) == len(text.encode("utf-16-le")) // 2
    assert utf16_slice(text, 0) == text
    assert js_truthy(text) is (text != "")
    assert js_to_string(text) is text


def test_mapping_prints_an_int_beyond_the_double_range_as_javascript_does() -> None:
    # An event value such as 1e400 written as digits is Infinity to Segment's engine:
    # "{{n}}" renders "Infinity" and JSON.stringify writes null (it used to raise OverflowError).
    from cdpctl.mapping import transform

    event = {"properties": {"n": 10**400, "m": -(10**400)}}
    mapping = {
        "text": {"@template": "{{properties.n}} {{properties.m}}"},
        "json": {"@json": {"mode": "encode", "value": {"@path": "$.properties"}}},
    }
    assert transform(mapping, event) == {
        "text": "Infinity -Infinity",
        "json": '{"n":null,"m":null}',
    }
