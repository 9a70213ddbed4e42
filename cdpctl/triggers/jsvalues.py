"""JavaScript value semantics that Segment's FQL matcher relies on (String(), Number(), a[k])."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.jsonwire import js_number_text as number_to_string

from .errors import TriggerEvaluationError


class _Sentinel:
    """A named singleton used where JavaScript has a value Python lacks."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: JavaScript ``undefined``: a missing property.
MISSING: Final = _Sentinel("MISSING")


@dataclass(frozen=True, slots=True)
class JSBuiltin:
    """A built-in reached via a prototype (``properties.items.map``): present, equal to nothing.

    ``length`` is the function's arity, or None for a prototype object such as Array.prototype.
    """

    name: str
    length: int | None = None


# Own function-valued properties of the built-in prototypes in Node 20 ("key=name/length").
_PROTOTYPE_METHODS: Final = {
    "Object": "__defineGetter__/2 __defineSetter__/2 __lookupGetter__/1 __lookupSetter__/1 "
    "constructor=Object/1 hasOwnProperty/1 isPrototypeOf/1 propertyIsEnumerable/1 "
    "toLocaleString/0 toString/0 valueOf/0",
    "Array": "at/1 concat/1 constructor=Array/1 copyWithin/2 entries/0 every/1 fill/1 filter/1 "
    "find/1 findIndex/1 findLast/1 findLastIndex/1 flat/0 flatMap/1 forEach/1 includes/1 "
    "indexOf/1 join/1 keys/0 lastIndexOf/1 map/1 pop/0 push/1 reduce/1 reduceRight/1 reverse/0 "
    "shift/0 slice/2 some/1 sort/1 splice/2 toLocaleString/0 toReversed/0 toSorted/1 "
    "toSpliced/2 toString/0 unshift/1 values/0 with/2",
    "String": "anchor/1 at/1 big/0 blink/0 bold/0 charAt/1 charCodeAt/1 codePointAt/1 concat/1 "
    "constructor=String/1 endsWith/1 fixed/0 fontcolor/1 fontsize/1 includes/1 indexOf/1 "
    "isWellFormed/0 italics/0 lastIndexOf/1 link/1 localeCompare/1 match/1 matchAll/1 "
    "normalize/0 padEnd/1 padStart/1 repeat/1 replace/2 replaceAll/2 search/1 slice/2 small/0 "
    "split/2 startsWith/1 strike/0 sub/0 substr/2 substring/2 sup/0 toLocaleLowerCase/0 "
    "toLocaleUpperCase/0 toLowerCase/0 toString/0 toUpperCase/0 toWellFormed/0 trim/0 trimEnd/0 "
    "trimLeft=trimStart/0 trimRight=trimEnd/0 trimStart/0 valueOf/0",
    "Number": "constructor=Number/1 toExponential/1 toFixed/1 toLocaleString/0 toPrecision/1 "
    "toString/1 valueOf/0",
    "Boolean": "constructor=Boolean/1 toString/0 valueOf/0",
    "Function": "apply/2 bind/1 call/1 constructor=Function/1 toString/0",
}


def _method_table(spec: str) -> dict[str, JSBuiltin]:
    table = {}
    for item in spec.split():
        key, _, arity = item.partition("/")
        key, _, name = key.partition("=")
        table[key] = JSBuiltin(name or key, int(arity))
    return table


_METHODS: Final = {kind: _method_table(spec) for kind, spec in _PROTOTYPE_METHODS.items()}
_PROTOTYPES: Final = {kind: JSBuiltin(f"{kind}.prototype") for kind in _PROTOTYPE_METHODS}
_PROTOTYPE_KIND: Final = {proto: kind for kind, proto in _PROTOTYPES.items()}
#: Names every plain JavaScript object answers through ``Object.prototype``.
OBJECT_PROTO_NAMES: Final = frozenset(_METHODS["Object"]) | {"__proto__"}


_JS_SPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL_RE: Final = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\Z")
_RADIX_RE: Final = re.compile(r"0(?:[xX](?P<x>[0-9a-fA-F]+)|[oO](?P<o>[0-7]+)|[bB](?P<b>[01]+))\Z")


def is_number(value: Any) -> bool:
    """``typeof value === 'number'`` for JSON-shaped Python values (bool is not a number)."""
    t = type(value)
    return t is float or t is int


