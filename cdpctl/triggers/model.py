"""The parsed trigger: condition tree, Segment-shaped AST dicts, and readable labels."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from cdpctl.jsvalues import UNDEFINED, js_to_number, js_to_string, js_truthy, number_to_string

from .errors import TriggerWarning

#: AST condition ``type`` → the event attribute it reads.
TOP_LEVEL_FIELDS: Final = {
    "event-type": "type",
    "event": "event",
    "name": "name",
    "userId": "userId",
}
#: AST condition ``type`` → the event object its ``name`` path is looked up in.
PATH_ROOTS: Final = {
    "event-property": "properties",
    "event-trait": "traits",
    "event-context": "context",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """A leaf condition, as Segment's AST spells it (UNDEFINED marks an absent key)."""

    kind: Any  # the AST "type": event-type, event, name, userId, event-property, ...
    operator: Any
    value: Any = UNDEFINED
    name: Any = UNDEFINED
    column: int = 0

    @property
    def field(self) -> str:
        """The event field the condition reads, as FQL writes it (``properties.total``)."""
        if self.kind in TOP_LEVEL_FIELDS:
            return TOP_LEVEL_FIELDS[self.kind]
        if self.kind in PATH_ROOTS:
            name = "" if self.name is UNDEFINED else js_to_string(self.name)
            return f"{PATH_ROOTS[self.kind]}.{name}"
        return str(self.kind)


@dataclass(frozen=True, slots=True)
class Group:
    """``and``/``or`` over children; any other operator never matches."""

    operator: Any
    children: tuple[Node, ...]
    column: int = 0


@dataclass(frozen=True, slots=True)
class Broken:
    """A spot where ``validate()`` throws (an undefined child, a group without children)."""

    reason: str
    column: int = 0


@dataclass(frozen=True, slots=True)
class Invalid:
    """Segment's error AST (``{error}``): never matches."""

    message: str
    column: int = 1  # an AST carries no position


Node = Comparison | Group | Broken | Invalid


class Condition(NamedTuple):
    """One leaf condition: (field, operator, value, column); value is None when absent."""

    field: str
    operator: str
    value: Any
    column: int


@dataclass(frozen=True, slots=True)
class Trigger:
    """A parsed FQL subscription; ``ast`` is what ``parseFql`` returns for ``source``."""

    source: str
    warnings: tuple[TriggerWarning, ...]
    root: Node = field(repr=False, compare=False)

    @property
    def ast(self) -> dict[str, Any]:
        """A fresh Segment-shaped AST (plain dicts and lists; NaN as ``float('nan')``)."""
        ast = to_ast(self.root)
        assert ast is not None  # the parser never puts Broken at the root
        return ast


def to_ast(node: Node) -> dict[str, Any] | None:
    """The Segment AST dict for ``node`` (None where Segment's AST holds undefined)."""
    if isinstance(node, Broken):
        return None
    if isinstance(node, Group):
        return {
            "type": "group",
            "operator": node.operator,
            "children": [to_ast(child) for child in node.children],
        }
    if isinstance(node, Invalid):
        return {"error": node.message}
    out: dict[str, Any] = {"type": node.kind}
    if node.name is not UNDEFINED:
        out["name"] = node.name
    out["operator"] = node.operator
    if node.value is not UNDEFINED:
        out["value"] = node.value
    return out


def from_ast(ast: Any, *, top: bool = True) -> Node:
    """The node for a Segment AST dict; what ``validate`` throws on becomes a Broken node."""
    if not isinstance(ast, dict):
        if ast is None:
            return Broken("the AST holds a null condition")
        return Comparison(kind=UNDEFINED, operator=UNDEFINED)
    if top and js_truthy(ast.get("error", UNDEFINED)):
        return Invalid(js_to_string(ast["error"]))
    if top or ast.get("type") == "group":
        operator = ast.get("operator", UNDEFINED)
        children = ast.get("children", UNDEFINED)
        if not isinstance(children, list):
            if operator in ("and", "or"):
                return Broken(f'an "{operator}" group without a children list')
            children = []
        return Group(operator, tuple(from_ast(child, top=False) for child in children))
    return Comparison(
        kind=ast.get("type", UNDEFINED),
        operator=ast.get("operator", UNDEFINED),
        value=ast.get("value", UNDEFINED),
        name=ast.get("name", UNDEFINED),
    )


def leaves(node: Node) -> Iterator[Comparison]:
    """Every leaf condition under ``node``, in source order."""
    if isinstance(node, Group):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Comparison):
        yield node


def quote(text: str) -> str:
    """An FQL string literal (FQL has no escapes, so the text goes in as is)."""
    return f'"{text}"'


def format_number(value: Any) -> str:
    """How FQL writes the number Segment compares with."""
    return number_to_string(js_to_number(value))


def normalize_number(value: float) -> int | float:
    """A JSON-style number: integral doubles become ints, as ``JSON.stringify`` prints them."""
    if math.isfinite(value) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


_NEGATED: Final = {
    "not_contains": "contains",
    "not_starts_with": "starts_with",
    "not_ends_with": "ends_with",
}


def label(node: Comparison) -> str:
    """The condition as FQL that says what Segment evaluates (``match(event, "*rder")``)."""
    op, value, name = node.operator, node.value, node.field
    if op in ("=", "!="):
        return f"{name} {op} {quote(js_to_string(value))}"
    if op in ("number_equals", "number_not_equals"):
        return f"{name} {'=' if op == 'number_equals' else '!='} {format_number(value)}"
    if op in ("<", "<=", ">", ">="):
        return f"{name} {op} {format_number(value)}"
    if op in ("exists", "not_exists"):
        return f"{name} {'!=' if op == 'exists' else '='} null"
    if op in ("is_true", "is_false"):
        return f"{name} = {'true' if op == 'is_true' else 'false'}"
    bang = "!" if op in _NEGATED else ""
    base = _NEGATED.get(op, op)
    text = js_to_string(value)
    if base == "contains":
        return f"{bang}contains({name}, {quote(text)})"
    if base == "starts_with":
        return f"{bang}match({name}, {quote(text + '*')})"
    if base == "ends_with":
        return f"{bang}match({name}, {quote('*' + text)})"
    shown = "" if value is UNDEFINED else " " + js_to_string(value)
    return f"{name} {js_to_string(op)}{shown}"
