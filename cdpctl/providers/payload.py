"""What Segment's framework does between mapping and request: clean, coerce, then validate.

Order (as `@segment/actions-core` does it): top-level `""` and disallowed `null` values are
removed, values are coerced to the field's type where JSON Schema's coercion would (number →
string, `"true"` → boolean, numeric string → number), then required fields, types, enums,
formats and lengths are checked. Formats use real libraries: email-validator (no DNS) and
phonenumbers (E.164).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic
from cdpctl.jsonwire import js_number_text
from cdpctl.jsvalues import string_to_number
from cdpctl.providers.base import Action, Field, FieldType, Format

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_E164_SHAPE = re.compile(r"^\+[1-9]\d{1,14}$")
E164_HINT = "prefix with the international dialling code, e.g. +447000000001"


def prepare(
    action: Action, payload: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Clean and coerce a mapped payload, returning it with every problem found. One
    generated function per action serves any payload (no compiling per event): keys that are
    not fields of the action are dropped first, and the rest are cleaned in place."""
    fields = _compiled(action).fields
    own = {key: value for key, value in payload.items() if key in fields}
    return preparer(action, action.field_names)(own, settings)


#: Cleans a mapped payload *in place* and returns it with every problem found.
Preparer = Callable[[dict[str, Any], Mapping[str, Any]], tuple[dict[str, Any], list[Diagnostic]]]


@lru_cache(maxsize=1024)
def preparer(action: Action, keys: tuple[str, ...]) -> Preparer:
    """`prepare` for payloads whose keys are some of `keys`, in that order (a compiled
    mapping's fields), working on a payload the caller owns: one function generated from the
    action's field rules.

    Per key: removed when not a field of the action (Segment's schema removes it), `null`
    where the field does not allow it, or `""` (Segment's removeEmptyValues); else coerced and
    checked by the field's compiled rule. A value already of one of the types a plain field
    takes as it is (`_AS_IS`) skips both: its coercion would leave it and its check pass it.
    Only when something is wrong are the problems worked out, in field order."""
    rules = _compiled(action)
    names: dict[str, Any] = {"M": _ABSENT, "report": partial(_report, rules, action.check)}
    if action.check is not None:
        names["check"] = action.check
    lines = ["def prepare(payload, settings):", "    bad = []"]
    for number, key in enumerate(keys):
        rule = rules.fields.get(key)
        if rule is None:
            lines.append(f"    payload.pop({key!r}, None)")
            continue
        value = f"v{number}"
        keep_null = "pass" if rule.allow_null else f"del payload[{key!r}]"
        lines += [
            f"    {value} = payload.get({key!r}, M)",
            f"    if {value} is M: pass",
            f"    elif {value} is None: {keep_null}",
            f"    elif {value} == '': del payload[{key!r}]",
        ]
        check = []
        if rule.coerce is not None:
            names[f"coerce{number}"] = rule.coerce
            check.append(f"{value} = payload[{key!r}] = coerce{number}({value})")
        if rule.valid is not None:
            names[f"valid{number}"] = rule.valid
            check.append(f"if not valid{number}({value}): bad.append({key!r})")
        as_is = _AS_IS.get(rule.spec.type) if _plain(rule.spec) else None
        if not check:
            continue
        if as_is is not None:  # the common case: nothing to coerce or check
            test = " and ".join(f"type({value}) is not {kind.__name__}" for kind in as_is)
            lines.append(f"    elif {test}:")
        else:
            lines.append("    else:")
        lines += ["        " + line for line in check]
    missing = [f"{name!r} not in payload" for name in rules.required if name in keys]
    if any(name not in keys for name in rules.required):
        missing = ["True"]  # a required field the mapping never writes
    lines.append(f"    if {' or '.join(['bad', *missing])}:")
    lines.append("        return payload, report(payload, bad, settings)")
    lines.append(
        "    return payload, check(payload, settings)" if action.check else "    return payload, []"
    )
    namespace = dict(names)
    exec(compile("\n".join(lines) + "\n", f"<prepare {action.name}>", "exec"), namespace)
    generated: Preparer = namespace["prepare"]
    return generated


