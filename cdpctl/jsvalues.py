"""JavaScript values in Python: the one model the mapping engine and the trigger matcher share.

Segment runs mapping-kit (``@segment/actions-core``) and the FQL matcher
(``@segment/destination-subscriptions``) in JavaScript, where every number is a double and a
missing property is ``undefined``. JSON-shaped Python values stand for JavaScript ones here:
``None`` is ``null``, ``UNDEFINED`` is ``undefined``, ``int`` and ``float`` are both numbers
(an ``int`` beyond 2**53 stands for the double it rounds to), lists are arrays, dicts objects.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from cdpctl.jsonwire import js_number_text


class _Undefined:
    """JavaScript ``undefined`` (a missing property): falsy, distinct from ``None`` (``null``)."""

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
_DECIMAL_RE: Final = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\Z")
_RADIX_RE: Final = re.compile(r"0(?:[xX](?P<x>[0-9a-fA-F]+)|[oO](?P<o>[0-7]+)|[bB](?P<b>[01]+))\Z")
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
    """``Boolean(value)``: only false, 0, -0, NaN, "", null and undefined are falsy.

    Mirrors JavaScript's ToBoolean, which both mapping-kit's ``@if`` and the FQL matcher's
    ``get()`` rely on:
    https://tc39.es/ecma262/#sec-toboolean
    """
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


def is_number(value: Any) -> bool:
    """``typeof value === 'number'`` (a bool is not a number)."""
    kind = type(value)
    return kind is float or kind is int


def to_double(value: int | float) -> float:
    """The JavaScript double a number stands for (huge integers round, overflow to ±Infinity)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_to_string(value: int | float) -> str:
    """``String(number)`` (Number::toString) of the double ``value`` stands for.

    https://tc39.es/ecma262/#sec-numeric-types-number-tostring — an ``int`` beyond the double
    range is ``Infinity`` in JavaScript, so it prints as such rather than failing.
    """
    if type(value) is int and not -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER:
        return js_number_text(to_double(value))
    return js_number_text(value)


def js_to_string(value: Any) -> str:
    """``String(value)``: arrays join with commas (null and undefined items as ""), objects are
    ``[object Object]``, numbers print as the double they stand for.

    The one conversion both callers use: mapping-kit's ``@template`` (``String.prototype.replace``
    turns the looked-up value into a string) and ``@replace`` (``String(value)``) in
    https://github.com/segmentio/action-destinations/blob/main/packages/core/src/mapping-kit/placeholders.ts
    and .../mapping-kit/index.ts, and the FQL matcher's ``actual === String(expected)`` and
    ``actual.includes(String(expected))`` in
    https://github.com/segmentio/action-destinations/blob/main/packages/destination-subscriptions/src/validate.ts
    Both run JavaScript's ToString (https://tc39.es/ecma262/#sec-tostring).
    """
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
    if isinstance(value, str):
        return str(value)
    if kind is list:
        return ",".join("" if is_nullish(item) else js_to_string(item) for item in value)
    return "[object Object]"


def string_to_number(text: str) -> float:
    """``Number(text)`` for a string: StringToNumber (https://tc39.es/ecma262/#sec-stringtonumber)
    — trimmed, "" is 0, decimal, ``Infinity`` and 0x/0o/0b literals, anything else NaN."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0.0
    if _DECIMAL_RE.match(text):
        return float(text)
    radix = _RADIX_RE.match(text)
    if radix:
        digits, base = next((v, b) for b, v in zip((16, 8, 2), radix.groups(), strict=True) if v)
        return to_double(int(digits, base))
    return math.nan


def js_to_number(value: Any) -> float:
    """``Number(value)``: ToNumber (https://tc39.es/ecma262/#sec-tonumber), as the FQL matcher's
    ``Number(actual) === Number(expected)`` uses it in
    https://github.com/segmentio/action-destinations/blob/main/packages/destination-subscriptions/src/validate.ts
    """
    if value is True:
        return 1.0
    if value is False or value is None:
        return 0.0
    if is_number(value):
        return to_double(value)
    if isinstance(value, str):
        return string_to_number(value)
    if isinstance(value, list):
        return string_to_number(js_to_string(value))
    return math.nan


def js_trim(text: str) -> str:
    """``String.prototype.trim()`` (JavaScript's whitespace set, not Python's)."""
    return text.strip(_JS_WHITESPACE)


def utf16_length(text: str) -> int:
    """``string.length``: JavaScript counts UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(_utf16_bytes(text)) // 2


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


def utf16_slice(text: str, start: int, stop: int | None = None) -> str:
    """``text.slice(start, stop)`` counting UTF-16 code units (may split a surrogate pair)."""
    if text.isascii():
        return text[start:stop]
    units = _utf16_bytes(text)
    count = len(units) // 2
    lo = max(count + start, 0) if start < 0 else min(start, count)
    hi = count if stop is None else (max(count + stop, 0) if stop < 0 else min(stop, count))
    return units[2 * lo : 2 * max(hi, lo)].decode("utf-16-le", "surrogatepass")


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds half a UTF-16 surrogate pair (``utf16_slice`` can make these)."""
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def utf16_contains(haystack: str, needle: str) -> bool:
    """``haystack.includes(needle)`` compared by UTF-16 code units."""
    units, wanted = _utf16_bytes(haystack), _utf16_bytes(needle)
    at = units.find(wanted)
    while at != -1 and at % 2:
        at = units.find(wanted, at + 1)
    return at != -1


def utf16_startswith(haystack: str, needle: str) -> bool:
    """``haystack.startsWith(needle)`` compared by UTF-16 code units."""
    return _utf16_bytes(haystack).startswith(_utf16_bytes(needle))


def utf16_endswith(haystack: str, needle: str) -> bool:
    """``haystack.endsWith(needle)`` compared by UTF-16 code units."""
    return _utf16_bytes(haystack).endswith(_utf16_bytes(needle))


def _utf16_bytes(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


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
        out.append(number_to_string(value) if math.isfinite(to_double(value)) else "null")
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
