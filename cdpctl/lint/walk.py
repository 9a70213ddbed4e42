"""Walks over a subscription's mapping for the lint rules: event paths read, literals written.

Paths are reported only where they are read from the event itself: the item mapping of
``@arrayPath`` reads array items and the ``mapping`` of ``@transform`` reads what ``apply``
produced, so neither is walked for event paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.mapping.paths import parse_path, strip_root

Where = tuple[str | int, ...]

_PLACEHOLDER: Final = re.compile(r"\{\{\{?([^{}]+)\}?\}\}")
#: Directive arguments that are data written to the provider (walked for literals).
_DATA_ARGUMENTS: Final = {
    "@if": ("then", "else"),
    "@json": ("value",),
    "@flatten": ("value",),
    "@transform": ("apply",),
}


@dataclass(frozen=True, slots=True)
class EventPath:
    """A place in the event the mapping reads."""

    where: Where  # inside the mapping, down to the directive's value
    field: Where  # the action field it feeds (mapping keys that are not directives)
    text: str  # as written
    keys: tuple[str, ...]  # the property names walked from the event root
    directive: str  # "@path" or "@template"
    guarded: bool = False  # inside an @if: the mapping expects it may be missing


@dataclass(frozen=True, slots=True)
class Literal:
    """A string the mapping writes as it is."""

    where: Where
    field: Where
    value: str


def is_directive(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(next(iter(value)), str)
        and next(iter(value)).startswith("@")
    )


def event_paths(
    mapping: Any,
    where: Where = (),
    field: Where = (),
    *,
    in_argument: bool = False,
    guarded: bool = False,
) -> Iterator[EventPath]:
    """Every ``@path`` string and ``@template`` placeholder that reads the event."""
    if isinstance(mapping, list):
        for index, item in enumerate(mapping):
            inner = field if in_argument else (*field, index)
            yield from event_paths(
                item, (*where, index), inner, in_argument=in_argument, guarded=guarded
            )
        return
    if not isinstance(mapping, dict):
        return
    if not is_directive(mapping):
        for key, value in mapping.items():
            inner = field if in_argument else (*field, key)
            yield from event_paths(
                value, (*where, key), inner, in_argument=in_argument, guarded=guarded
            )
        return
    ((name, argument),) = mapping.items()
    at = (*where, name)
    guarded = guarded or name == "@if"
    if name == "@path" and isinstance(argument, str):
        yield EventPath(at, field, argument, parse_path(strip_root(argument)), name, guarded)
    elif name == "@template" and isinstance(argument, str):
        for match in _PLACEHOLDER.finditer(argument):
            text = match.group(1).strip()
            if text and not text.startswith("$"):
                yield EventPath(at, field, text, parse_path(text), name, guarded)
    elif name == "@arrayPath" and isinstance(argument, list) and argument:
        yield from event_paths(argument[0], (*at, 0), field, in_argument=True, guarded=guarded)
    elif name == "@transform" and isinstance(argument, dict):
        yield from event_paths(
            argument.get("apply"), (*at, "apply"), field, in_argument=True, guarded=guarded
        )
    elif name != "@literal":
        yield from event_paths(argument, at, field, in_argument=True, guarded=guarded)


def literals(mapping: Any, where: Where = (), field: Where = ()) -> Iterator[Literal]:
    """Every string the mapping sends unchanged: plain values, ``@literal``, the branches of
    ``@if``, and ``@template`` text without placeholders."""
    if isinstance(mapping, str):
        yield Literal(where, field, mapping)
    elif isinstance(mapping, list):
        for index, item in enumerate(mapping):
            yield from literals(item, (*where, index), (*field, index))
    elif isinstance(mapping, dict) and not is_directive(mapping):
        for key, value in mapping.items():
            yield from literals(value, (*where, key), (*field, key))
    elif isinstance(mapping, dict):
        ((name, argument),) = mapping.items()
        at = (*where, name)
        if name in ("@literal", "@excludeWhenNull"):
            yield from literals(argument, at, field)
        elif name == "@template" and isinstance(argument, str) and "{{" not in argument:
            yield Literal(at, field, argument)
        elif name == "@arrayPath" and isinstance(argument, list) and len(argument) > 1:
            yield from literals(argument[1], (*at, 1), field)
        elif name == "@merge" and isinstance(argument, dict):
            for index, item in enumerate(argument.get("objects") or []):
                yield from literals(item, (*at, "objects", index), field)
        elif isinstance(argument, dict):
            for key in _DATA_ARGUMENTS.get(name, ()):
                if key in argument:
                    yield from literals(argument[key], (*at, key), field)
