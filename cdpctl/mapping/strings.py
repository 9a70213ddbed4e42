"""String directives: ``@case``, ``@replace`` and ``@json``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from cdpctl.jsvalues import (
    UNDEFINED,
    is_nullish,
    js_to_string,
    js_truthy,
    json_parse,
    json_stringify,
    utf16_length,
)
from cdpctl.mapping.budget import MAX_VALUE_CHARS, check_built, check_value, checked_text
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver, constant, raising
from cdpctl.mapping.validator import MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH

_CASE_CONVERSIONS: Final[dict[str, Callable[[str], str]]] = {
    "lower": str.lower,
    "upper": str.upper,
}


def compile_case(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """``{"@case": {"operator": "lower", "value": ...}}``; non-strings pass through."""
    if not isinstance(options, dict):
        return raising('@case requires an object with a "operator" key')
    operator = options.get("operator", UNDEFINED)
    if not js_truthy(operator):
        return raising('@case requires a "operator" key')
    value = options.get("value", UNDEFINED)
    if not js_truthy(value):
        return constant(UNDEFINED)
    resolve_value = compile_child(value, keep_undefined)
    convert = _CASE_CONVERSIONS.get(operator) if isinstance(operator, str) else None

    def resolve_case(payload: Any) -> Any:
        resolved = resolve_value(payload)
        if not isinstance(resolved, str):
            return resolved
        if convert is None:
            raise MappingError('operator key should have a value of "lower" or "upper"')
        # One character may become up to three ("ﬃ".upper()): a bounded growth.
        return checked_text("@case", convert(resolved))

    return resolve_case


def compile_replace(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """A literal pattern, but a replacement with JavaScript's ``$&``, ``$```, ``$'``, ``$$``;
    numbers and booleans are stringified, other values give ``""``."""
    if not isinstance(options, dict):
        return raising('@replace requires an object with a "pattern" key')
    pattern = options.get("pattern", UNDEFINED)
    if not js_truthy(pattern):
        return raising('@replace requires a "pattern" key')
    replacement = options.get("replacement", UNDEFINED)
    replacement = "" if is_nullish(replacement) else replacement
    pattern2 = options.get("pattern2", UNDEFINED)
    replacement2 = options.get("replacement2", UNDEFINED)
    if js_truthy(pattern2) and is_nullish(replacement2):
        replacement2 = ""
    ignorecase = options.get("ignorecase", UNDEFINED)
    ignorecase = False if is_nullish(ignorecase) else ignorecase
    is_global = options.get("global", UNDEFINED)
    is_global = True if is_nullish(is_global) else is_global
    value = options.get("value", UNDEFINED)
    if not js_truthy(value):
        return constant(UNDEFINED)
    resolve_value = compile_child(value)

    if not (
        isinstance(pattern, str)
        and isinstance(replacement, str)
        and isinstance(ignorecase, bool)
        and isinstance(is_global, bool)
    ):

        def resolve_to_empty(payload: Any) -> str:
            resolve_value(payload)
            return ""

        return resolve_to_empty

    steps = [_literal_replacer(pattern, replacement, is_global, ignorecase)]
    if js_truthy(pattern2) and isinstance(pattern2, str) and isinstance(replacement2, str):
        steps.append(_literal_replacer(pattern2, replacement2, is_global, ignorecase))

    def resolve_replace(payload: Any) -> str:
        resolved = resolve_value(payload)
        if isinstance(resolved, (bool, int, float)):
            resolved = js_to_string(resolved)
        if not isinstance(resolved, str):
            return ""
        for step in steps:
            resolved = step(resolved)
        return resolved

    return resolve_replace


def _literal_replacer(
    pattern: str, replacement: str, is_global: bool, ignorecase: bool
) -> Callable[[str], str]:
    """``value.replace(new RegExp(escaped(pattern), flags), replacement)``."""
    if utf16_length(pattern) > MAX_PATTERN_LENGTH:
        return _failing(f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters')
    if utf16_length(replacement) > MAX_REPLACEMENT_LENGTH:
        return _failing(
            f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters'
        )
    count = -1 if is_global else 1
    if "$" not in replacement and not ignorecase:
        growth = len(replacement) - len(pattern)

        def replace_plain(value: str) -> str:
            most = len(value) // len(pattern) if is_global else 1
            if len(value) + max(growth, 0) * most > MAX_VALUE_CHARS:  # else no need to count
                found = value.count(pattern) if is_global else int(pattern in value)
                check_value("@replace", len(value) + found * growth)
            return value.replace(pattern, replacement, count)

        return replace_plain
    tokens = _replacement_tokens(replacement)
    needle = _fold_case(pattern) if ignorecase else pattern

    def replace(value: str) -> str:
        haystack = _fold_case(value) if ignorecase else value
        # `$`` and `$'` copy the text before and after each match: size it before building.
        size = len(value)
        for start, end in _match_spans(haystack, needle, is_global):
            size -= end - start
            for token in tokens:
                if token == "$&":
                    size += end - start
                elif token == "$`":
                    size += start
                elif token == "$'":
                    size += len(value) - end
                else:
                    size += len(token)
            if size - (len(value) - end) > MAX_VALUE_CHARS:  # later matches only remove text
                break
        check_value("@replace", size)
        parts: list[str] = []
        position = 0
        for start, end in _match_spans(haystack, needle, is_global):
            parts.append(value[position:start])
            for token in tokens:
                if token == "$&":
                    parts.append(value[start:end])
                elif token == "$`":
                    parts.append(value[:start])
                elif token == "$'":
                    parts.append(value[end:])
                else:
                    parts.append(token)
            position = end
        parts.append(value[position:])
        return "".join(parts)

    return replace


def _match_spans(haystack: str, needle: str, is_global: bool) -> Iterator[tuple[int, int]]:
    """Where ``needle`` occurs in ``haystack``, left to right without overlaps (the first only
    unless ``is_global``)."""
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        yield start, end
        if not is_global:
            return
        start = haystack.find(needle, end)


def _replacement_tokens(replacement: str) -> tuple[str, ...]:
    """Literal text and ``$&``, ``$```, ``$'`` markers; with no capture groups in the
    pattern, ``$1`` and ``$<name>`` stay literal."""
    tokens: list[str] = []
    literal: list[str] = []
    index = 0
    while index < len(replacement):
        pair = replacement[index : index + 2]
        if pair == "$$":
            literal.append("$")
            index += 2
        elif pair in ("$&", "$`", "$'"):
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append(pair)
            index += 2
        else:
            literal.append(replacement[index])
            index += 1
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens)


