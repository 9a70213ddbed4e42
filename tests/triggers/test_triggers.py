"""cdpctl.triggers beyond the vectors: warnings, errors, explain(), reuse, JS value rules."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from cdpctl.jsvalues import js_to_string, number_to_string, string_to_number
from cdpctl.triggers import (
    UNDEFINED,
    Condition,
    Trigger,
    TriggerEvaluationError,
    TriggerSyntaxError,
    TriggerWarning,
    compile_ast,
    compile_trigger,
    conditions,
    explain,
    fields,
    matches,
    parse,
)


def _warnings(fql: str) -> list[tuple[int, str]]:
    return [(w.column, w.message) for w in parse(fql).warnings]


def _only_warning(fql: str) -> TriggerWarning:
    warnings = parse(fql).warnings
    assert len(warnings) == 1, warnings
    return warnings[0]


# --- parsing -----------------------------------------------------------------------------


def test_parse_gives_source_ast_and_no_warnings_for_clean_fql() -> None:
    fql = 'type = "track" and event = "Order Completed"'
    trigger = parse(fql)
    assert trigger.source == fql
    assert trigger.warnings == ()
    assert trigger.ast == {
        "type": "group",
        "operator": "and",
        "children": [
            {"type": "event-type", "operator": "=", "value": "track"},
            {"type": "event", "operator": "=", "value": "Order Completed"},
        ],
    }


def test_trigger_is_a_hashable_value_and_ast_is_a_fresh_copy() -> None:
    first, second = parse('event = "A"'), parse('event = "A"')
    assert first == second
    assert hash(first) == hash(second)
    first.ast["children"].clear()
    assert first.ast["children"]
    with pytest.raises(AttributeError):
        first.source = "x"  # type: ignore[misc]


def test_nan_value_is_a_float_nan_in_the_ast() -> None:
    (child,) = parse("properties.x = -").ast["children"]
    assert child["operator"] == "number_equals"
    assert math.isnan(child["value"])


# --- syntax errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fql", "column", "fragment"),
    [
        ('(type = "track"', 1, '"(" is never closed'),
        ('type = "track" and (event = "A"', 20, '"(" is never closed'),
        ('((type = "track"))', 2, "cannot be nested"),
        ('event = "Order', 9, "unterminated string"),
        ('type = "a"b', 10, 'closing " must be followed by a space'),
        ("type", 5, 'expected an operator and a value after "type"'),
        ('type * "track"', 6, 'invalid character "*"'),
        ("properties.total>5", 17, 'put a space between "properties.total" and ">"'),
        ('userId !="x"', 8, '"!=" must be followed by a space'),
        ('! contains(event, "x")', 1, 'remove the space after "!"'),
        ("properties.x = 1.", 17, 'cannot end with "."'),
        ('properties.a[0] = "x"', 13, "cannot index arrays"),
        ("   ", 1, "empty"),
        ("typo", 1, 'did you mean "type"?'),
        ("1 = 1", 1, 'expected a condition such as type = "track"'),
        ('(foo = "x")', 1, "no condition Segment recognises inside the parentheses"),
    ],
)
def test_syntax_errors_say_where_and_what(fql: str, column: int, fragment: str) -> None:
    with pytest.raises(TriggerSyntaxError) as raised:
        parse(fql)
    error = raised.value
    assert error.column == column
    assert fragment in error.message
    assert str(error) == f"column {column}: {error.message}"
    assert isinstance(error, ValueError)


def test_compile_and_matches_raise_on_invalid_fql() -> None:
    with pytest.raises(TriggerSyntaxError):
        compile_trigger("typo")
    with pytest.raises(TriggerSyntaxError):
        matches('type = "', {"type": "track"})


# --- warnings ----------------------------------------------------------------------------


def test_mixed_and_or_warns_at_the_connective_that_breaks_the_pattern() -> None:
    fql = 'type = "track" and event = "A" or event = "B"'
    warning = _only_warning(fql)
    assert warning.column == fql.index(" or ") + 2
    assert warning.message == (
        'mixes "and" and "or" without parentheses; Segment applies the last one ("or") to every '
        "condition — add parentheses to make the intent explicit"
    )
    assert str(warning) == f"column {warning.column}: {warning.message}"
    assert matches(fql, {"type": "page", "event": "B"})  # the "or" really does win


def test_mixed_connectives_inside_parentheses_warn_too() -> None:
    fql = 'type = "track" and (event = "A" or event = "B" and name = "C")'
    warning = _only_warning(fql)
    assert warning.column == fql.index(" and name") + 2
    assert '("and")' in warning.message


def test_parenthesised_mix_does_not_warn() -> None:
    assert parse('type = "track" and (event = "A" or event = "B")').warnings == ()


@pytest.mark.parametrize(
    ("fql", "column", "fragment"),
    [
        ("type = ", 7, 'expected a value after "="'),
        ('type = "track" and', 16, '"and" with no condition after it is ignored'),
        ('!type = "track"', 1, 'Segment ignores "!" before "type"'),
        ("type = 'track'", 8, "single quotes are part of the value"),
        ('foo = "bar" and type = "track"', 1, 'unknown field "foo" is ignored'),
        ('anonymousId != null or type = "track"', 1, 'unknown field "anonymousId"'),
        ('match(event, "Order")', 14, 'tests ends-with "rder"'),
        ('match(event, "*Order*")', 14, 'tests starts-with "*Order"'),
        ("event = null", 9, 'compares event with the text "null"'),
        ("userId = 123", 10, "a numeric userId never equals it"),
        ("properties.flag != true", 20, 'compares with the text "true"'),
        ('type = "a" event = "b"', 12, 'missing "and"/"or"'),
        ('event = "a" and and event = "b"', 17, 'repeated "and"'),
        ('type = "track")', 15, 'there is no "(" to close'),
        ("properties.n = 1.5e2", 19, "no exponent"),
        ('properties.a.0.b = "x"', 1, r"properties.a.\0.b"),
        ("properties.or = 1", 1, r"properties.\or"),
        ('properties.total > "abc"', 20, "never matches"),
        ("contains(event)", 1, "needs two arguments"),
        ('match(event, "x*"', 18, 'expected ")" to close match('),
        ('event = "a"and type = "b"', 11, "Segment also reads it as the opening quote"),
        ('type = "t" and contains(type, "x")', 25, 'ignores contains() on "type"'),
        ('type = "t" or (contains(event, "x") or event = "y")', 16, "ends the group opened at"),
        ('(foo = "x") or type = "a"', 1, "matcher throws when it reaches it"),
    ],
)
def test_warnings_for_fql_segment_reads_differently(fql: str, column: int, fragment: str) -> None:
    found = _warnings(fql)
    assert any(c == column and fragment in m for c, m in found), found


def test_a_missing_value_or_trailing_and_parses_like_segment() -> None:
    # Segment accepts these (the vectors pin it), so they are warnings rather than errors.
    assert parse("type = ").ast["children"] == [
        {"type": "event-type", "operator": "=", "value": "eos"}
    ]
    assert len(parse('type = "track" and').ast["children"]) == 1


# --- matching ----------------------------------------------------------------------------


def test_compiled_predicate_is_reused_and_stable() -> None:
    fql = 'type = "track" and properties.total >= 100'
    predicate = compile_trigger(fql)
    assert compile_trigger(fql) is predicate
    assert compile_trigger(parse(fql)) is compile_trigger(parse(fql))
    events = [{"type": "track", "properties": {"total": t}} for t in (99, 100, 100.5, "150")]
    answers = [predicate(e) for e in events]
    assert answers == [False, True, True, False]
    assert [predicate(e) for e in events] == answers
    assert [matches(fql, e) for e in events] == answers
    assert [matches(parse(fql), e) for e in events] == answers


@pytest.mark.parametrize(
    ("fql", "event", "expected"),
    [
        ("properties.items.length > 0", {"properties": {"items": [1]}}, True),
        ("properties.items.length > 0", {"properties": {"items": []}}, False),
        ("properties.items.length > 0", {"properties": {"items": "ab"}}, True),
        ('properties.x = ""', {"properties": ""}, True),  # get() returns the falsy parent
        ("properties.toString != null", {"properties": {}}, True),  # Object.prototype
        (r'properties.items.\0.sku = "a"', {"properties": {"items": [{"sku": "a"}]}}, True),
        (r"properties.o\r = 1", {"properties": {"or": 1}}, True),
        ("userId = 123", {"userId": 123}, False),
        ("userId = 123", {"userId": "123"}, True),
        ('properties.total != "USD"', {}, True),
        ('!contains(properties.name, "x")', {}, False),
        ("event = null", {}, False),
        ("event = null", {"event": "null"}, True),
        ("properties.big = 9007199254740993", {"properties": {"big": 9007199254740992}}, True),
        ('event = "Commande passée ✓"', {"event": "Commande passée ✓"}, True),
    ],
)
def test_javascript_value_rules(fql: str, event: dict[str, object], expected: bool) -> None:
    assert matches(fql, event) is expected


def test_non_object_events() -> None:
    predicate = compile_trigger('properties.x != "y"')
    assert predicate(UNDEFINED) is False
    for event in ("", 5, [], "abc"):
        assert predicate(event) is True  # like {}: the field is missing, so != holds
    with pytest.raises(TriggerEvaluationError):
        predicate(None)
    with pytest.raises(TypeError):
        predicate(None)


def test_broken_slot_throws_only_when_reached() -> None:
    predicate = compile_trigger('type = "a" and (foo = "x")')
    assert predicate({"type": "b"}) is False  # "and" stops before the empty slot
    with pytest.raises(TriggerEvaluationError):
        predicate({"type": "a"})
    assert "throws" in (explain('type = "a" and (foo = "x")', {"type": "a"}) or "")


def test_compile_ast() -> None:
    assert compile_ast({"error": "boom"})({"type": "track"}) is False
    ast = {
        "type": "group",
        "operator": "and",
        "children": [{"type": "userId", "operator": "exists"}],
    }
    assert compile_ast(ast)({"userId": "u"}) is True
    with pytest.raises(TriggerEvaluationError):
        compile_ast(ast)(None)
    empty = {"type": "group", "operator": "and", "children": []}
    assert compile_ast(empty)(None) is True  # validate() never reads the event here
    assert compile_ast(empty)(UNDEFINED) is False


# --- explain -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fql", "event", "reason"),
    [
        ('type = "track"', {"type": "identify"}, 'type = "track" is false: type is "identify"'),
        (
            'type = "track" and event = "Order Completed"',
            {"type": "track"},
            'event = "Order Completed" is false: event is missing',
        ),
        (
            'type = "track" or type = "page"',
            {"type": "identify"},
            'none of the 2 "or" conditions matched: type = "track" is false: type is "identify"; '
            'type = "page" is false: type is "identify"',
        ),
        (
            "properties.total > 100",
            {"properties": {"total": "150"}},
            'properties.total > 100 is false: properties.total is "150" '
            "(text, not a number: Segment compares numbers only with numbers)",
        ),
        (
            'match(event, "Order")',
            {"event": "Order Completed"},
            'match(event, "*rder") is false: event is "Order Completed"',
        ),
        (
            'properties.plan = "pro"',
            {"properties": {"plan": ["pro"]}},
            'properties.plan = "pro" is false: properties.plan is an array ["pro"]',
        ),
        ("properties.x = -", {}, "properties.x = NaN never matches"),
        ('type = "track"', None, "cannot match a null event (Segment's validate() throws on it)"),
        ('type = "track"', 7, "the event is not an object, so every field is missing: "),
    ],
)
def test_explain_names_the_first_failing_condition(fql: str, event: object, reason: str) -> None:
    got = explain(fql, event)
    assert got is not None
    assert got.startswith(reason) if event is not None else got == reason


def test_explain_is_none_when_it_matches() -> None:
    assert explain('type = "track"', {"type": "track"}) is None
    assert explain(parse('type = "track"'), {"type": "track"}) is None


def test_explain_agrees_with_the_matcher_on_every_vector() -> None:
    cases = json.loads((Path(__file__).parents[1] / "conformance" / "fql.json").read_text("utf-8"))
    for case in cases:
        if case.get("parse_error") or "$undefined" in json.dumps(case["event"]):
            continue
        reason = explain(case["fql"], case["event"])
        assert (reason is None) is case["matches"], (case["name"], reason)


# --- introspection -----------------------------------------------------------------------


def test_conditions_and_fields() -> None:
    fql = 'type = "track" and (properties.total >= 10 or !contains(context.page.url, "x"))'
    assert list(conditions(fql)) == [
        Condition("type", "=", "track", 1),
        Condition("properties.total", ">=", 10, 21),
        Condition("context.page.url", "not_contains", "x", 47),
    ]
    assert list(conditions(parse("userId != null"))) == [Condition("userId", "exists", None, 1)]
    assert fields(fql) == {"type", "properties.total", "context.page.url"}
    field, operator, value, column = next(conditions('event = "A"'))
    assert (field, operator, value, column) == ("event", "=", "A", 1)


def test_trigger_type_is_exported() -> None:
    assert isinstance(parse('event = "A"'), Trigger)


# --- JavaScript value conversions --------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (1.5, "1.5"),
        (100.0, "100"),
        (-0.0, "0"),
        (-2.5e-10, "-2.5e-10"),
        (math.nan, "NaN"),
        (-math.inf, "-Infinity"),
    ],
)
def test_number_to_string_matches_javascript(number: float, text: str) -> None:
    assert number_to_string(number) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [(" 12 ", 12.0), ("", 0.0), ("0x1F", 31.0), ("1e3", 1000.0), ("+007", 7.0), ("5.", 5.0)],
)
def test_string_to_number_matches_javascript(text: str, number: float) -> None:
    assert string_to_number(text) == number


@pytest.mark.parametrize("text", ["1_000", "inf", "nan", "-", "+.", "0x", "1e"])
def test_string_to_number_rejects_what_javascript_rejects(text: str) -> None:
    assert math.isnan(string_to_number(text))


def test_to_string_matches_javascript() -> None:
    assert [js_to_string(v) for v in (True, None, 7, 1.5, [1, None, "a"], {"a": 1})] == [
        "true",
        "null",
        "7",
        "1.5",
        "1,,a",
        "[object Object]",
    ]


def test_arbitrary_text_either_parses_or_raises_a_syntax_error() -> None:
    rng = random.Random(20240611)
    alphabet = " \"'()!=<>.,\\*-+0123abcdeinorstuvxyz\t\n_[]éT"
    pieces = [
        "type",
        "event",
        "properties.a",
        "contains(",
        "match(",
        " and ",
        " or ",
        '"x"',
        "null",
    ]
    for _ in range(3000):
        text = "".join(
            rng.choice(pieces) if rng.random() < 0.3 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 30))
        )
        try:
            trigger = parse(text)
        except TriggerSyntaxError as error:
            assert 1 <= error.column <= len(text) + 1, (text, error)
            continue
        for warning in trigger.warnings:
            assert 1 <= warning.column <= len(text) + 1, (text, warning)
        predicate = compile_trigger(trigger)
        for event in ({}, {"type": "track", "event": "x", "properties": {"a": "x"}}):
            try:
                assert predicate(event) in (True, False)
                explain(trigger, event)
            except TriggerEvaluationError:
                pass
