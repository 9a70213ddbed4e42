"""CDP4xx at validate time: a literal in a mapping that its action field refuses for every event.

`channelIdentifier: mobile` or `listId: "abc"` fails on every event, so `validate` reports it
where it is written instead of leaving it to `test-event`. The checks are the runtime's own
(`providers.payload.literal_problems` runs `prepare`'s compiled coercion and checks), so a
literal is refused here exactly when the runtime would refuse it: `listId: "123"` is coerced to
a number and passes, as it does when sending. Literal parts of an object or array beside
directives (`dataFields: {PLAN: pro, NAME: {"@path": …}}`) are checked one by one; values only
an event can tell (`@path`, `@if`, templates with placeholders) are not.
"""

from __future__ import annotations

from typing import Any

from cdpctl.diagnostics import Diagnostic
from cdpctl.lint.context import Subscription, Where
from cdpctl.lint.walk import is_directive
from cdpctl.loading import Document
from cdpctl.providers.base import Provider
from cdpctl.providers.payload import UNKNOWN, literal_problems


def literal_value(node: Any) -> Any:
    """What the mapping node yields whatever the event, with UNKNOWN for the parts it reads."""
    if is_directive(node):
        ((name, argument),) = node.items()
        if name == "@literal":
            return argument
        if name == "@template" and isinstance(argument, str) and "{{" not in argument:
            return argument
        return UNKNOWN
    if isinstance(node, dict):
        return {key: literal_value(value) for key, value in node.items()}
    if isinstance(node, list):
        return [literal_value(item) for item in node]
    return node


def _unwrap(node: Any, where: list[str | int]) -> Any:
    while is_directive(node) and next(iter(node)) in ("@literal", "@template"):
        name = next(iter(node))
        where.append(name)
        node = node[name]
    return node


def _located(mapping: dict[str, Any], json_path: tuple[str | int, ...]) -> Where:
    """The place in the mapping a payload path points at, as far as the mapping spells it."""
    where: list[str | int] = []
    node: Any = mapping
    for step in json_path:
        node = _unwrap(node, where)
        inside = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if not inside:
            break
        node = node[step]
        where.append(step)
    _unwrap(node, where)
    return tuple(where)


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        if sub.action is None or not isinstance(sub.mapping, dict):
            continue
        for name, node in sub.mapping.items():
            for problem in literal_problems(sub.action, str(name), literal_value(node)):
                where = _located(sub.mapping, problem.json_path)
                found.append(
                    document.diagnostic(
                        problem.code,
                        problem.message,
                        (*sub.base, "mapping", *where),
                        severity=problem.severity,
                        hint=problem.hint,
                    )
                )
    return found