def _report(
    rules: _CompiledAction,
    check: Callable[[dict[str, Any], Mapping[str, Any]], list[Diagnostic]] | None,
    cleaned: dict[str, Any],
    bad: list[str],
    settings: Mapping[str, Any],
) -> list[Diagnostic]:
    """Every problem of a payload with an invalid or a missing required field, in field order;
    the action's check only when the fields found none (its rules assume a payload they
    accept)."""
    errors: list[Diagnostic] = []
    for compiled in rules.ordered:
        name = compiled.spec.name
        if name not in cleaned:
            if compiled.spec.required:
                errors.append(_missing(compiled.spec))
        elif name in bad:
            errors.extend(check_value(compiled.spec, cleaned[name], (name,)))
    if not errors and check is not None:
        return check(cleaned, settings)
    return errors


_ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "<absent>"})()


class _Unknown:
    """A part of a mapped value only an event can tell (what a directive yields)."""

    def __repr__(self) -> str:
        return "<from the event>"


#: Stands for a directive inside a literal handed to `literal_problems`.
UNKNOWN: Any = _Unknown()


def literal_problems(action: Action, name: str, value: Any) -> list[Diagnostic]:
    """What `prepare` reports about field `name` for *every* event when the mapping writes the
    literal `value` there (`validate` runs this without an event). Parts of `value` that are
    UNKNOWN (directives inside an object or array) pass; every literal part goes through the
    same compiled coercion and checks as `prepare`: one implementation of each rule."""
    compiled = _compiled(action).fields.get(name)
    if compiled is None or value is UNKNOWN:
        return []
    spec = compiled.spec
    if value is None or value == "":  # kept only as an allowed null; else dropped as `prepare` does
        if value is None and compiled.allow_null:
            return []
        return [_missing(spec)] if spec.required else []
    if not _has_unknown(value):
        if compiled.coerce is not None:
            value = compiled.coerce(value)
        if compiled.valid is None or compiled.valid(value):
            return []
        return check_value(spec, value, (name,))
    return _part_problems(spec, value, (name,))


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if type(value) is dict:
        return any(_has_unknown(item) for item in value.values())
    if type(value) is list:
        return any(_has_unknown(item) for item in value)
    return False


def _literal_part(spec: Field, value: Any, path: tuple[str | int, ...]) -> list[Diagnostic]:
    """A value inside an object field, conformed as `_pruner` conforms it, then checked."""
    if _has_unknown(value):
        return _part_problems(spec, value, path)
    conform = _pruner(spec) or _coercer(spec)
    return check_value(spec, value if conform is None else conform(value), path)


def _part_problems(spec: Field, value: Any, path: tuple[str | int, ...]) -> list[Diagnostic]:
    """The literal parts of an object or array value that also holds UNKNOWN parts."""
    if spec.multiple and type(value) is list:
        item_spec = replace(spec, multiple=False)
        errors: list[Diagnostic] = []
        for index, item in enumerate(value):
            if item is UNKNOWN or item is None:
                continue
            if spec.type is FieldType.OBJECT and spec.properties:
                errors.extend(_literal_part(item_spec, item, (*path, index)))
            elif not _empty(spec, item) and not _has_unknown(item):
                errors.extend(_check_scalar(spec, _coerce_scalar(spec.type, item), (*path, index)))
        return errors
    if spec.type is FieldType.OBJECT and spec.properties and type(value) is dict:
        children = {child.name: child for child in spec.properties}
        errors = []
        for key, item in value.items():
            child = children.get(key)
            if child is None or item is UNKNOWN or item is None:
                continue  # stripped, only an event tells, or removed / an allowed null
            if item == "" and child.type not in (FieldType.STRING, FieldType.ANY):
                continue  # removeEmptyValues
            errors.extend(_literal_part(child, item, (*path, key)))
        return errors
    return []


