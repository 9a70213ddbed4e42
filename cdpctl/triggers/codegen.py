"""A trigger's condition tree as one Python expression, written into the judge that
`cdpctl.compiler` generates for a subscription.

Only the tree's shape is written out: `and`/`or` groups become Python's `and`/`or` over the
conditions, and every condition calls its compiled predicate (`compile_node`), the one place
each FQL operator's meaning is defined. Where that predicate raises (a spot where Segment's
matcher throws), the expression raises too, and the judge reads it as no match.
"""

from __future__ import annotations

from cdpctl.jsvalues import UNDEFINED
from cdpctl.jsvalues import js_to_string as js_string
from cdpctl.mapping.codegen import Source
from cdpctl.triggers.compiler import compile_node
from cdpctl.triggers.model import Comparison, Group, Node


def trigger_expression(node: Node, source: Source, event: str) -> str:
    """A Python expression over the dict `event` that is true when the trigger matches."""
    if isinstance(node, Group) and node.operator in ("and", "or"):
        parts = [trigger_expression(child, source, event) for child in node.children]
        if not parts:
            return "True" if node.operator == "and" else "False"
        return "(" + f" {node.operator} ".join(parts) + ")"
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
