"""mapping-kit's validator (``validate.ts``) and its quirks: arrays are not looked into,
``@merge`` objects are reported at ``/``, a directive stops at its first error while sibling
keys and fields are aggregated. Plus checks for ``@jmespath``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.jsvalues import UNDEFINED, js_type, json_stringify, own_keys, utf16_length
from cdpctl.mapping.problems import MappingProblem, PathKey

DIRECTIVES: Final = frozenset(
    {
        "@arrayPath",
        "@case",
        "@excludeWhenNull",
        "@flatten",
        "@if",
        "@jmespath",
        "@json",
        "@liquid",
        "@literal",
        "@merge",
        "@path",
        "@replace",
        "@template",
        "@transform",
    }
)
MAX_PATTERN_LENGTH: Final = 10
MAX_REPLACEMENT_LENGTH: Final = 10


@dataclass(frozen=True, slots=True)
class _Where:
    """A node's location: ``shown`` is the stack mapping-kit prints, ``real`` the true path."""

    shown: tuple[str, ...]
    real: tuple[PathKey, ...]

    def child(self, key: PathKey) -> _Where:
        return _Where((*self.shown, str(key)), (*self.real, key))

    def inside(self, *keys: PathKey) -> _Where:
        """A node mapping-kit reports at this node's stack."""
        return _Where(self.shown, (*self.real, *keys))


class _Invalid(Exception):
    """mapping-kit's ``ValidationError``/``AggregateError``, carrying every problem found."""

    def __init__(self, problems: Iterable[MappingProblem]) -> None:
        super().__init__()
        self.problems = list(problems)


Check = Callable[[Any, _Where], None]


def validate(mapping: Any) -> list[MappingProblem]:
    """Check a mapping like mapping-kit's validator; an empty list means valid."""
    try:
        _validate(mapping, _Where((), ()))
    except _Invalid as invalid:
        return invalid.problems
    return []


def is_directive_key(key: Any) -> bool:
    """Whether an object key names a directive (``@``-prefixed)."""
    return type(key) is str and key.startswith("@")


def _problem(
    where: _Where, text: str, *, path: tuple[PathKey, ...] | None = None, hint: str | None = None
) -> _Invalid:
    message = f"/{'/'.join(where.shown)} {text}."
    return _Invalid([MappingProblem(where.real if path is None else path, message, hint)])


def _kind(value: Any) -> str:
    """``realTypeOrDirective``: an object with any ``@`` key counts as a directive."""
    kind = js_type(value)
    if kind == "object" and any(is_directive_key(key) for key in value):
        return "directive"
    return kind


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _closest(word: str, choices: Iterable[str]) -> str | None:
    by_folded = {choice.lower(): choice for choice in choices}
    matches = difflib.get_close_matches(word.lower(), by_folded, n=1, cutoff=0.6)
    return f'did you mean "{by_folded[matches[0]]}"?' if matches else None


def _validate(mapping: Any, where: _Where) -> None:
    kind = _kind(mapping)
    if kind == "directive":
        _validate_directive(mapping, where)
    elif kind == "object":
        _validate_object(mapping, where)


def _validate_directive(obj: dict[Any, Any], where: _Where) -> None:
    keys = list(obj)
    directive_keys = [key for key in keys if is_directive_key(key)]
    if len(directive_keys) > 1:
        raise _problem(
            where, f"should only have one @-prefixed key but it has {len(directive_keys)} keys"
        )
    if any(not is_directive_key(key) and key != "_metadata" for key in keys):
        raise _problem(where, f"should only have one @-prefixed key but it has {len(keys)} keys")
    name = directive_keys[0]
    check = _DIRECTIVE_CHECKS.get(name)
    if check is None:
        raise _problem(
            where,
            f"has an invalid directive: {name}",
            path=(*where.real, name),
            hint=_closest(name, DIRECTIVES),
        )
    check(obj[name], where.child(name))


