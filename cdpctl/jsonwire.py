"""JSON exactly as JavaScript's `JSON.stringify` writes it — the bytes Segment's runtime would send.

orjson already writes compact JSON with non-ASCII unescaped; the one difference is numbers:
JavaScript prints `42.0` as `42` and `1e21` as `1e+21`. Values are rewritten only when orjson's
output shows such a number, so ordinary payloads are serialized by orjson alone.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import orjson

_MAX_SAFE_INTEGER = 2**53


def js_number_text(number: float) -> str:
    """`String(number)` in JavaScript (ECMA-262 Number::toString); the one implementation the
    mapping engine, the trigger matcher and the serializer share."""
    if type(number) is int and -_MAX_SAFE_INTEGER < number < _MAX_SAFE_INTEGER:
        return str(number)
    number = float(number)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if n > 0 else '-'}{abs(n - 1)}"


def _rewrite(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        if math.isnan(value) or math.isinf(value):
            return None  # JSON.stringify writes null for NaN and ±Infinity
        if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER:
            return int(value)
        return orjson.Fragment(js_number_text(value).encode())
    if kind is dict:
        return {key: _rewrite(item) for key, item in value.items()}
    if kind is list:
        return [_rewrite(item) for item in value]
    return value


# orjson and JavaScript differ only on integral floats (`2.0` vs `2`) and on exponents: orjson
# writes `1e+16`..`1e+20` and `1e-6` where JavaScript writes plain digits. Cheap scans rule both
# out for almost every text; otherwise the value is rewritten exactly (a hit inside a string
# merely costs that slow path).
_POINT_ZEROS = re.compile(rb"\.0+(?:[,}\]]|\Z)")  # starts with a literal: a fast C scan


def _integral_float_hint(text: bytes) -> bool:
    """Whether `text` may hold a number like `25.0` or `3.00` (a digit, `.0…`, then a
    delimiter or the end)."""
    search = _POINT_ZEROS.search
    found = search(text)
    while found is not None:
        at = found.start()
        if at and 48 <= text[at - 1] <= 57:  # a digit before the point
            return True
        found = search(text, found.end())
    return False


def _exponent_hint(text: bytes) -> bool:
    return b"e+" in text or b"e-6" in text


def dumps(value: Any) -> bytes:
    """Serialize like `JSON.stringify(value)`: compact, UTF-8, JavaScript number formatting."""
    text = orjson.dumps(value)
    if _integral_float_hint(text) or _exponent_hint(text):
        return orjson.dumps(_rewrite(value))
    return text


def loads(data: bytes | str) -> Any:
    """Parse JSON as JavaScript's `JSON.parse` does: every number is a double. `25.0` is the
    number 25 (an int here; orjson gives a float) and `9007199254740993`, beyond 2^53, is the
    nearest double, 9007199254740992 (orjson keeps it exact). Only texts that may hold such a
    number are walked: a `.0`, or a run of 16 digits."""
    value = orjson.loads(data)
    raw = data.encode() if isinstance(data, str) else data
    if _integral_float_hint(raw) or _SIXTEEN_ZEROS in raw.translate(_DIGITS_AS_ZERO):
        return _js_numbers(value)
    return value


# 2^53 has 16 digits, so an unsafe integer holds a run of 16; digits become "0" so that one C
# substring search finds any run (a regex takes 5 times longer on a typical event).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_ZEROS = b"0" * 16


def _js_numbers(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER else value
    if kind is int:
        return value if -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER else float(value)
    if kind is dict:
        return {key: _js_numbers(item) for key, item in value.items()}
    if kind is list:
        return [_js_numbers(item) for item in value]
    return value


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


JSONDecodeError = orjson.JSONDecodeError