def _missing(spec: Field) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_MISSING_FIELD,
        f"missing the required field '{spec.name}'",
        json_path=(spec.name,),
        hint=f"map '{spec.name}' ({spec.title}) to a value present in the event",
    )


@dataclass(frozen=True, slots=True, eq=False)
class _CompiledField:
    spec: Field
    coerce: Callable[[Any], Any] | None
    valid: Callable[[Any], bool] | None  # a fast yes (None: anything goes); on no,
    # `check_value` explains why
    allow_null: bool


@dataclass(frozen=True, slots=True)
class _CompiledAction:
    fields: dict[str, _CompiledField]
    ordered: tuple[_CompiledField, ...]
    required: tuple[str, ...]


@lru_cache(maxsize=256)
def _compiled(action: Action) -> _CompiledAction:
    compiled = tuple(
        _CompiledField(
            spec,
            _pruner(spec) or _coercer(spec),
            _fast_validator(spec),
            spec.allow_null,
        )
        for spec in action.fields
    )
    required = tuple(spec.name for spec in action.fields if spec.required)
    return _CompiledAction({c.spec.name: c for c in compiled}, compiled, required)


def _pruner(spec: Field) -> Callable[[Any], Any] | None:
    """For an object field with declared properties: its value as Segment's runtime leaves it
    inside — undeclared keys stripped (ajv `removeAdditional` with `additionalProperties:
    false`), a declared key's null (unless it allows null) or "" (unless it is a string or
    untyped) removed (`removeEmptyValues`), and declared values coerced to their type (ajv
    `coerceTypes: "array"`). Other values pass as they are; the validation step reports them."""
    if spec.type is not FieldType.OBJECT or not spec.properties:
        return None
    children = {
        child.name: (
            _pruner(child) or _coercer(child),
            child.allow_null,
            child.type not in (FieldType.STRING, FieldType.ANY),  # drops ""
        )
        for child in spec.properties
    }
    keep_all = spec.additional_properties

    def prune(value: Any) -> Any:
        if type(value) is list and len(value) == 1 and type(value[0]) is dict:
            value = value[0]  # ajv unwraps a one-element array
        if not isinstance(value, dict):
            return value
        pruned = {}
        for key, item in value.items():
            child = children.get(key)
            if child is None:
                if keep_all:
                    pruned[key] = item
                continue
            conform, allow_null, drops_blank = child
            if item is None:
                if allow_null:
                    pruned[key] = None
            elif not (drops_blank and item == ""):
                pruned[key] = item if conform is None else conform(item)
        return pruned

    if spec.multiple:
        return lambda value: (
            [prune(item) for item in value if item is not None]
            if isinstance(value, list)
            else value
        )
    return prune


def _coercer(spec: Field) -> Callable[[Any], Any] | None:
    """Field coercion with a no-op fast path for values already of the right type."""
    if spec.type not in _NATIVE:
        return None
    if spec.multiple:
        return partial(coerce, spec)
    native = _NATIVE[spec.type]
    slow = partial(_coerce_scalar, spec.type)
    return lambda value: value if type(value) in native else slow(value)


#: The types a field of each plain type takes as they are: coercion leaves them and the
#: type check passes them (`preparer` skips both for them).
_AS_IS: dict[FieldType, tuple[type, ...]] = {
    FieldType.STRING: (str,),
    FieldType.BOOLEAN: (bool,),
    FieldType.NUMBER: (int, float),
    FieldType.INTEGER: (int,),
    FieldType.OBJECT: (dict,),
}
#: Coerced types (an object is never coerced, only pruned when it declares properties).
_NATIVE = {kind: types for kind, types in _AS_IS.items() if kind is not FieldType.OBJECT}