def _validate_object(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind != "object":
        raise _problem(where, f"should be an object but it is {_a(kind)}")
    problems: list[MappingProblem] = []
    for key in own_keys(value):  # JavaScript's key order decides the order of problems
        try:
            _validate(value[key], where.child(key))
        except _Invalid as invalid:
            problems.extend(invalid.problems)
    if problems:
        raise _Invalid(problems)


def _validate_fields(value: Any, where: _Where, fields: Iterable[tuple[str, bool, Check]]) -> None:
    _validate_object(value, where)
    problems: list[MappingProblem] = []
    for name, required, check in fields:
        item = value.get(name, UNDEFINED)
        try:
            if item is not UNDEFINED:
                check(item, where.child(name))
            elif required:
                raise _problem(where, f'should have field "{name}" but it doesn\'t')
        except _Invalid as invalid:
            problems.extend(invalid.problems)
    if problems:
        raise _Invalid(problems)


def _directive_or_raw(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind == "directive":
        _validate_directive(value, where)
    elif kind == "undefined":
        raise _problem(
            where, "should be a mapping directive or a JSON value but it is an undefined"
        )


def _directive_or_string(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind == "directive":
        _validate_directive(value, where)
    elif kind != "string":
        raise _problem(where, f"should be a string or a mapping directive but it is {_a(kind)}")


def _directive_or_object(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind == "directive":
        _validate_directive(value, where)
    elif kind == "object":
        _validate_object(value, where)
    else:
        # "a object" is mapping-kit's wording.
        raise _problem(where, f"should be a object or a mapping directive but it is {_a(kind)}")


def _string(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind != "string":
        raise _problem(where, f"should be a string but it is {_a(kind)}")


def _boolean(value: Any, where: _Where) -> None:
    kind = _kind(value)
    if kind != "boolean":
        raise _problem(where, f"should be a boolean but it is {_a(kind)}")


def _array(value: Any, where: _Where) -> None:
    kind = js_type(value)
    if kind != "array":
        raise _problem(where, f"should be an array but it is {_a(kind)}")


def _string_of_length(minimum: int, maximum: int) -> Check:
    def check(value: Any, where: _Where) -> None:
        _string(value, where)
        length = utf16_length(value)
        if length < minimum:
            raise _problem(where, f"should be a string of length {minimum} or greater")
        if length > maximum:
            raise _problem(where, f"should be a string of length {maximum} or less")

    return check


def _one_of(*allowed: str) -> Check:
    """A string that is one of ``allowed`` ignoring case (the runtime compares exactly)."""

    def check(value: Any, where: _Where) -> None:
        _string(value, where)
        if value.lower() not in allowed:
            raise _problem(
                where,
                f"should be one of {', '.join(allowed)} but it is {json_stringify(value)}",
                hint=_closest(value, allowed),
            )

    return check


def _check_if(value: Any, where: _Where) -> None:
    _validate_fields(
        value,
        where,
        (
            ("exists", False, _directive_or_raw),
            ("blank", False, _directive_or_raw),
            ("then", False, _directive_or_raw),
            ("else", False, _directive_or_raw),
        ),
    )


def _check_case(value: Any, where: _Where) -> None:
    _validate_fields(
        value, where, (("operator", False, _string), ("value", False, _directive_or_string))
    )


def _check_replace(value: Any, where: _Where) -> None:
    _validate_fields(
        value,
        where,
        (
            ("pattern", True, _string_of_length(1, MAX_PATTERN_LENGTH)),
            ("replacement", False, _string_of_length(0, MAX_REPLACEMENT_LENGTH)),
            ("value", True, _directive_or_string),
            ("ignorecase", False, _boolean),
            ("global", False, _boolean),
        ),
    )


def _check_array_path(value: Any, where: _Where) -> None:
    _array(value, where)
    _directive_or_string(value[0] if value else UNDEFINED, where.inside(0))
    _validate(value[1] if len(value) > 1 else UNDEFINED, where.inside(1))


def _check_json(value: Any, where: _Where) -> None:
    _validate_fields(
        value,
        where,
        (("value", True, _directive_or_raw), ("mode", True, _one_of("encode", "decode"))),
    )


def _check_flatten(value: Any, where: _Where) -> None:
    _validate_fields(
        value, where, (("separator", False, _string), ("value", True, _directive_or_raw))
    )


def _check_merge(value: Any, where: _Where) -> None:
    _validate_fields(
        value,
        where,
        (("direction", False, _one_of("left", "right")), ("objects", True, _array)),
    )
    for index, item in enumerate(value["objects"]):
        # mapping-kit validates these with an empty stack, so messages start at "/".
        _directive_or_object(item, _Where((), (*where.real, "objects", index)))


def _check_transform(value: Any, where: _Where) -> None:
    _validate_fields(
        value,
        where,
        (("apply", True, _directive_or_object), ("mapping", True, _directive_or_object)),
    )


def _check_jmespath(value: Any, where: _Where) -> None:
    _string(value, where)
    from cdpctl.mapping.jmespath_query import jmespath_syntax_error

    reason = jmespath_syntax_error(value)
    if reason is not None:
        raise _problem(where, f"is not a valid JMESPath expression: {reason}")


_DIRECTIVE_CHECKS: Final[dict[str, Check]] = {
    "@arrayPath": _check_array_path,
    "@case": _check_case,
    "@excludeWhenNull": _directive_or_raw,
    "@flatten": _check_flatten,
    "@if": _check_if,
    "@jmespath": _check_jmespath,
    "@json": _check_json,
    "@liquid": _string,
    "@literal": _directive_or_raw,
    "@merge": _check_merge,
    "@path": _directive_or_string,
    "@replace": _check_replace,
    "@template": _directive_or_string,
    "@transform": _check_transform,
}
