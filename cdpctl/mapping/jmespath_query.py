"""The ``@jmespath`` directive: a JMESPath expression evaluated against the event."""

from __future__ import annotations

from typing import Any, Final

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError
from jmespath.visitor import Options, TreeInterpreter

from cdpctl.jsvalues import UNDEFINED
from cdpctl.mapping.budget import (
    MAX_JMESPATH_WORK,
    MAX_VALUE_CHARS,
    BudgetExceeded,
    json_size,
)
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import Resolver, raising


def jmespath_syntax_error(expression: str) -> str | None:
    """Why ``expression`` does not parse, in one line, or None when it does."""
    try:
        jmespath.compile(expression)
    except JMESPathError as error:
        reason = str(error).split("\n", 1)[0].removesuffix(", for expression:").rstrip(":.")
        position = getattr(error, "lex_position", None)
        if position is not None and "column" not in reason:
            reason += f" at column {position}"
        return reason
    return None


def compile_jmespath(expression: Any) -> Resolver:
    """Compile once; a ``null`` result (JMESPath's "nothing") becomes ``UNDEFINED``."""
    if not isinstance(expression, str):
        return raising("@jmespath requires a string expression")
    try:
        parsed = jmespath.compile(expression)
    except JMESPathError as error:
        return raising(f"@jmespath: {jmespath_syntax_error(expression) or error}")
    field_chain = _field_chain(parsed.parsed)
    if field_chain is not None:
        return _compile_field_chain(field_chain)

    tree = parsed.parsed

    def resolve_jmespath(payload: Any) -> Any:
        try:
            result = BudgetedInterpreter().visit(tree, payload)
        except JMESPathError as error:
            raise MappingError(f"@jmespath: {error}") from error
        return UNDEFINED if result is None else result

    return resolve_jmespath


# Nodes whose result is a value JMESPath builds (the others return a part of their input, a
# literal of the expression, or a boolean): only these can grow, so only these are measured.
_BUILDING: Final = frozenset(
    {
        "multi_select_list",
        "multi_select_dict",
        "projection",
        "value_projection",
        "filter_projection",
        "flatten",
        "slice",
        "function_expression",
    }
)
_OPTIONS: Final = Options(custom_functions=functions.Functions())


class BudgetedInterpreter(TreeInterpreter):
    """JMESPath's tree interpreter, counting its work: one unit per node visited plus the size
    of every value built (each within the value budget), at most `MAX_JMESPATH_WORK` for one
    evaluation. Every value a node builds is bounded by the sizes of what its children returned,
    so checking each result as it is returned bounds the time and memory of the whole search
    (``[@,@]`` chained 26 times stops at the 18th, not at 2^26 copies). One per evaluation."""

    def __init__(self) -> None:
        # TreeInterpreter.__init__ with the shared options, minus its per-instance method cache.
        self._dict_cls = dict
        self._options = _OPTIONS
        self._functions = _OPTIONS.custom_functions
        self.work = 0
        # Sizes of the values built so far, by id (the value kept alive with it): a value built
        # from built values is measured from theirs, so [@,@] chained n times costs n steps.
        self._sizes: dict[int, tuple[Any, int]] = {}

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        kind = node["type"]
        result = _VISITORS.get(kind, _unknown_node)(self, node, *args, **kwargs)
        self.work += 1
        if kind in _BUILDING and result is not None:
            size = self._measure(result)
            if size > MAX_VALUE_CHARS:
                raise BudgetExceeded("@jmespath", size, MAX_VALUE_CHARS)
            self.work += size
        if self.work > MAX_JMESPATH_WORK:
            raise BudgetExceeded("@jmespath", self.work, MAX_JMESPATH_WORK, "work")
        return result

    def _measure(self, value: Any) -> int:
        """`json_size` of a value just built, reusing the sizes of the built values in it."""
        sizes = self._sizes
        if type(value) is list:
            total = 2 + len(value)
            children: Any = value
        elif type(value) is dict:
            total = 2 + sum(len(key) + 4 for key in value)
            children = value.values()
        else:
            total = json_size(value, MAX_VALUE_CHARS)
            children = ()
        for child in children:
            known = sizes.get(id(child))
            if known is not None and known[0] is child:
                total += known[1]
            else:
                total += json_size(child, MAX_VALUE_CHARS - total)
            if total > MAX_VALUE_CHARS:
                return total
        sizes[id(value)] = (value, total)
        return total


#: The interpreter's ``visit_<type>`` methods by node type (what ``Visitor.visit`` looks up).
_VISITORS: Final = {
    name.removeprefix("visit_"): method
    for name, method in vars(TreeInterpreter).items()
    if name.startswith("visit_")
}


def _unknown_node(interpreter: TreeInterpreter, node: dict[str, Any], *args: Any) -> Any:
    return interpreter.default_visit(node, *args)


def _field_chain(node: dict[str, Any]) -> tuple[str | int, ...] | None:
    """The steps of an expression made only of field names and indexes (``a.b[0].c``)."""
    kind = node["type"]
    if kind == "field":
        return (node["value"],)
    if kind == "index":
        return (node["value"],)
    if kind in ("subexpression", "index_expression"):
        steps: tuple[str | int, ...] = ()
        for child in node["children"]:
            more = _field_chain(child)
            if more is None:
                return None
            steps += more
        return steps
    return None


def _compile_field_chain(steps: tuple[str | int, ...]) -> Resolver:
    """The same lookups JMESPath would do, without its tree-walking interpreter."""

    def resolve_field_chain(payload: Any) -> Any:
        value = payload
        for step in steps:
            if type(step) is str:
                value = value.get(step) if isinstance(value, dict) else None
            elif isinstance(value, list) and type(step) is int and -len(value) <= step < len(value):
                value = value[step]
            else:
                value = None
            if value is None:
                return UNDEFINED
        return value

    return resolve_field_chain
