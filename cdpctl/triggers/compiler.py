"""Condition tree → predicate answering what ``validate()`` (destination-subscriptions 3.37.0) does.

Paths, String()/Number() of expected values and operator tests are fixed at compile time.
"""

from __future__ import annotations

import json
import math
import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.jsvalues import (
    UNDEFINED,
    has_lone_surrogate,
    is_number,
    js_to_number,
    js_to_string,
    js_truthy,
    number_to_string,
    string_to_number,
    to_double,
    utf16_contains,
    utf16_endswith,
    utf16_startswith,
)

from .errors import TriggerEvaluationError
from .lookup import OBJECT_PROTO_NAMES, JSBuiltin, member, split_path
from .model import PATH_ROOTS, TOP_LEVEL_FIELDS, Broken, Comparison, Group, Invalid, Node, label

Predicate = Callable[[Any], bool]
Reader = Callable[[Any], Any]

_SAFE_INTEGER: Final = 2**53
_STRING_TESTS: Final = frozenset(
    ("contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with")
)
_NUMBER_TESTS: Final = frozenset(("number_equals", "number_not_equals", "<", "<=", ">", ">="))
_ORDERINGS: Final = {
    "number_equals": op.eq,
    "number_not_equals": op.ne,
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
}


@dataclass(frozen=True, slots=True)
class CompiledLeaf:
    """A leaf with the reader and test its predicate is made of (explain() reuses them)."""

    node: Comparison
    read: Reader | None  # None: Segment never looks at the event for this condition
    test: Predicate | None
    predicate: Predicate
    problem: str | None  # why the condition can never match, if it cannot


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    """An and/or group of compiled children."""

    node: Group
    children: tuple[Compiled, ...]
    predicate: Predicate


@dataclass(frozen=True, slots=True)
class CompiledInvalid:
    """Segment's error AST (never matches), or a Broken spot (raises when reached)."""

    node: Invalid | Broken
    predicate: Predicate


Compiled = CompiledLeaf | CompiledGroup | CompiledInvalid


def _raiser(reason: str) -> Predicate:
    def fail(_event: Any) -> bool:
        raise TriggerEvaluationError(f"Segment's matcher throws here: {reason}")

    return fail


@dataclass(frozen=True, slots=True)
class CompiledTrigger:
    """The compiled tree plus the entry predicate that also accepts non-dict events."""

    root: Compiled
    predicate: Predicate


def _never(_event: Any) -> bool:
    return False


def _always(_event: Any) -> bool:
    return True


def _path_reader(root: str, keys: tuple[str, ...]) -> Reader:
    if any(key in OBJECT_PROTO_NAMES for key in keys):

        def read_via_prototype(event: Any) -> Any:
            obj = event.get(root, UNDEFINED)
            for key in keys:
                obj = member(obj, key)
            return obj

        return read_via_prototype
    if len(keys) == 1:
        (key,) = keys

        def read_one(event: Any) -> Any:
            obj = event.get(root, UNDEFINED)
            return obj.get(key, UNDEFINED) if type(obj) is dict else member(obj, key)

        return read_one

    def read_path(event: Any) -> Any:
        obj = event.get(root, UNDEFINED)
        for key in keys:
            obj = obj.get(key, UNDEFINED) if type(obj) is dict else member(obj, key)
        return obj

    return read_path


def _reader(node: Comparison) -> tuple[Reader | None, str | None]:
    """How Segment reads the condition's field, or why it cannot."""
    if node.kind in TOP_LEVEL_FIELDS:
        key = TOP_LEVEL_FIELDS[node.kind]
        return (lambda event: event.get(key, UNDEFINED)), None
    if node.kind not in PATH_ROOTS:
        return None, f'Segment ignores conditions on "{js_to_string(node.kind)}"'
    root = PATH_ROOTS[node.kind]
    if not js_truthy(node.name):

        def read_nothing(event: Any) -> Any:
            event.get(root)  # Segment still reads the object, so a null event fails the same way
            return UNDEFINED

        return read_nothing, None
    keys = split_path(node.name) if isinstance(node.name, str) else None
    if keys is None:
        return _raiser(f'its get() cannot split the path "{js_to_string(node.name)}"'), None
    return _path_reader(root, keys), None


