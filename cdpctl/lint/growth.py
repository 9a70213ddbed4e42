"""CDP610: an expression whose output can outgrow its input without bound.

Every directive is held to the mapping budget when it runs (cdpctl.mapping.budget), so such an
expression never exhausts memory; but a hostile or merely unusual event then gets refused.
Flagged here, where they are written:

- ``@template`` with a ``{{{path}}}`` placeholder, or a template taken from the event: the
  text it inserts goes through the second substitution pass, so an event value holding
  ``{{path}}`` placeholders is expanded again, each one the size of the value it names;
- ``@replace`` whose replacement holds ``$``` or ``$'``: each match copies the text before
  (or after) it, so the output grows with the square of the input;
- ``@jmespath`` multiselects that copy their input (``[@, @]``, ``{a: @, b: @}``, ``[x, x]``)
  nested or chained, so the output multiplies: ``[@,@]`` chained n times is 2^n copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription, Where
from cdpctl.loading import Document
from cdpctl.mapping.templates import reexpanding_placeholder
from cdpctl.providers.base import Provider

#: A JMESPath expression copying its input this many times or more is flagged: one doubling
#: is an ordinary multiselect, two chained are the start of a series.
MULTIPLYING: Final = 4
_SEQUENCES: Final = ("subexpression", "pipe", "index_expression", "projection")
_SELECTIONS: Final = ("multi_select_list", "multi_select_dict")


def _directives(value: Any, where: Where) -> Iterator[tuple[Where, str, Any]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _directives(item, (*where, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("@"):
                yield (*where, key), key, item
            yield from _directives(item, (*where, key))


def growth(node: dict[str, Any]) -> int:
    """How many times over a JMESPath tree's output may copy its input (an upper estimate)."""
    kind = node.get("type")
    children = [child for child in node.get("children", []) if isinstance(child, dict)]
    if kind == "key_val_pair":
        return growth(children[0]) if children else 1
    if kind in _SELECTIONS:
        return _copies(children)
    if kind in _SEQUENCES:
        factor = 1
        for child in children:
            factor *= max(growth(child), 1)
        return factor
    if not children:
        return 1
    return max(growth(child) for child in children)


def _copies(children: list[dict[str, Any]]) -> int:
    """A multiselect's copies of its input: each branch reading the whole current value (``@``)
    or repeating another branch counts in full; branches reading distinct parts count once."""
    seen: list[dict[str, Any]] = []
    total = 0
    distinct = 0
    for child in children:
        inner = child["children"][0] if child.get("type") == "key_val_pair" else child
        if _reads_whole(inner) or inner in seen:
            total += growth(inner)
        else:
            distinct = max(distinct, growth(inner))
        seen.append(inner)
    return total + distinct


def _reads_whole(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if kind in ("current", "identity"):
        return True
    if kind in _SEQUENCES + _SELECTIONS:
        first = node.get("children") or [{}]
        return isinstance(first[0], dict) and _reads_whole(first[0])
    return False


def _jmespath_growth(expression: str) -> int:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        tree = jmespath.compile(expression).parsed
    except (JMESPathError, RecursionError):
        return 1  # reported by the directive checks
    return growth(tree)


def _finding(directive: str, argument: Any) -> tuple[str, str] | None:
    """(message, hint) for an expression that can grow without bound, or None."""
    if directive == "@template":
        if isinstance(argument, str):
            triple = reexpanding_placeholder(argument)
            if triple is None:
                return None
            return (
                f"template placeholder {triple} re-expands the text it inserts: an "
                "event value holding {{…}} placeholders multiplies the output",
                "use {{path}} (one pass) unless the inserted text is meant to be a template",
            )
        if isinstance(argument, dict):
            return (
                "template text taken from the mapping's input is expanded in two passes: an "
                "event value holding {{…}} placeholders multiplies the output",
                "write the template in the mapping file",
            )
    if directive == "@replace" and isinstance(argument, dict):
        for key in ("replacement", "replacement2"):
            replacement = argument.get(key)
            if isinstance(replacement, str) and ("$`" in replacement or "$'" in replacement):
                marker = "$`" if "$`" in replacement else "$'"
                return (
                    f"replacement {replacement!r} copies the text around every match ({marker}): "
                    "the output grows with the square of the input",
                    "use $& (the match) or plain text",
                )
    if directive == "@jmespath" and isinstance(argument, str):
        factor = _jmespath_growth(argument)
        if factor >= MULTIPLYING:
            return (
                f"JMESPath multiselects copy their input {factor:,} times over (@ or a repeated "
                "reference, nested or chained): the output multiplies with the input",
                "select each value once; a multiselect of distinct fields does not multiply",
            )
    return None


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        for where, directive, argument in _directives(sub.mapping, ()):
            finding = _finding(directive, argument)
            if finding is None:
                continue
            message, hint = finding
            found.append(
                document.diagnostic(
                    codes.UNBOUNDED_EXPRESSION,
                    f"{directive}: {message}; events that make it build more than the mapping "
                    "budget are refused",
                    (*sub.base, "mapping", *where),
                    severity=Severity.WARNING,
                    hint=hint,
                )
            )
    return found
