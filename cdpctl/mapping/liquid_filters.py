"""liquidjs' versions of the Liquid filters whose results differ in python-liquid.

Imported only once a mapping uses ``@liquid`` (it imports python-liquid).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any, Final

from liquid.undefined import Undefined

from cdpctl.jsvalues import (
    UNDEFINED,
    js_to_string,
    js_trim,
    json_stringify,
    number_to_string,
    utf16_length,
    utf16_units,
)

_DECIMAL_LITERAL: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_RADIX_LITERAL: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_HTML_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_HTML_UNESCAPES: Final = {entity: char for char, entity in _HTML_ESCAPES.items()}
_HTML_SPECIALS: Final = re.compile("[&<>\"']")
_HTML_ENTITIES: Final = re.compile("&(?:amp|lt|gt|#34|#39);")


def output_text(value: Any) -> str:
    """liquidjs' ``stringify``: nothing for nil, arrays joined with no separator, JS numbers."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED or isinstance(value, Undefined):
        return ""
    if isinstance(value, (list, tuple)):
        return "".join(output_text(item) for item in value)
    if isinstance(value, Decimal):
        return number_to_string(float(value))
    if isinstance(value, (bool, int, float, dict)):
        return js_to_string(value)
    return str(value)


def _unary_plus(value: Any) -> float:
    """JavaScript ``+value``."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, (list, tuple)):
        value = js_to_string(list(value))
    if not isinstance(value, str):
        return math.nan
    text = js_trim(value)
    if not text:
        return 0.0
    if _DECIMAL_LITERAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if _RADIX_LITERAL.fullmatch(text):
        return float(int(text, 0))
    return math.nan


def to_number(value: Any) -> float:
    """liquidjs' ``toNumber``: ``+value || 0``, so nil, NaN and text that is no number are 0."""
    number = _unary_plus(value)
    return number if number == number and number != 0 else 0.0


def _numeric_filter(operation: Callable[..., float]) -> Callable[..., float]:
    """liquidjs' ``argumentsToNumber``: only the arguments given are converted."""

    def apply(*args: Any) -> float:
        return operation(*map(to_number, args))

    return apply


def _divide(left: float, right: float) -> float:
    if right == 0:
        if left == 0 or left != left:
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _remainder(left: float, right: float) -> float:
    """JavaScript ``%``."""
    if right == 0 or math.isinf(left) or left != left or right != right:
        return math.nan
    if math.isinf(right):
        return left
    return math.fmod(left, right)


def _js_round(number: float) -> float:
    """``Math.round``: halves go up."""
    if not math.isfinite(number) or abs(number) >= 2**52:
        return number
    return float(math.floor(number + 0.5))


def _integral(rounding: Callable[[float], int]) -> Callable[..., float]:
    def apply(number: float = math.nan) -> float:
        return number if not math.isfinite(number) else float(rounding(number))

    return apply


def _extreme(pick: Callable[..., float], empty: float) -> Callable[..., float]:
    """``Math.max``/``Math.min``: NaN if any argument is NaN."""

    def apply(*numbers: float) -> float:
        if any(number != number for number in numbers):
            return math.nan
        return pick(numbers) if numbers else empty

    return apply


def _divided_by(
    dividend: float = math.nan, divisor: float = math.nan, integer_arithmetic: float = 0.0
) -> float:
    quotient = _divide(dividend, divisor)
    return _integral(math.floor)(quotient) if integer_arithmetic else quotient


def _round(number: float = math.nan, digits: float = 0.0) -> float:
    try:
        amplifier = 10.0**digits
    except OverflowError:
        amplifier = math.inf
    # liquidjs nudges by one epsilon so that 1.005 rounds to 1.01.
    return _divide(_js_round(number * amplifier * (1 + 2**-52)), amplifier)


def _size(value: Any) -> int:
    """``(v && v.length) || 0``: objects and numbers have no length."""
    if isinstance(value, str):
        return utf16_length(value)
    if isinstance(value, (list, tuple)):
        return len(value)
    return 0


def _first(value: Any) -> Any:
    return _item(value, 0)


def _last(value: Any) -> Any:
    return _item(value, -1)


def _item(value: Any, index: int) -> Any:
    """``v[0]`` / ``v[v.length - 1]`` for arrays and strings (a UTF-16 unit), else nothing."""
    if isinstance(value, str):
        value = utf16_units(value)
    if isinstance(value, (list, tuple)) and value:
        return value[index]
    return ""


def _append(value: Any, suffix: Any = UNDEFINED) -> str:
    return output_text(value) + output_text(suffix)


def _prepend(value: Any, prefix: Any = UNDEFINED) -> str:
    return output_text(prefix) + output_text(value)


def _join(value: Any, separator: Any = " ") -> str:
    if not isinstance(value, (list, tuple)):
        return output_text(value)
    return output_text(separator).join(
        "" if item is None or isinstance(item, Undefined) else js_to_string(item) for item in value
    )


def _json(value: Any, *args: Any) -> str:
    result = UNDEFINED if isinstance(value, Undefined) else json_stringify(value)
    return "" if result is UNDEFINED else str(result)


def _escape(value: Any) -> str:
    return _HTML_SPECIALS.sub(lambda match: _HTML_ESCAPES[match.group()], output_text(value))


def _escape_once(value: Any) -> str:
    return _escape(
        _HTML_ENTITIES.sub(lambda match: _HTML_UNESCAPES[match.group()], output_text(value))
    )


# python-liquid's filters that take text, which liquidjs gets with `stringify(input)`: so
# `2.0 | upcase` is "2" and `true | capitalize` is "True" there, not "2.0" and "True".
STRING_INPUT_FILTERS: Final = (
    "base64_decode",
    "base64_encode",
    "base64_url_safe_decode",
    "base64_url_safe_encode",
    "capitalize",
    "downcase",
    "lstrip",
    "remove",
    "remove_first",
    "remove_last",
    "replace",
    "replace_first",
    "replace_last",
    "rstrip",
    "split",
    "strip",
    "strip_html",
    "strip_newlines",
    "truncate",
    "truncatewords",
    "upcase",
    "url_decode",
    "url_encode",
)


def with_liquidjs_text_input(filter_function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a python-liquid text filter its input stringified the way liquidjs does."""

    @wraps(filter_function)
    def apply(value: Any, *args: Any, **kwargs: Any) -> Any:
        return filter_function(output_text(value), *args, **kwargs)

    return apply


LIQUIDJS_FILTERS: Final[dict[str, Callable[..., Any]]] = {
    "abs": _numeric_filter(lambda number=math.nan: abs(number)),
    "append": _append,
    "at_least": _numeric_filter(_extreme(max, -math.inf)),
    "at_most": _numeric_filter(_extreme(min, math.inf)),
    "ceil": _numeric_filter(_integral(math.ceil)),
    "divided_by": _numeric_filter(_divided_by),
    "escape": _escape,
    "escape_once": _escape_once,
    "first": _first,
    "floor": _numeric_filter(_integral(math.floor)),
    "join": _join,
    "json": _json,
    "jsonify": _json,
    "last": _last,
    "minus": _numeric_filter(lambda left, right=math.nan: left - right),
    "modulo": _numeric_filter(
        lambda left, right=math.nan: _remainder(_remainder(left, right) + right, right)
    ),
    "plus": _numeric_filter(lambda left, right=math.nan: left + right),
    "prepend": _prepend,
    "round": _numeric_filter(_round),
    "size": _size,
    "times": _numeric_filter(lambda left, right=math.nan: left * right),
    "xml_escape": _escape,
}
