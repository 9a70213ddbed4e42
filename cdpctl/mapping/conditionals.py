"""``@if``: pick ``then`` or ``else`` on whether a value exists or is blank."""

from __future__ import annotations

from typing import Any

from cdpctl.jsvalues import UNDEFINED, is_nullish, js_truthy, loosely_equals_empty_string
from cdpctl.mapping.resolvers import CompileChild, Resolver, constant, raising


def _exists(value: Any) -> bool:
    return not is_nullish(value)


def _is_not_blank(value: Any) -> bool:
    return not is_nullish(value) and not loosely_equals_empty_string(value)


def compile_if(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """A falsy raw ``exists``/``blank`` counts as missing and a falsy raw ``else`` as absent,
    while ``then`` is used whenever present: mapping-kit tests the raw mapping values."""
    if not isinstance(options, dict):
        return raising('@if requires an object with an "exists" key')
    exists = options.get("exists", UNDEFINED)
    blank = options.get("blank", UNDEFINED)
    if not js_truthy(exists) and not js_truthy(blank):
        return raising('@if requires an "exists" key or a "blank" key')
    if exists is not UNDEFINED:
        resolve_condition, holds = compile_child(exists), _exists
    else:
        resolve_condition, holds = compile_child(blank), _is_not_blank
    then = options.get("then", UNDEFINED)
    otherwise = options.get("else", UNDEFINED)
    no_value = constant(UNDEFINED)
    resolve_then = no_value if then is UNDEFINED else compile_child(then, keep_undefined)
    resolve_else = compile_child(otherwise, keep_undefined) if js_truthy(otherwise) else no_value

    def resolve_if(payload: Any) -> Any:
        if holds(resolve_condition(payload)):
            return resolve_then(payload)
        return resolve_else(payload)

    return resolve_if
