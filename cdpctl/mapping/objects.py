"""Object directives (``@merge``, ``@flatten``, ``@excludeWhenNull``) and undefined removal.

mapping-kit removes undefined values only at the end, and ``@merge`` (an undefined value still
overwrites) and ``@flatten`` can see them; so they compile their inputs with ``keep_undefined``
and clean their own result when their caller does not keep undefined values.
"""

from __future__ import annotations

import math
from typing import Any

from cdpctl.jsvalues import UNDEFINED, js_truthy, js_typeof, own_keys, utf16_units
from cdpctl.mapping.budget import MAX_VALUE_CHARS, BudgetExceeded, check_built, json_size
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver, raising


def without_undefined_keys(value: Any) -> Any:
    """actions-core's ``removeUndefined``: drop undefined object values, keep array slots."""
    if isinstance(value, dict):
        return {
            key: without_undefined_keys(item)
            for key, item in value.items()
            if item is not UNDEFINED
        }
    if isinstance(value, list):
        return [without_undefined_keys(item) for item in value]
    return value


def strip_undefined(value: Any) -> Any:
    """A JSON-safe copy as ``JSON.stringify`` sees it: undefined object values are dropped,
    undefined array slots and non-finite numbers become ``None``."""
    kind = type(value)
    if kind is dict:
        return {
            key: item if type(item) in _PLAIN_LEAVES else strip_undefined(item)
            for key, item in value.items()
            if item is not UNDEFINED
        }
    if kind is list:
        return [item if type(item) in _PLAIN_LEAVES else strip_undefined(item) for item in value]
    if value is UNDEFINED:
        return None
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return strip_undefined(dict(value))
    if isinstance(value, (list, tuple)):
        return strip_undefined(list(value))
    return value


_PLAIN_LEAVES = frozenset({str, int, bool, type(None)})

# Directives whose result can hold undefined array slots or non-finite numbers: they build
# arrays from sub-results (@arrayPath), decode text (@json: NaN), or re-map an intermediate
# (@transform), or spread values around (@merge, @flatten). The others return event values
# (never undefined inside: the event is JSON), strings, or objects already cleaned.
_MAY_LEAVE_UNDEFINED = frozenset({"@arrayPath", "@json", "@transform", "@merge", "@flatten"})


def may_leave_undefined(mapping: Any) -> bool:
    """Whether `strip_undefined` can change this mapping's result (conservative: True when
    unsure), so bulk judging may skip that walk for the many mappings where it cannot."""
    if isinstance(mapping, dict):
        return any(
            key in _MAY_LEAVE_UNDEFINED or may_leave_undefined(value)
            for key, value in mapping.items()
        )
    if isinstance(mapping, list):
        return any(isinstance(item, (dict, list)) or item is UNDEFINED for item in mapping)
    return False