def _is_one_of(types: tuple[type, ...]) -> Callable[[Any], bool]:
    return lambda value: type(value) in types


_QUICK_TYPE_CHECKS = {kind: _is_one_of(types) for kind, types in _AS_IS.items()}


def _plain(spec: Field) -> bool:
    """A field whose only rule is its type."""
    return (
        spec.type in _AS_IS
        and not spec.multiple
        and spec.enum is None
        and spec.format is None
        and spec.max_length is None
        and spec.minimum is None
        and spec.maximum is None
        and not spec.properties
    )


def _fast_validator(spec: Field) -> Callable[[Any], bool] | None:
    """A predicate that is True only when `check_value` would find nothing (cheap path): the
    field's rules as one expression, compiled once."""
    names: dict[str, Any] = {}
    test = _valid_expression(spec, "value", names)
    if test is None:
        return None
    predicate: Callable[[Any], bool] = eval(f"lambda value: {test}", names)
    return predicate


def _valid_expression(spec: Field, value: str, names: dict[str, Any]) -> str | None:
    """An expression over `value` (a variable or a subscript) true only when `check_value`
    finds nothing; None when anything goes. Objects the caller's `names` must hold are bound
    there."""
    if spec.type is FieldType.ANY and not (spec.enum or spec.multiple or spec.properties):
        return None
    item = "item" if spec.multiple else value

    def bind(thing: Any) -> str:
        name = f"_r{len(names)}"
        names[name] = thing
        return name

    as_is = _AS_IS.get(spec.type)
    if as_is is not None:
        checks = [f"type({item}) in {bind(as_is)}"]
    else:
        checks = [f"{bind(partial(_type_ok, spec.type))}({item})"]
    if spec.enum is not None:
        checks.append(f"{item} in {bind(spec.enum)}")
    if spec.type is FieldType.DATETIME:
        checks.append(f"(type({item}) is not str or {bind(is_iso8601)}({item}))")
    if spec.max_length is not None:
        checks.append(f"(type({item}) is not str or len({item}) <= {spec.max_length})")
    if spec.format is not None:
        problem = bind(partial(format_problem, spec.format))
        checks.append(f"(type({item}) is not str or {problem}({item}) is None)")
    if spec.minimum is not None or spec.maximum is not None:
        checks.append(f"not {bind(partial(_check_scalar, spec))}({item}, ())")
    for child in spec.properties:
        held = f"{item}[{child.name!r}]"
        child_test = _valid_expression(child, held, names)
        if child.required:
            checks.append(
                f"{child.name!r} in {item}" + (f" and {child_test}" if child_test else "")
            )
        elif child_test is not None:
            checks.append(f"({child.name!r} not in {item} or {child_test})")
    one = " and ".join(f"({check})" for check in checks)
    if spec.multiple:
        one = f"(type({value}) is list and all({one} for item in {value}))"
    return f"({value} is None or {one})" if spec.allow_null else one


def coerce(spec: Field, value: Any) -> Any:
    """`value` coerced to the field's type as ajv's `coerceTypes: "array"` does; a value it
    cannot coerce comes back as it is, for the validation step to report."""
    if spec.multiple:
        if type(value) is list:
            return [_coerce_scalar(spec.type, item) for item in value if not _empty(spec, item)]
        if value is None or type(value) in _SCALARS:
            return [_coerce_scalar(spec.type, value)]  # ajv wraps a scalar in an array
        return value
    return _coerce_scalar(spec.type, value)


_SCALARS = (str, int, float, bool)


def _empty(spec: Field, value: Any) -> bool:
    """Whether `removeEmptyValues` drops this value below the top level: null, or "" where the
    field is neither a string nor untyped."""
    return value is None or (value == "" and spec.type not in (FieldType.STRING, FieldType.ANY))