def to_double(value: int | float) -> float:
    """The JavaScript double a JSON number becomes (huge integers round, overflow to ±inf)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def string_to_number(text: str) -> float:
    """``Number(text)`` for a string."""
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _DECIMAL_RE.match(text):
        return float(text)
    radix = _RADIX_RE.match(text)
    if radix:
        digits, base = next((v, b) for b, v in zip((16, 8, 2), radix.groups(), strict=True) if v)
        return to_double(int(digits, base))
    return math.nan


def to_number(value: Any) -> float:
    """``Number(value)`` for a JSON-shaped value (MISSING is undefined)."""
    if value is True:
        return 1.0
    if value is False or value is None:
        return 0.0
    if is_number(value):
        return to_double(value)
    if isinstance(value, str):
        return string_to_number(value)
    if isinstance(value, list):
        return string_to_number(to_string(value))
    return math.nan


def to_string(value: Any) -> str:
    """``String(value)`` for a JSON-shaped value (MISSING is undefined)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if is_number(value):
        return number_to_string(to_double(value))
    if isinstance(value, list):
        return ",".join("" if v is None or v is MISSING else to_string(v) for v in value)
    return "[object Object]"


def utf16_len(text: str) -> int:
    """``text.length`` in JavaScript (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _utf16_units(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def utf16_slice(text: str, start: int, stop: int | None = None) -> str:
    """``text.slice(start, stop)`` counting UTF-16 code units (may split a surrogate pair)."""
    if text.isascii():
        return text[start:stop]
    units = _utf16_units(text)
    count = len(units) // 2
    lo = max(count + start, 0) if start < 0 else min(start, count)
    hi = count if stop is None else (max(count + stop, 0) if stop < 0 else min(stop, count))
    return units[2 * lo : 2 * max(hi, lo)].decode("utf-16-le", "surrogatepass")


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds half a UTF-16 surrogate pair (``utf16_slice`` can make these)."""
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def utf16_contains(haystack: str, needle: str) -> bool:
    """``haystack.includes(needle)`` compared by UTF-16 code units."""
    units, wanted = _utf16_units(haystack), _utf16_units(needle)
    at = units.find(wanted)
    while at != -1 and at % 2:
        at = units.find(wanted, at + 1)
    return at != -1


def utf16_startswith(haystack: str, needle: str) -> bool:
    """``haystack.startsWith(needle)`` compared by UTF-16 code units."""
    return _utf16_units(haystack).startswith(_utf16_units(needle))


def utf16_endswith(haystack: str, needle: str) -> bool:
    """``haystack.endsWith(needle)`` compared by UTF-16 code units."""
    return _utf16_units(haystack).endswith(_utf16_units(needle))


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness for a JSON-shaped value."""
    if value is MISSING or value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if is_number(value):
        return value == value and value != 0
    return True


def _inherited(kind: str, key: str) -> Any:
    """``value[key]`` for a key the value itself lacks, found on its prototype chain."""
    found = _METHODS[kind].get(key) or _METHODS["Object"].get(key)
    if found is not None:
        return found
    return _PROTOTYPES[kind] if key == "__proto__" else MISSING


def _builtin_member(builtin: JSBuiltin, key: str) -> Any:
    kind = _PROTOTYPE_KIND.get(builtin)
    if kind is not None:  # a prototype object such as Array.prototype
        if key == "__proto__":
            return None if kind == "Object" else _PROTOTYPES["Object"]
        if key == "length" and kind in ("Array", "String", "Function"):
            return 0
        return _METHODS[kind].get(key) or _METHODS["Object"].get(key) or MISSING
    if key == "length":
        return builtin.length
    if key == "name":
        return builtin.name
    if key in ("arguments", "caller"):
        raise TriggerEvaluationError(
            f'Segment\'s matcher throws reading "{key}" of the built-in function {builtin.name}'
        )
    return _inherited("Function", key)


def member(obj: Any, key: str) -> Any:
    """One step of Segment's ``get()``: ``obj && obj[key]``, prototype properties included."""
    if type(obj) is dict:
        found = obj.get(key, MISSING)
        return _inherited("Object", key) if found is MISSING else found
    if not is_truthy(obj):
        return obj
    if isinstance(obj, list):
        index = _array_index(key)
        if index is not None:
            return obj[index] if index < len(obj) else MISSING
        return len(obj) if key == "length" else _inherited("Array", key)
    if isinstance(obj, str):
        index = _array_index(key)
        if index is not None:
            return utf16_slice(obj, index, index + 1) if index < utf16_len(obj) else MISSING
        return utf16_len(obj) if key == "length" else _inherited("String", key)
    if is_number(obj):
        return _inherited("Number", key)
    if obj is True:
        return _inherited("Boolean", key)
    if isinstance(obj, JSBuiltin):
        return _builtin_member(obj, key)
    if isinstance(obj, Mapping):
        found = obj.get(key, MISSING)
        return _inherited("Object", key) if found is MISSING else found
    return _inherited("Object", key)


_PATH_SEGMENT_RE: Final = re.compile(r"[^[.\]]+")


def split_path(path: str) -> tuple[str, ...] | None:
    """The keys Segment's ``get()`` walks for ``path`` (``a[0].b`` → a, 0, b); None if none."""
    keys = tuple(_PATH_SEGMENT_RE.findall(path))
    return keys or None