def _fold_case(text: str) -> str:
    """Case-fold like a JavaScript ``i``-flag regular expression (no ``u`` flag), one
    character for one, so match positions carry over to the original."""
    return "".join(map(_canonical_char, text))


def _canonical_char(char: str) -> str:
    upper = char.upper()
    if len(upper) != 1 or upper > "\uffff" or char > "\uffff":
        return char
    if char >= "\x80" and upper < "\x80":
        return char
    return upper


def _failing(message: str) -> Callable[[str], str]:
    def fail(value: str) -> str:
        raise MappingError(message)

    return fail


def compile_json(options: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """Decoding a string that is not JSON gives it back; a mode other than exactly ``encode``
    or ``decode`` gives undefined (the validator ignores case)."""
    if not isinstance(options, dict):
        return raising('@json requires an object with a "value" key')
    mode = options.get("mode", UNDEFINED)
    if not js_truthy(mode):
        return raising('@json requires a "mode" key')
    value = options.get("value", UNDEFINED)
    if not js_truthy(value):
        return raising('@json requires a "value" key')
    if mode == "encode":
        resolve_encoded = compile_child(value)

        def resolve_encode(payload: Any) -> Any:
            # Escapes make the text at most six times the measured size: check before and after.
            resolved = check_built("@json", resolve_encoded(payload))
            encoded = json_stringify(resolved)
            return checked_text("@json", encoded) if isinstance(encoded, str) else encoded

        return resolve_encode
    if mode == "decode":
        resolve_decoded = compile_child(value, keep_undefined)

        def resolve_decode(payload: Any) -> Any:
            resolved = resolve_decoded(payload)
            if not isinstance(resolved, str):
                return resolved
            try:
                return json_parse(resolved)
            except ValueError:
                return resolved

        return resolve_decode
    resolve_unused = compile_child(value)

    def resolve_unknown_mode(payload: Any) -> Any:
        resolve_unused(payload)
        return UNDEFINED

    return resolve_unknown_mode
