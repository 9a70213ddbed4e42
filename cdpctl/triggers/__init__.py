"""Segment FQL subscription triggers: parse, match and explain them exactly as Segment does.

Mirrors ``parseFql``/``validate`` of @segment/destination-subscriptions 3.37.0 (fql-ts 1.10.1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from cdpctl.jsvalues import UNDEFINED

from .compiler import CompiledTrigger, compile_tree, explain_compiled
from .errors import TriggerEvaluationError, TriggerSyntaxError, TriggerWarning
from .model import Condition, Trigger, from_ast, leaves
from .parser import parse

__all__ = [
    "UNDEFINED",
    "Condition",
    "Trigger",
    "TriggerEvaluationError",
    "TriggerSyntaxError",
    "TriggerWarning",
    "compile_ast",
    "compile_trigger",
    "conditions",
    "explain",
    "fields",
    "matches",
    "parse",
]


@functools.lru_cache(maxsize=4096)
def _compile_source(fql: str) -> CompiledTrigger:
    return compile_tree(parse(fql).root)


@functools.lru_cache(maxsize=1024)
def _compile_parsed(trigger: Trigger) -> CompiledTrigger:
    return compile_tree(trigger.root)


def _compiled(fql_or_trigger: str | Trigger) -> CompiledTrigger:
    if isinstance(fql_or_trigger, Trigger):
        return _compile_parsed(fql_or_trigger)
    return _compile_source(fql_or_trigger)


def compile_trigger(fql_or_trigger: str | Trigger) -> Callable[[Any], bool]:
    """A predicate ``event -> bool`` answering what Segment's ``validate()`` answers."""
    return _compiled(fql_or_trigger).predicate


def compile_ast(ast: dict[str, Any]) -> Callable[[Any], bool]:
    """A predicate for a Segment-shaped AST (``{"error": ...}`` never matches).

    Where ``validate()`` throws (a None event, a null child) it raises TriggerEvaluationError.
    """
    return compile_tree(from_ast(ast)).predicate


def matches(fql: str | Trigger, event: Any) -> bool:
    """Whether Segment would deliver ``event`` to a subscription with this trigger."""
    return _compiled(fql).predicate(event)


def explain(fql_or_trigger: str | Trigger, event: Any) -> str | None:
    """None if ``event`` matches; otherwise a short reason naming the first failing condition."""
    return explain_compiled(_compiled(fql_or_trigger), event)


def conditions(trigger: str | Trigger) -> Iterator[Condition]:
    """Each leaf condition as (field, operator, value, column), in source order."""
    parsed = trigger if isinstance(trigger, Trigger) else parse(trigger)
    for leaf in leaves(parsed.root):
        value = None if leaf.value is UNDEFINED else leaf.value
        yield Condition(leaf.field, str(leaf.operator), value, leaf.column)


def fields(trigger: str | Trigger) -> set[str]:
    """The event fields a trigger reads (``type``, ``properties.total``, ...)."""
    return {condition.field for condition in conditions(trigger)}
