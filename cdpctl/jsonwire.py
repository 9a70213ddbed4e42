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

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic

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
    # `+` alone is found by memchr, several times faster than a two-byte search
    return (b"+" in text and b"e+" in text) or b"e-6" in text


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
    number are walked: a `.0`, or a run of 16 digits.

    Bounded for hostile input: nesting deeper than MAX_DEPTH, NaN/Infinity and numbers that are
    Infinity as a double (a 5,000-digit integer) raise JSONDecodeError, never RecursionError or
    ValueError. `read` is the same with a located one-line error for a named input."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    brackets, walk = scan(raw)
    if brackets > MAX_DEPTH:
        deep = _too_deep(raw)
        if deep is not None:
            raise JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", _text(data), deep)
    value = orjson.loads(data)
    return js_numbers(value) if walk else value


# 2^53 has 16 digits, so an unsafe integer holds a run of 16; digits become "0" so that one C
# substring search finds any run (a regex takes 5 times longer on a typical event). "[" becomes
# "{" so that one count finds the opening brackets, "E" becomes "e" and "+" goes, so that a
# positive exponent of three digits reads `0e000` however it is written: `bare(raw)` serves
# every check in one pass.
_SCAN = bytes.maketrans(b"123456789[E", b"000000000{e")
_SIXTEEN_ZEROS = b"0" * 16


def bare(raw: bytes) -> bytes:
    """`raw` with every digit "0", "[" "{", "E" "e", and no "+": what the cheap checks of a
    read (`scan`, `needs_js_numbers`) search."""
    return raw.translate(_SCAN, b"+")


def scan(raw: bytes) -> tuple[int, bool]:
    """The two cheap checks every read makes, in one pass over `raw`: how many opening
    brackets it holds (at most MAX_DEPTH: it cannot nest deeper than that), and whether its
    parsed value must go through `js_numbers`."""
    bare = raw.translate(_SCAN, b"+")
    return bare.count(b"{"), needs_js_numbers(raw, bare)


def needs_js_numbers(raw: bytes, bare: bytes) -> bool:
    """Whether `raw` (`bare` is `bare(raw)`) may hold an integral float like `25.0`
    or an integer beyond 2^53, which orjson and JavaScript read differently."""
    return _integral_float_hint(raw) or _SIXTEEN_ZEROS in bare


def js_numbers(value: Any) -> Any:
    """`value` (as orjson parsed it) with JavaScript's numbers: integral floats below 2^53
    become ints, integers beyond it the nearest double."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER else value
    if kind is int:
        return value if -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER else float(value)
    if kind is dict:
        return {key: js_numbers(item) for key, item in value.items()}
    if kind is list:
        return [js_numbers(item) for item in value]
    return value


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


JSONDecodeError = orjson.JSONDecodeError

# --- reading JSON from outside: the one reader ------------------------------------------------

MAX_DEPTH = 100  # nesting levels; real events, exports, plans and golden files use a handful
_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[{]|[\]}]', re.DOTALL)


def _text(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


def _too_deep(raw: bytes) -> int | None:
    """Where nesting first goes deeper than MAX_DEPTH (a character offset), or None. Cheap for
    ordinary texts: only one with that many brackets at all is scanned (outside strings)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return None
    depth = 0
    for found in _STRUCTURE.finditer(raw):
        char = raw[found.start()]
        if char in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                return len(raw[: found.start()].decode("utf-8", "replace"))
        elif char in b"]}":
            depth -= 1
    return None


class JSONInputError(ValueError):
    """Input that is not JSON cdpctl can read, located: `file:line:column: CDP109 message`."""

    def __init__(self, name: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{name}:{line}:{column}: {codes.JSON_SYNTAX} {message}")
        self.name = name
        self.line = line
        self.column = column
        self.message = message

    @property
    def diagnostic(self) -> Diagnostic:
        return Diagnostic(
            codes.JSON_SYNTAX, self.message, path=self.name, line=self.line, column=self.column
        )


_ORJSON_POSITION = re.compile(r": line \d+ column \d+ \(char \d+\)$")


def read(data: bytes | str, name: str, *, line: int = 1, column: int = 1) -> Any:
    """Every JSON cdpctl reads from outside (events, exports, webhooks, golden files, plans,
    sandbox bodies and state) goes through here: `loads` (JavaScript's numbers, bounded depth)
    with a located one-line error. `name` names the input; `line`/`column` say where `data`
    starts in it (a line of an NDJSON file)."""
    try:
        return loads(data)
    except JSONDecodeError as error:
        text = _text(data)
        position = min(max(error.pos, 0), len(text))
        at_line = text.count("\n", 0, position)
        start = text.rfind("\n", 0, position) + 1
        at_column = position - start + 1 + (column - 1 if at_line == 0 else 0)
        raise JSONInputError(
            name, line + at_line, at_column, _reason(error.msg, text, position)
        ) from None


def _reason(message: str, text: str, position: int) -> str:
    message = _ORJSON_POSITION.sub("", message)
    if message.startswith("number is infinity"):
        return (
            "number too large: JavaScript reads it as Infinity, which JSON cannot hold; "
            "write it as a string"
        )
    for word in ("NaN", "Infinity", "-Infinity"):
        if text.startswith(word, position):
            return f"{word} is not JSON; write null or a string"
    if message.startswith("nested deeper"):
        return message
    if message.startswith("recursion limit") or message.startswith("depth limit"):
        return f"nested deeper than {MAX_DEPTH} levels"
    return f"invalid JSON: {message}"
