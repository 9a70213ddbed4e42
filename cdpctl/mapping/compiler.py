"""mapping-kit's ``transform``, compiled: validate a mapping once, then apply it to many events.

A check mapping-kit makes only while resolving a node compiles into a resolver that raises,
so it fails exactly when (and only if) mapping-kit would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from cdpctl.jsvalues import UNDEFINED, js_truthy, js_type, spread
from cdpctl.mapping.budget import BudgetExceeded, check_mapped
from cdpctl.mapping.conditionals import compile_if
from cdpctl.mapping.liquid import compile_liquid
from cdpctl.mapping.objects import compile_exclude_when_null, compile_flatten, compile_merge
from cdpctl.mapping.paths import compile_array_path, compile_path
from cdpctl.mapping.problems import MappingError, MappingProblem, PathKey
from cdpctl.mapping.resolvers import CompileChild, Resolver, constant, raising
from cdpctl.mapping.strings import compile_case, compile_json, compile_replace
from cdpctl.mapping.templates import compile_template
from cdpctl.mapping.validator import is_directive_key, validate

ROOT_DIRECTIVE_KEY: Final = "__segment_internal_directive"

DirectiveCompiler = Callable[[Any, CompileChild, bool], Resolver]


def transform(mapping: Any, payload: Any = UNDEFINED) -> Any:
    """What mapping-kit's ``transform`` returns: keys resolving to undefined are left out, and
    the result itself may be ``UNDEFINED``."""
    return compile_mapping(mapping)(payload)


def compile_mapping(mapping: Any) -> Callable[[Any], Any]:
    """Validate once (``MappingError`` with ``.problems`` if invalid); the returned function
    maps one payload, sharing unchanged sub-objects with it, and raises where mapping-kit does,
    or `BudgetExceeded` where the result would outgrow the budgets (cdpctl.mapping.budget)."""
    resolve = _compile_top_level(mapping)

    def apply_mapping(payload: Any = UNDEFINED) -> Any:
        if payload is UNDEFINED:
            payload = {}
        elif type(payload) is not dict:
            _require_object(payload)
        return check_mapped(resolve(payload))

    return apply_mapping


def _require_object(payload: Any) -> None:
    kind = js_type(payload)
    if kind != "object":
        raise MappingError(f"data must be an object, got {kind}")


def _compile_top_level(mapping: Any) -> Resolver:
    processed, locate = _expand(mapping)
    problems = validate(processed)
    if problems:
        raise MappingError.from_problems(
            MappingProblem(locate(problem.path), problem.message, problem.hint)
            for problem in problems
        )
    return compile_node(processed)


def _expand(mapping: Any) -> tuple[Any, Callable[[tuple[PathKey, ...]], tuple[PathKey, ...]]]:
    """``getMappingToProcess`` (spread the mapping, expand a root directive), and how to turn
    a path in the result into one in ``mapping``."""
    if mapping is None or mapping is UNDEFINED:
        raise MappingError("Cannot convert undefined or null to object")
    if isinstance(mapping, list):
        return spread(mapping), _index_paths
    if not (isinstance(mapping, dict) and ROOT_DIRECTIVE_KEY in mapping):
        return spread(mapping), _same_path
    customer_mapping = {key: value for key, value in mapping.items() if key != ROOT_DIRECTIVE_KEY}
    root = mapping[ROOT_DIRECTIVE_KEY]
    if root is None or root is UNDEFINED:
        raise MappingError("Cannot convert undefined or null to object")
    own_properties = spread(root)
    if len(own_properties) > 1:
        raise MappingError("The root mapping must only have a single directive object")
    directive_key, directive = next(iter(own_properties.items()), (UNDEFINED, UNDEFINED))
    if not isinstance(directive, (dict, list)):
        raise MappingError("The root directive must be an object")
    if isinstance(directive, dict):
        # mapping-kit assigns `mapping` on the directive object; copy instead of mutating.
        injected = {**directive, "mapping": customer_mapping}
        root = {directive_key: injected} if isinstance(root, dict) else [injected]

    def locate(path: tuple[PathKey, ...]) -> tuple[PathKey, ...]:
        if path[:2] == (directive_key, "mapping"):
            return path[2:]
        return (ROOT_DIRECTIVE_KEY, *path)

    return root, locate


def _same_path(path: tuple[PathKey, ...]) -> tuple[PathKey, ...]:
    return path


def _index_paths(path: tuple[PathKey, ...]) -> tuple[PathKey, ...]:
    return (int(path[0]), *path[1:]) if path else path


def compile_node(node: Any, keep_undefined: bool = False) -> Resolver:
    """Compile a directive, raw object, raw array or raw value; unless ``keep_undefined``,
    objects leave out keys resolving to undefined, as mapping-kit's final clean-up would."""
    if isinstance(node, dict):
        if is_directive(node):
            return _compile_directive(node, keep_undefined)
        return _compile_object(node, keep_undefined)
    if isinstance(node, list):
        resolvers = tuple(compile_node(item, keep_undefined) for item in node)
        return lambda payload: [resolve(payload) for resolve in resolvers]
    return constant(node)


