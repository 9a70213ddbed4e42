"""``@path`` and ``@arrayPath``, and the property walk behind them (actions-core's ``get``)."""

from __future__ import annotations

import re
from typing import Any, Final

from cdpctl.jsvalues import (
    UNDEFINED,
    is_array_index,
    js_truthy,
    js_type,
    utf16_length,
    utf16_units,
)
from cdpctl.mapping.budget import MAX_VALUE_CHARS, BudgetExceeded, json_size
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver, raising

# Split on "." and on brackets around numbers or quoted keys: a[0], a['b c'], a["b"].
# A bracket around anything else stays part of the key, as in actions-core.
_PATH_SEPARATOR: Final = re.compile(r"""\[(?=["'0-9])|\.|(?<=["'0-9])\]+""")
_QUOTES: Final = re.compile(r"""['"]""")


def parse_path(path: str) -> tuple[str, ...]:
    """The property names a path walks; ``()`` for the whole payload (``""`` or ``"."``)."""
    if path in ("", "."):
        return ()
    return tuple(_QUOTES.sub("", part) for part in _PATH_SEPARATOR.split(path) if part)


def strip_root(path: str) -> str:
    """mapping-kit removes the first ``"$."`` wherever it is, not only as a prefix."""
    return path.replace("$.", "", 1)


def js_property(value: Any, key: str) -> Any:
    """``value[key]`` for a truthy JSON value that is not an object."""
    if isinstance(value, list):
        if key == "length":
            return len(value)
        if is_array_index(key) and int(key) < len(value):
            return value[int(key)]
        return UNDEFINED
    if isinstance(value, str):
        if key == "length":
            return utf16_length(value)
        if is_array_index(key):
            units = value if value.isascii() else utf16_units(value)
            return units[int(key)] if int(key) < len(units) else UNDEFINED
        return UNDEFINED
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    return UNDEFINED


def follow_path(value: Any, keys: tuple[str, ...]) -> Any:
    """``keys.reduce((obj, key) => obj && obj[key], value)``: a falsy step is returned as is."""
    for key in keys:
        if type(value) is dict:
            value = value.get(key, UNDEFINED)
        elif js_truthy(value):
            value = js_property(value, key)
        else:
            return value
    return value


def compile_getter(path: str) -> Resolver:
    """A resolver for a path known when the mapping is compiled."""
    keys = parse_path(path)
    if not keys:
        return _whole_payload
    if len(keys) == 1:
        (only,) = keys

        def get_one(payload: Any) -> Any:
            if type(payload) is dict:
                return payload.get(only, UNDEFINED)
            return follow_path(payload, keys)

        return get_one
    if len(keys) == 2:
        first, second = keys
        rest = keys[1:]

        def get_two(payload: Any) -> Any:
            if type(payload) is dict:
                value = payload.get(first, UNDEFINED)
                if type(value) is dict:
                    return value.get(second, UNDEFINED)
                return follow_path(value, rest)
            return follow_path(payload, keys)

        return get_two

    def get_many(payload: Any) -> Any:
        return follow_path(payload, keys)

    return get_many


def _whole_payload(payload: Any) -> Any:
    return payload


def compile_path(argument: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@path": "$.a.b"}``; the path may itself come from a directive."""
    if isinstance(argument, str):
        return compile_getter(strip_root(argument))
    resolve_path = compile_child(argument)

    def resolve_dynamic_path(payload: Any) -> Any:
        path = resolve_path(payload)
        if not isinstance(path, str):
            raise MappingError(f"@path: expected string, got {js_type(path)}")
        return follow_path(payload, parse_path(strip_root(path)))

    return resolve_dynamic_path


def compile_array_path(
    argument: Any, compile_child: CompileChild, keep_undefined: bool
) -> Resolver:
    """``{"@arrayPath": [path, itemShape]}``: map each item through the shape, if any."""
    if not isinstance(argument, list):
        return raising(f"@arrayPath expected array, got {js_type(argument)}")
    path = argument[0] if argument else UNDEFINED
    shape = argument[1] if len(argument) > 1 else UNDEFINED
    resolve_root = (
        compile_getter(strip_root(path)) if isinstance(path, str) else compile_child(path)
    )
    if not (isinstance(shape, dict) and shape):
        return resolve_root
    resolve_item = compile_child(shape, keep_undefined)

    def resolve_array_path(payload: Any) -> Any:
        root = resolve_root(payload)
        if isinstance(root, list):
            return map_items(resolve_item, root)
        if isinstance(root, dict):
            return map_items(resolve_item, [root])
        return root

    return resolve_array_path


def map_items(resolve_item: Resolver, items: list[Any]) -> list[Any]:
    """``items.map(resolve_item)``, measured as it grows: the shape is repeated once per item,
    so a long list of small items can map to far more than the list itself."""
    mapped: list[Any] = []
    size = 2
    for item in items:
        value = resolve_item(item)
        size += json_size(value, MAX_VALUE_CHARS - size) + 1
        if size > MAX_VALUE_CHARS:
            raise BudgetExceeded("@arrayPath", size, MAX_VALUE_CHARS)
        mapped.append(value)
    return mapped
