"""JSON exactly as JavaScript's `JSON.stringify` writes it — the bytes Segment's runtime would send.

orjson already writes compact JSON with non-ASCII unescaped; the one difference is numbers:
JavaScript prints `42.0` as `42` and `1e21` as `1e+21`. Floats are rewritten only where they
occur, so payloads without floats are serialized by orjson alone.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import orjson

_MAX_SAFE_INTEGER = 2**53


def js_number_text(number: float) -> str:
    """`String(number)` in JavaScript (ECMA-262 Number::toString)."""
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


# orjson and JavaScript differ only on integral floats (`2.0` vs `2`) and exponents (`1e+16`
# vs `10000000000000000`). Integral floats are fixed in the bytes, skipping JSON strings; an
# exponent (or something inside a string that looks like one) takes the exact slow path.
_EXPONENT = re.compile(rb"\de[+-]\d")
_STRING_OR_INTEGRAL_FLOAT = re.compile(
    rb'("(?:[^"\\]|\\.)*")|(-?[1-9]\d*|0)\.0(?=[,}\]]|$)|-(0)\.0(?=[,}\]]|$)'
)


def dumps(value: Any) -> bytes:
    """Serialize like `JSON.stringify(value)`: compact, UTF-8, JavaScript number formatting."""
    text = orjson.dumps(value)
    if _EXPONENT.search(text) is not None:
        return orjson.dumps(_rewrite(value))
    if b".0" in text:
        text = _STRING_OR_INTEGRAL_FLOAT.sub(rb"\1\2\3", text)  # -0.0 becomes 0, as in JS
    return text


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