def _number_test(operator: str, expected: float) -> Predicate:
    compare = _ORDERINGS[operator]

    def test(actual: Any) -> bool:
        kind = type(actual)
        if kind is float:
            return compare(actual, expected)
        if kind is int:
            if -_SAFE_INTEGER <= actual <= _SAFE_INTEGER:
                return compare(actual, expected)
            return compare(to_double(actual), expected)
        return False

    return test


def _string_test(operator: str, text: str) -> Predicate:
    negate = operator.startswith("not_")
    base = operator.removeprefix("not_")
    if has_lone_surrogate(text):
        utf16 = {"contains": utf16_contains, "starts_with": utf16_startswith}
        method = utf16.get(base, utf16_endswith)

        def test_units(actual: Any) -> bool:
            return isinstance(actual, str) and method(actual, text) != negate

        return test_units
    if base == "contains":
        if negate:
            return lambda actual: isinstance(actual, str) and text not in actual
        return lambda actual: isinstance(actual, str) and text in actual
    if base == "starts_with":
        if negate:
            return lambda actual: isinstance(actual, str) and not actual.startswith(text)
        return lambda actual: isinstance(actual, str) and actual.startswith(text)
    if negate:
        return lambda actual: isinstance(actual, str) and not actual.endswith(text)
    return lambda actual: isinstance(actual, str) and actual.endswith(text)


def _test(operator: Any, expected: Any) -> tuple[Predicate | None, str | None]:
    """The ``validateValue`` case for ``operator``, with the expected value converted once."""
    if operator == "=":
        text = js_to_string(expected)
        return (lambda actual: actual == text), None
    if operator == "!=":
        text = js_to_string(expected)
        return (lambda actual: actual != text), None
    if operator in _NUMBER_TESTS:
        number = js_to_number(expected)
        if math.isnan(number) and operator != "number_not_equals":
            return None, "Segment compares with NaN, which nothing equals or orders against"
        return _number_test(operator, number), None
    if operator in _STRING_TESTS:
        return _string_test(operator, js_to_string(expected)), None
    if operator == "exists":
        return (lambda actual: actual is not None and actual is not UNDEFINED), None
    if operator == "not_exists":
        return (lambda actual: actual is None or actual is UNDEFINED), None
    if operator == "is_true":
        return (lambda actual: actual is True), None
    if operator == "is_false":
        return (lambda actual: actual is False), None
    return None, f'Segment does not know the operator "{js_to_string(operator)}"'


def _compile_leaf(node: Comparison) -> CompiledLeaf:
    read, problem = _reader(node)
    test, test_problem = _test(node.operator, node.value)
    if read is None:
        return CompiledLeaf(node, read, test, _never, problem)
    if test is None:
        reader = read

        def read_then_fail(event: Any) -> bool:
            reader(event)  # Segment reads the field first, which throws for a null event
            return False

        return CompiledLeaf(node, read, test, read_then_fail, test_problem)
    predicate: Predicate
    if node.operator in ("=", "!=") and node.kind in TOP_LEVEL_FIELDS:
        key, text = TOP_LEVEL_FIELDS[node.kind], js_to_string(node.value)
        if node.operator == "=":
            predicate = lambda event: event.get(key) == text  # noqa: E731
        else:
            predicate = lambda event: event.get(key) != text  # noqa: E731
    else:
        predicate = lambda event: test(read(event))  # noqa: E731
    return CompiledLeaf(node, read, test, predicate, None)


def _all(predicates: tuple[Predicate, ...]) -> Predicate:
    if not predicates:
        return _always
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) and second(event)
    if len(predicates) == 3:
        first, second, third = predicates
        return lambda event: first(event) and second(event) and third(event)

    def every(event: Any) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a plain loop beats all() over a generator
            if not predicate(event):
                return False
        return True

    return every


def _any(predicates: tuple[Predicate, ...]) -> Predicate:
    if not predicates:
        return _never
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) or second(event)

    def some(event: Any) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a plain loop beats any() over a generator
            if predicate(event):
                return True
        return False

    return some


def compile_node(node: Node) -> Compiled:
    """Compile one node of the condition tree."""
    if isinstance(node, Invalid):
        return CompiledInvalid(node, _never)
    if isinstance(node, Broken):
        return CompiledInvalid(node, _raiser(node.reason))
    if isinstance(node, Comparison):
        return _compile_leaf(node)
    children = tuple(compile_node(child) for child in node.children)
    predicates = tuple(child.predicate for child in children)
    if node.operator == "and":
        return CompiledGroup(node, children, _all(predicates))
    if node.operator == "or":
        return CompiledGroup(node, children, _any(predicates))
    return CompiledGroup(node, children, _never)