def _coerce_scalar(kind: FieldType, value: Any) -> Any:
    if kind not in _NATIVE or type(value) in _NATIVE[kind]:
        return value
    if type(value) is list and len(value) == 1:  # ajv unwraps a one-element array
        item = value[0]
        if type(item) in _NATIVE[kind]:
            return item
        coerced = _coerce_to(kind, item)
        return value if coerced is _NOT_COERCED else coerced
    coerced = _coerce_to(kind, value)
    return value if coerced is _NOT_COERCED else coerced


_NOT_COERCED: Any = object()


def _coerce_to(kind: FieldType, value: Any) -> Any:
    """ajv's coercion of a value of another type (its `coerceData`), or _NOT_COERCED."""
    value_type = type(value)
    if kind is FieldType.STRING:
        if value_type is bool:
            return "true" if value else "false"
        if value_type is int or value_type is float:
            return js_number_text(value)
        return "" if value is None else _NOT_COERCED
    if kind is FieldType.BOOLEAN:
        if value == "false" or value is None or (value_type in (int, float) and value == 0):
            return False
        if value == "true" or (value_type in (int, float) and value == 1):
            return True
        return _NOT_COERCED
    # NUMBER and INTEGER: `+value` of a boolean, null or numeric string
    if value_type is bool or value is None:
        return int(bool(value))
    if value_type is str and value:
        number = string_to_number(value)
        if math.isnan(number) or (kind is FieldType.INTEGER and not number.is_integer()):
            return _NOT_COERCED
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return _NOT_COERCED


_TYPE_NAMES = {
    FieldType.STRING: "a string",
    FieldType.NUMBER: "a number",
    FieldType.INTEGER: "an integer",
    FieldType.BOOLEAN: "true or false",
    FieldType.OBJECT: "an object",
    FieldType.DATETIME: "an ISO-8601 date-time string or an epoch number",
    FieldType.ANY: "any value",
}


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_value(spec: Field, value: Any, path: tuple[str | int, ...]) -> list[Diagnostic]:
    """Type, enum, format and length checks of one field value."""
    if value is None and spec.allow_null:
        return []
    if spec.multiple:
        if not isinstance(value, list):
            return [_wrong_type(spec, value, path, "an array of " + _TYPE_NAMES[spec.type])]
        errors: list[Diagnostic] = []
        for index, item in enumerate(value):
            errors.extend(_check_scalar(spec, item, (*path, index)))
        return errors
    return _check_scalar(spec, value, path)


def _wrong_type(spec: Field, value: Any, path: tuple[str | int, ...], expected: str) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_WRONG_TYPE,
        f"'{spec.name}' must be {expected}, got {describe(value)}",
        json_path=path,
    )