def compile_merge(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``Object.assign({}, ...objects)``, reversed for ``"left"`` (exactly: the validator
    ignores case, the runtime does not); strings and arrays spread into index keys."""
    if not isinstance(options, dict):
        return raising('@merge requires an object with an "objects" key and a "direction" key')
    direction = options.get("direction", UNDEFINED)
    if not js_truthy(direction):
        return raising('@merge requires a "direction" key')
    resolve_direction = compile_child(direction)
    objects = options.get("objects", UNDEFINED)
    if not js_truthy(objects):
        return raising('@merge requires a "objects" key')
    if not isinstance(objects, list):
        return raising(f"@merge: expected opts.array, got {js_typeof(objects)}")
    resolvers = tuple(compile_child(item, keep_undefined=True) for item in objects)

    def resolve_merge(payload: Any) -> Any:
        sources = [resolve(payload) for resolve in resolvers]
        if resolve_direction(payload) == "left":
            sources.reverse()
        merged: dict[str, Any] = {}
        for source in sources:
            if isinstance(source, str):  # one key per UTF-16 unit: `"0":"a",` for each
                _check_spread(len(merged) + len(source))
            _assign(merged, source)
        check_built("@merge", merged)
        return merged if keep_undefined else without_undefined_keys(merged)

    return resolve_merge


def _check_spread(keys: int) -> None:
    """Spreading a string makes one entry (at least eight characters of JSON) per unit."""
    if keys * 8 > MAX_VALUE_CHARS:
        raise BudgetExceeded("@merge", keys * 8, MAX_VALUE_CHARS)


def _assign(target: dict[str, Any], source: Any) -> None:
    """One source of ``Object.assign``: its own enumerable properties."""
    if isinstance(source, dict):
        target.update(source)
    elif isinstance(source, list):
        target.update((str(index), item) for index, item in enumerate(source))
    elif isinstance(source, str):
        target.update((str(index), unit) for index, unit in enumerate(utf16_units(source)))


def compile_flatten(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@flatten": {"value": ..., "separator": "."}}``: empty objects and arrays vanish, a
    value that is not an object becomes ``{"": value}``."""
    if not isinstance(options, dict):
        return raising('@flatten requires an object with a "separator" key')
    separator = options.get("separator", UNDEFINED)
    if not js_truthy(separator):
        return raising('@flatten requires a "separator" key')
    resolve_separator = compile_child(separator)
    resolve_value = compile_child(options.get("value", UNDEFINED), keep_undefined=True)
    omit_arrays = js_truthy(options.get("omitArrays", UNDEFINED))

    def resolve_flatten(payload: Any) -> Any:
        resolved_separator = resolve_separator(payload)
        if not isinstance(resolved_separator, str):
            raise MappingError("@flatten requires a string separator")
        flat: dict[str, Any] = {}
        _flatten_into(
            flat,
            resolve_value(payload),
            "",
            resolved_separator,
            omit_arrays,
            keep_undefined,
            _Tally(),
        )
        return flat

    return resolve_flatten


class _Tally:
    """The size of what @flatten has built so far, every key name included: each leaf repeats
    its key's whole prefix, so a deep, wide value flattens to far more than its own size."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 2

    def add(self, size: int) -> None:
        self.size += size
        if self.size > MAX_VALUE_CHARS:
            raise BudgetExceeded("@flatten", self.size, MAX_VALUE_CHARS)


def _flatten_into(
    flat: dict[str, Any],
    value: Any,
    prefix: str,
    separator: str,
    omit_arrays: bool,
    keep_undefined: bool,
    tally: _Tally,
) -> None:
    if isinstance(value, dict):
        entries: Any = ((key, value[key]) for key in own_keys(value))
    elif isinstance(value, list) and not omit_arrays:
        entries = enumerate(value)
    elif value is UNDEFINED and not keep_undefined:
        # Assigning undefined then removing it: a leaf of the same name written earlier goes.
        flat.pop(prefix, None)
        return
    else:
        tally.add(json_size(value, MAX_VALUE_CHARS - tally.size) + 4)
        flat[prefix] = value if keep_undefined else without_undefined_keys(value)
        return
    for key, item in entries:
        # Every name built counts (a leaf's is its key in the result), before it is built.
        tally.add(len(prefix) + len(separator) + len(str(key)))
        name = f"{prefix}{separator}{key}" if prefix else str(key)
        _flatten_into(flat, item, name, separator, omit_arrays, keep_undefined, tally)


def compile_exclude_when_null(
    argument: Any, compile_child: CompileChild, keep_undefined: bool
) -> Resolver:
    """``{"@excludeWhenNull": ...}``: null becomes undefined, in nested objects too (not arrays)."""
    resolve_value = compile_child(argument, keep_undefined)

    def resolve_exclude_when_null(payload: Any) -> Any:
        resolved = resolve_value(payload)
        if resolved is None:
            return UNDEFINED
        return _without_nulls(resolved, keep_undefined)

    return resolve_exclude_when_null


def _without_nulls(value: Any, keep_undefined: bool) -> Any:
    if not isinstance(value, dict):
        return value
    cleaned: dict[Any, Any] = {}
    for key, item in value.items():
        if item is None:
            if keep_undefined:
                cleaned[key] = UNDEFINED
        else:
            cleaned[key] = _without_nulls(item, keep_undefined)
    return cleaned
