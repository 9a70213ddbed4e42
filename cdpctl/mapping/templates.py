"""``@template``: ``{{path}}`` placeholders (actions-core's ``render``), in its two passes:
``{{{path}}}`` first, then ``{{path}}`` over the result, so inserted text can hold more."""

from __future__ import annotations

import re
from typing import Any, Final

from cdpctl.jsvalues import UNDEFINED, js_to_string, js_trim, js_type
from cdpctl.mapping.budget import MAX_VALUE_CHARS, check_value
from cdpctl.mapping.paths import compile_getter, follow_path, parse_path
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver

_TRIPLE: Final = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE: Final = re.compile(r"\{\{([^}]+)\}\}")


def placeholder_text(value: Any) -> str:
    """What a placeholder becomes: ``String(value ?? '')``."""
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    return js_to_string(value)


def reexpanding_placeholder(template: str) -> str | None:
    """The first ``{{{path}}}`` placeholder of ``template``, whose inserted text the second
    pass expands again, or None."""
    match = _TRIPLE.search(template)
    return match.group(0) if match else None


def render(template: str, payload: Any) -> str:
    """Render a template only known at run time."""
    if payload is UNDEFINED:
        payload = {}
    return _substitute(_DOUBLE, _substitute(_TRIPLE, template, payload), payload)


def _substitute(pattern: re.Pattern[str], text: str, payload: Any) -> str:
    """One pass of ``render``; the size of its result is checked before it is joined."""
    parts: list[str] = []
    size = 0
    position = 0
    for match in pattern.finditer(text):
        literal = text[position : match.start()]
        inserted = placeholder_text(follow_path(payload, parse_path(js_trim(match.group(1)))))
        size += len(literal) + len(inserted)
        if size > MAX_VALUE_CHARS:
            check_value("@template", size + len(text) - match.end())
        parts.append(literal)
        parts.append(inserted)
        position = match.end()
    if not parts:
        return text
    parts.append(text[position:])
    check_value("@template", size + len(parts[-1]))
    return "".join(parts)


def compile_template_text(template: str) -> Resolver:
    """Parse a template once into literal text and precompiled lookups."""
    if _TRIPLE.search(template):
        first_pass = _compile_pass(template, _TRIPLE)
        return lambda payload: _substitute(_DOUBLE, first_pass(payload), payload)
    return _compile_pass(template, _DOUBLE)


def _compile_pass(template: str, pattern: re.Pattern[str]) -> Resolver:
    literals: list[str] = []
    getters: list[Resolver] = []
    position = 0
    for match in pattern.finditer(template):
        literals.append(template[position : match.start()])
        path = js_trim(match.group(1))
        getters.append(compile_getter(path) if parse_path(path) else _whole_payload)
        position = match.end()
    tail = template[position:]
    if not getters:
        return lambda payload: template
    if len(getters) == 1 and not literals[0] and not tail:
        (getter,) = getters

        def render_one(payload: Any) -> str:
            text = placeholder_text(getter(payload))
            check_value("@template", len(text))
            return text

        return render_one
    pieces = tuple(zip(literals, getters, strict=True))
    fixed = sum(map(len, literals)) + len(tail)

    def render_pieces(payload: Any) -> str:
        parts: list[str] = []
        size = fixed
        for literal, getter in pieces:
            parts.append(literal)
            inserted = placeholder_text(getter(payload))
            size += len(inserted)
            parts.append(inserted)
        check_value("@template", size)
        parts.append(tail)
        return "".join(parts)

    return render_pieces


def _whole_payload(payload: Any) -> Any:
    # render()'s `data = {}` default: an undefined payload renders as an empty object.
    return {} if payload is UNDEFINED else payload


def compile_template(argument: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@template": "Hi {{traits.name}}"}``; the template may come from a directive."""
    if isinstance(argument, str):
        return compile_template_text(argument)
    resolve_template = compile_child(argument)

    def resolve_dynamic_template(payload: Any) -> Any:
        template = resolve_template(payload)
        if not isinstance(template, str):
            raise MappingError(f"@template: expected string, got {js_type(template)}")
        return render(template, payload)

    return resolve_dynamic_template
