"""One subscription compiled into one Python function: its judge.

`write_judge` writes `judge(e, ctx, sized=False)` for a subscription: its trigger, its mapping,
then the runtime's `finish` (the action's clean/coerce/validate step, its check and its plan).
`pipeline.evaluate` is a call of it, so test-event, send, diff, dry and live replay and the
Dask engine all judge through the same code.

What is generated is only structure: the trigger's and/or groups (cdpctl.triggers.codegen),
the mapping's raw objects and its static `@path` reads, each done once per event
(cdpctl.mapping.codegen). Every FQL condition calls its compiled predicate and every other
directive its compiled resolver, so each meaning is written once, where it is defined; the
generated code calls them as a template engine's compiled templates call their runtime.

`judge` answers None when the trigger does not match and otherwise what `finish` answers: a
verdict, or with `sized` (the dry run's bulk counting) the body size of the one request a
`Ready` event sends, when the action declares that body's layout (`Action.layout`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdpctl.jsvalues import spread
from cdpctl.mapping import BudgetExceeded, MappingError
from cdpctl.mapping.budget import check_mapped
from cdpctl.mapping.codegen import MappingCode, Source
from cdpctl.mapping.compiler import ROOT_DIRECTIVE_KEY
from cdpctl.mapping.objects import strip_undefined
from cdpctl.mapping.validator import is_directive_key
from cdpctl.triggers import TriggerEvaluationError
from cdpctl.triggers.codegen import required_type, trigger_expression
from cdpctl.triggers.model import Node

Judge = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class CompiledJudge:
    function: Judge
    event_type: str | None  # the only event type the trigger can match, if it requires one


def write_judge(
    label: str,
    trigger: Node,
    mapping: Any,
    transform: Callable[[Any], Any],
    strips: bool,
    refused: Callable[[MappingError], Any],
    finish: Callable[[dict[str, Any], Any, bool], Any],
) -> CompiledJudge:
    """The judge of one subscription. `transform` is the compiled mapping (used whole where the
    mapping is not a plain object of fields), `strips` whether its result needs
    `strip_undefined`, `refused` the verdict for a mapping that fails, `finish` the rest of
    the judgement for a mapped payload."""
    source = Source()
    source.namespace.update(
        TriggerFailed=TriggerEvaluationError,
        MappingFailed=(BudgetExceeded, MappingError),
        refused=refused,
        finish=finish,
    )
    condition = trigger_expression(trigger, source, "e")
    with source.block("def judge(e, ctx, sized=False):"):
        with source.block("try:"):
            source.add(f"if not {condition}: return None")
        with source.block("except TriggerFailed:"):
            source.add("return None")  # where Segment's matcher throws, the event does not match
        with source.block("try:"):
            if _plain_object(mapping):
                _write_fields(source, mapping)
            else:
                _write_whole(source, transform, strips)
        with source.block("except MappingFailed as error:"):
            source.add("return refused(error)")
        source.add("return finish(m, ctx, sized)")
    text = source.text()
    namespace = dict(source.namespace)
    name = label.replace("\x00", "\\x00")  # a code object's name cannot hold NUL
    exec(compile(text, f"<judge {name}>", "exec"), namespace)
    return CompiledJudge(namespace["judge"], required_type(trigger))


def _plain_object(mapping: Any) -> bool:
    return (
        isinstance(mapping, dict)
        and ROOT_DIRECTIVE_KEY not in mapping
        and not any(is_directive_key(key) for key in mapping)
    )


def mapped_keys(mapping: Any) -> tuple[Any, ...] | None:
    """The keys a judge's mapped object can hold, in their order, where the mapping is a plain
    object of fields (None where only an event tells: a root directive)."""
    return tuple(spread(mapping)) if _plain_object(mapping) else None


def _write_fields(source: Source, mapping: dict[Any, Any]) -> None:
    """`m`: the mapped object, keys that resolve to undefined left out, within the budget."""
    code = MappingCode(source, "e", root_is_dict=True)
    items = code.object_items(spread(mapping))  # JavaScript's key order, as compile_mapping
    source.extend(code.lines())
    source.add("m = {}")
    for key, expression, maybe_undefined in items:
        if maybe_undefined:
            source.add(f"if {expression} is not U: m[{key!r}] = {expression}")
        else:
            source.add(f"m[{key!r}] = {expression}")
    source.add(f"{source.bind(check_mapped, 'budget')}(m)")


def _write_whole(source: Source, transform: Callable[[Any], Any], strips: bool) -> None:
    """`m`: the compiled mapping's result (a root directive or a mapping of directives)."""
    source.add(f"m = {source.bind(transform, 'transform')}(e)")
    if strips:
        source.add(f"m = {source.bind(strip_undefined, 'strip')}(m)")
