"""The JavaScript value semantics mapping-kit relies on: undefined, truthiness, String(), JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from cdpctl.jsonwire import js_number_text as number_to_string


class _Undefined:
    """JavaScript ``undefined``: falsy, distinct from ``None`` (JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Pickles (e.g. to worker processes) as a reference to the module-level singleton.
        return "UNDEFINED"

    def __copy__(self) -> _Undefined:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Undefined:
        return self


UNDEFINED: Final = _Undefined()

_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_MAX_ARRAY_INDEX: Final = 4294967295
_MAX_SAFE_INTEGER: Final = 2**53
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_quote_json_string: Final = json.encoder.encode_basestring


def js_type(value: Any) -> str:
    """mapping-kit's ``realTypeOf``: ``typeof`` that tells null and arrays apart."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def js_typeof(value: Any) -> str:
    """The ``typeof`` operator (``null`` and arrays are ``"object"``)."""
    kind = js_type(value)
    return "object" if kind in ("null", "array") else kind


def js_truthy(value: Any) -> bool:
    """``Boolean(value)``: only false, 0, NaN, "", null and undefined are falsy."""
    if value is None or value is UNDEFINED:
        return False
    kind = type(value)
    if kind is bool:
        return value
    if kind is str:
        return value != ""
    if kind is int:
        return value != 0
    if kind is float:
        return value == value and value != 0.0
    return True


def is_nullish(value: Any) -> bool:
    """``value == null``."""
    return value is None or value is UNDEFINED


def loosely_equals_empty_string(value: Any) -> bool:
    """``value == ''`` for a non-nullish value (so ``0``, ``false`` and ``[]`` are equal to it)."""
    kind = type(value)
    if kind is str:
        return value == ""
    if kind is bool:
        return not value
    if kind is int or kind is float:
        return value == 0
    if kind is list:
        return js_to_string(value) == ""
    return False


def js_to_string(value: Any) -> str:
    """``String(value)``: arrays join with commas, objects are ``[object Object]``."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return number_to_string(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if kind is list:
        return ",".join("" if is_nullish(item) else js_to_string(item) for item in value)
    return "[object Object]"


def js_trim(text: str) -> str:
    """``String.prototype.trim()`` (JavaScript's whitespace set, not Python's)."""
    return text.strip(_JS_WHITESPACE)


def utf16_length(text: str) -> int:
    """``string.length``: JavaScript counts UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_units(text: str) -> list[str]:
    """The string's UTF-16 code units, as JavaScript indexes and spreads it."""
    if text.isascii() or max(text) <= "\uffff":
        return list(text)
    units: list[str] = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(char)
    return units


def is_array_index(key: Any) -> bool:
    """Whether ``key`` is a canonical array index (``"0"``, ``"12"``, not ``"01"`` or ``"-1"``)."""
    return (
        type(key) is str
        and key.isascii()
        and key.isdigit()
        and (key == "0" or key[0] != "0")
        and int(key) < _MAX_ARRAY_INDEX
    )


def own_keys(obj: dict[Any, Any]) -> list[Any]:
    """``Object.keys`` order: integer-like keys ascending, then the rest in insertion order."""
    index_keys = [key for key in obj if is_array_index(key)]
    if not index_keys:
        return list(obj)
    index_keys.sort(key=int)
    return index_keys + [key for key in obj if not is_array_index(key)]


def spread(value: Any) -> dict[str, Any]:
    """``{...value}``: arrays and strings become index-keyed objects, other primitives ``{}``."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    if isinstance(value, str):
        return {str(index): unit for index, unit in enumerate(utf16_units(value))}
    return {}


def json_stringify(value: Any) -> Any:
    """``JSON.stringify(value)``; ``UNDEFINED`` in, ``UNDEFINED`` out."""
    if value is UNDEFINED:
        return UNDEFINED
    parts: list[str] = []
    _write_json(value, parts)
    return "".join(parts)


def _write_json(value: Any, out: list[str]) -> None:
    kind = type(value)
    if isinstance(value, str):
        out.append(_quote(value))
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int or kind is float:
        out.append(number_to_string(value) if math.isfinite(value) else "null")
    elif value is None:
        out.append("null")
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            if item is UNDEFINED:
                out.append("null")
            else:
                _write_json(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key in own_keys(value):
            item = value[key]
            if item is UNDEFINED:
                continue
            if not first:
                out.append(",")
            first = False
            out.append(_quote(str(key)))
            out.append(":")
            _write_json(item, out)
        out.append("}")
    else:
        out.append(_quote(js_to_string(value)))


def _quote(text: str) -> str:
    quoted = _quote_json_string(text)
    if _LONE_SURROGATE.search(quoted):
        quoted = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)
    return quoted


def _reject_non_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json_integer(text: str) -> int | float:
    # JavaScript has no integers beyond 2**53, only (rounded) doubles.
    number = int(text)
    return number if -_MAX_SAFE_INTEGER < number < _MAX_SAFE_INTEGER else float(number)


_JSON_DECODER: Final = json.JSONDecoder(
    parse_constant=_reject_non_json_constant, parse_int=_parse_json_integer
)


def json_parse(text: str) -> Any:
    """``JSON.parse(text)``; raises ``ValueError`` where JavaScript throws ``SyntaxError``."""
    return _JSON_DECODER.decode(text)