def _other_event(predicate: Predicate, event: Any) -> bool:
    if event is UNDEFINED:  # validate() answers false for an undefined event
        return False
    if event is None:
        try:
            return predicate(None)
        except AttributeError:
            raise TriggerEvaluationError(
                "cannot match a null event (Segment's validate() throws on it)"
            ) from None
    if isinstance(event, Mapping):
        return predicate(event)
    return predicate({})  # a JS primitive or array has none of the fields a trigger reads


def compile_tree(node: Node) -> CompiledTrigger:
    """Compile a whole tree into its entry predicate (any event value; dicts read directly)."""
    root = compile_node(node)
    inner = root.predicate

    def predicate(event: Any) -> bool:
        if type(event) is dict:
            return inner(event)
        return _other_event(inner, event)

    return CompiledTrigger(root, predicate)


def describe(value: Any) -> str:
    """A short rendering of an event value for messages."""
    if value is UNDEFINED:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, JSBuiltin):
        if value.length is None:
            return f"the built-in JavaScript object {value.name}"
        return f"the built-in JavaScript function {value.name}"
    if value is True or value is False:
        return "true" if value else "false"
    if is_number(value):
        return number_to_string(to_double(value))
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 80 else f'"{value[:77]}..."'
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    kind = "an array" if isinstance(value, list) else "an object"
    return f"{kind} {text}" if len(text) <= 60 else f"{kind} {text[:57]}..."


def _hint(operator: str, actual: Any) -> str:
    if operator == "=" and is_number(actual):
        return ' (a number; "=" with a quoted value only matches text)'
    if operator == "=" and isinstance(actual, bool):
        return " (a boolean; write = true or = false without quotes)"
    if operator in _NUMBER_TESTS and isinstance(actual, str):
        if actual.strip() and not math.isnan(string_to_number(actual)):
            return " (text, not a number: Segment compares numbers only with numbers)"
        return " (not a number)"
    if operator in ("is_true", "is_false") and actual in ("true", "false"):
        return ' (text, not a boolean: compare with "true" or "false" in quotes)'
    if operator in _STRING_TESTS:
        if operator.startswith("not_") and (actual is UNDEFINED or actual is None):
            return " (Segment's !contains/!match never match a missing field)"
        if not isinstance(actual, str) and actual is not UNDEFINED and actual is not None:
            return " (not text)"
    return ""


def _why(node: Compiled, event: Any) -> str:
    if isinstance(node, CompiledInvalid):
        if isinstance(node.node, Broken):
            return f"Segment's matcher throws: {node.node.reason}"
        return f"the trigger is invalid: {node.node.message}"
    if isinstance(node, CompiledLeaf):
        text = label(node.node)
        if node.read is None or node.test is None:
            return f"{text} never matches: {node.problem}"
        actual = node.read(event)
        hint = _hint(node.node.operator, actual)
        return f"{text} is false: {node.node.field} is {describe(actual)}{hint}"
    group = node.node
    if group.operator == "and":
        failing = next(child for child in node.children if not child.predicate(event))
        return _why(failing, event)
    if group.operator != "or":
        shown = js_to_string(group.operator)
        return f'the group operator "{shown}" never matches (only "and" and "or" do)'
    if not node.children:
        return 'an empty "or" group never matches'
    reasons = [_why(child, event) for child in node.children]
    if len(reasons) == 1:
        return reasons[0]
    shown = "; ".join(reasons[:3])
    more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
    return f'none of the {len(reasons)} "or" conditions matched: {shown}{more}'


def explain_compiled(compiled: CompiledTrigger, event: Any) -> str | None:
    """None when ``event`` matches; otherwise why not, naming the first failing condition."""
    try:
        if compiled.predicate(event):
            return None
    except TriggerEvaluationError as error:
        return str(error)
    if event is UNDEFINED:
        return "there is no event"
    if event is None:
        return "the event is null"
    if not isinstance(event, Mapping):
        return f"the event is not an object, so every field is missing: {_why(compiled.root, {})}"
    return _why(compiled.root, event)