def is_directive(node: dict[Any, Any]) -> bool:
    """mapping-kit's ``isDirective``: an ``@`` key and nothing else but ``_metadata``."""
    has_directive_key = False
    for key in node:
        if is_directive_key(key):
            has_directive_key = True
        elif key != "_metadata":
            return False
    return has_directive_key


def _compile_directive(node: dict[Any, Any], keep_undefined: bool) -> Resolver:
    name = next(key for key in node if is_directive_key(key))
    compile_directive = _DIRECTIVE_COMPILERS.get(name)
    if compile_directive is None:
        return raising(f"{name} is not a valid directive, got undefined")
    return compile_directive(node[name], compile_node, keep_undefined)


_SCALARS: Final = (str, int, float, bool, type(None))


def _compile_object(node: dict[Any, Any], keep_undefined: bool) -> Resolver:
    # Raw values are copied from a prepared dict; only nested nodes run per event. Every key
    # is in `prepared` (in mapping order) and a nested node's placeholder is overwritten.
    prepared: dict[Any, Any] = {}
    nested: list[tuple[Any, Resolver]] = []
    for key, value in node.items():
        if value is UNDEFINED:
            if keep_undefined:
                prepared[key] = UNDEFINED
        elif isinstance(value, _SCALARS):
            prepared[key] = value
        else:
            prepared[key] = None
            nested.append((key, compile_node(value, keep_undefined)))
    if not nested:
        return lambda payload: prepared.copy()
    nested_items = tuple(nested)
    if keep_undefined:

        def resolve_object_keeping_undefined(payload: Any) -> dict[Any, Any]:
            resolved = prepared.copy()
            for key, resolve in nested_items:
                try:
                    resolved[key] = resolve(payload)
                except BudgetExceeded as refusal:
                    raise refusal.at(key) from None
            return resolved

        return resolve_object_keeping_undefined

    def resolve_object(payload: Any) -> dict[Any, Any]:
        resolved = prepared.copy()
        for key, resolve in nested_items:
            try:
                value = resolve(payload)
            except BudgetExceeded as refusal:
                raise refusal.at(key) from None  # where in the payload, for the message
            if value is UNDEFINED:
                del resolved[key]
            else:
                resolved[key] = value
        return resolved

    return resolve_object


def _compile_literal(argument: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@literal": value}``: the value, directives inside it still resolved."""
    return compile_child(argument, keep_undefined)


def _compile_transform(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@transform": {"apply": {...}, "mapping": {...}}}``: map the event, then map that."""
    if not isinstance(options, dict):
        return raising('@transform requires an object with an "apply" key and a "mapping" key')
    mapping = options.get("mapping", UNDEFINED)
    if not js_truthy(mapping):
        return raising('@transform requires a "mapping" key')
    apply = options.get("apply", UNDEFINED)
    if not js_truthy(apply):
        return raising('@transform requires a "apply" key')
    if not isinstance(apply, dict):
        return raising('@transform "apply" key should be an object')
    try:
        resolve_apply = _compile_top_level(apply)
    except MappingError as error:
        # mapping-kit validates `apply` when it runs, after checking the payload.
        resolve_apply = raising(str(error), error.problems)
    resolve_mapping = compile_child(mapping, keep_undefined)

    def resolve_transform(payload: Any) -> Any:
        if payload is UNDEFINED:
            payload = {}  # transform()'s default parameter
        elif type(payload) is not dict:
            _require_object(payload)
        return resolve_mapping(resolve_apply(payload))

    return resolve_transform


def _compile_jmespath(argument: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    from cdpctl.mapping.jmespath_query import compile_jmespath

    return compile_jmespath(argument)


_DIRECTIVE_COMPILERS: Final[dict[str, DirectiveCompiler]] = {
    "@arrayPath": compile_array_path,
    "@case": compile_case,
    "@excludeWhenNull": compile_exclude_when_null,
    "@flatten": compile_flatten,
    "@if": compile_if,
    "@jmespath": _compile_jmespath,
    "@json": compile_json,
    "@liquid": compile_liquid,
    "@literal": _compile_literal,
    "@merge": compile_merge,
    "@path": compile_path,
    "@replace": compile_replace,
    "@template": compile_template,
    "@transform": _compile_transform,
}