def _type_ok(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.ANY:
        return True
    if kind is FieldType.STRING:
        return isinstance(value, str)
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is FieldType.OBJECT:
        return isinstance(value, dict)
    if kind is FieldType.DATETIME:
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    return False


def _check_scalar(spec: Field, value: Any, path: tuple[str | int, ...]) -> list[Diagnostic]:
    if not _type_ok(spec.type, value):
        return [_wrong_type(spec, value, path, _TYPE_NAMES[spec.type])]
    errors: list[Diagnostic] = []
    if spec.enum is not None and value not in spec.enum:
        allowed = ", ".join(repr(v) if not isinstance(v, str) else f'"{v}"' for v in spec.enum)
        errors.append(
            Diagnostic(
                codes.PAYLOAD_NOT_ALLOWED, f"'{spec.name}' must be one of {allowed}", json_path=path
            )
        )
    if spec.type is FieldType.DATETIME and isinstance(value, str) and not is_iso8601(value):
        errors.append(
            Diagnostic(
                codes.PAYLOAD_BAD_FORMAT,
                f"'{spec.name}' is not an ISO-8601 date-time: \"{value}\"",
                json_path=path,
                hint="use e.g. 2024-05-17T09:30:00Z or 2024-05-17",
            )
        )
    if isinstance(value, str):
        if spec.max_length is not None and len(value) > spec.max_length:
            errors.append(
                Diagnostic(
                    codes.PAYLOAD_TOO_LONG,
                    f"'{spec.name}' is {len(value)} characters; the provider accepts at most "
                    f"{spec.max_length}",
                    json_path=path,
                )
            )
        if spec.format is not None:
            problem = format_problem(spec.format, value)
            if problem is not None:
                message, hint = problem
                errors.append(
                    Diagnostic(
                        codes.PAYLOAD_BAD_FORMAT,
                        f"'{spec.name}' {message}",
                        json_path=path,
                        hint=hint,
                    )
                )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            errors.append(
                Diagnostic(
                    codes.PAYLOAD_NOT_ALLOWED,
                    f"'{spec.name}' must be ≥ {spec.minimum}",
                    json_path=path,
                )
            )
        if spec.maximum is not None and value > spec.maximum:
            errors.append(
                Diagnostic(
                    codes.PAYLOAD_NOT_ALLOWED,
                    f"'{spec.name}' must be ≤ {spec.maximum}",
                    json_path=path,
                )
            )
    if spec.type is FieldType.OBJECT and spec.properties:
        for child in spec.properties:
            if child.name in value:
                errors.extend(check_value(child, value[child.name], (*path, child.name)))
            elif child.required:
                errors.append(
                    Diagnostic(
                        codes.PAYLOAD_MISSING_FIELD,
                        f"'{spec.name}' is missing the required key '{child.name}'",
                        json_path=(*path, child.name),
                    )
                )
    return errors


def format_problem(kind: Format, value: str) -> tuple[str, str | None] | None:
    """None when `value` satisfies the format, else (message, hint)."""
    if kind is Format.EMAIL:
        return _email_problem(value)
    if kind is Format.E164:
        return e164_problem(value)
    if kind is Format.DATE_TIME:
        if is_iso8601(value):
            return None
        return (f'is not an ISO-8601 date-time: "{value}"', "use e.g. 2024-05-17T09:30:00Z")
    if kind is Format.URI:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", value):
            return None
        return (f'is not a URI: "{value}"', "use an absolute URL such as https://example.com/")
    if kind is Format.HOSTNAME:
        if re.match(r"^[A-Za-z0-9.-]+$", value):
            return None
        return (f'is not a host name: "{value}"', None)
    return None


# Segment's rule: actions-core validates `format: email` with ajv-formats' "full" email pattern
# (ajv-formats 2.1.1, formats.js). What it accepts is sent, what it refuses drops the event; a
# non-ASCII address (`jöe@example.com`) is refused.
AJV_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _email_problem(value: str) -> tuple[str, str | None] | None:
    """Segment's verdict (AJV_EMAIL); email-validator only explains a refusal in words."""
    if AJV_EMAIL.match(value):
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return (f'is not a valid email address: "{value}" ({exc})', None)
    return (
        f'is not an email address Segment accepts: "{value}"',
        "Segment allows ASCII letters, digits and !#$%&'*+/=?^_`{|}~.- before the @ and a "
        "dotted ASCII domain (international addresses are refused)",
    )


@lru_cache(maxsize=4096)
def e164_problem(value: str) -> tuple[str, str | None] | None:
    """E.164 check with the phonenumbers library: `+`, country code, number; nothing else."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return (f'is not an E.164 phone number: "{value}"', E164_HINT)
    if not phonenumbers.is_valid_number(parsed):
        return (f'is not a valid phone number: "{value}"', "check the digits and the country code")
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != value or not _E164_SHAPE.match(value):
        return (f'is not in E.164 form: "{value}"', f"write it as {canonical}")
    return None


def is_iso8601(value: str) -> bool:
    if _DATE_ONLY.match(value):
        candidate = value
    elif len(value) >= 16 and value[10] in "Tt ":
        candidate = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    else:
        return False
    try:
        datetime.fromisoformat(candidate)
    except ValueError:
        return False
    return True
