"""A trigger's condition tree as one Python expression (what `triggers.compile_tree` answers).

Equality on top-level fields and the common tests on `properties.…`/`traits.…`/`context.…`
paths are written inline; any other node calls its compiled predicate, so the expression means
exactly what the compiled trigger means. Where the compiled predicate would raise (a spot where
Segment's matcher throws), the expression raises too, and the caller judges the event the
ordinary way.
"""

from __future__ import annotations

from cdpctl.jsvalues import UNDEFINED, js_truthy
from cdpctl.jsvalues import js_to_string as js_string
from cdpctl.mapping.codegen import Source
from cdpctl.triggers.compiler import CompiledLeaf, compile_node
from cdpctl.triggers.lookup import OBJECT_PROTO_NAMES, member, split_path
from cdpctl.triggers.model import PATH_ROOTS, TOP_LEVEL_FIELDS, Comparison, Group, Node

_INLINE_TESTS = {
    "exists": "(({v} := {value}) is not None and {v} is not M)",
    "not_exists": "(({v} := {value}) is None or {v} is M)",
    "is_true": "({value} is True)",
    "is_false": "({value} is False)",
}


def trigger_expression(node: Node, source: Source, event: str) -> str:
    """A Python expression over the dict `event` that is true when the trigger matches."""
    source.namespace.setdefault("M", UNDEFINED)
    if isinstance(node, Group):
        if node.operator not in ("and", "or"):
            return "False"
        parts = [trigger_expression(child, source, event) for child in node.children]
        if not parts:
            return "True" if node.operator == "and" else "False"
        return "(" + f" {node.operator} ".join(parts) + ")"
    if isinstance(node, Comparison):
        written = _leaf(node, source, event)
        if written is not None:
            return written
    predicate = source.bind(compile_node(node).predicate, "when")
    return f"{predicate}({event})"


def required_type(node: Node) -> str | None:
    """The event type a trigger requires (`type = "track" and …`), or None."""
    if isinstance(node, Group) and node.operator == "and":
        for child in node.children:
            found = required_type(child)
            if found is not None:
                return found
        return None
    if (
        isinstance(node, Comparison)
        and node.kind == "event-type"
        and node.operator == "="
        and node.value is not UNDEFINED
    ):
        return js_string(node.value)
    return None


def _leaf(node: Comparison, source: Source, event: str) -> str | None:
    compiled = compile_node(node)
    if not isinstance(compiled, CompiledLeaf) or compiled.test is None or compiled.read is None:
        return None
    if node.kind in TOP_LEVEL_FIELDS and node.operator in ("=", "!="):
        key = TOP_LEVEL_FIELDS[node.kind]
        operator = "==" if node.operator == "=" else "!="
        return f"({event}.get({key!r}) {operator} {js_string(node.value)!r})"
    if node.kind not in PATH_ROOTS or not js_truthy(node.name) or not isinstance(node.name, str):
        return None
    keys = split_path(node.name)
    if keys is None or any(key in OBJECT_PROTO_NAMES for key in keys):
        return None
    step = source.bind(member, "member")
    value = f"{event}.get({PATH_ROOTS[node.kind]!r}, M)"
    for key in keys:
        held = source.name("q")
        value = (
            f"({held}.get({key!r}, M) if type({held} := {value}) is dict "
            f"else {step}({held}, {key!r}))"
        )
    held = source.name("q")
    inline = _INLINE_TESTS.get(node.operator)
    if inline is not None:
        return inline.format(v=held, value=value)
    if node.operator in ("=", "!="):
        operator = "==" if node.operator == "=" else "!="
        return f"({value} {operator} {js_string(node.value)!r})"
    test = source.bind(compiled.test, "test")
    return f"{test}({value})"
