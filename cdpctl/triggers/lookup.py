"""Property lookup as Segment's FQL matcher does it: ``get()`` walking ``obj && obj[key]``,
with what JavaScript's prototypes answer for keys a value lacks (``items.length``, ``map``).

Mirrors ``get`` of @segment/destination-subscriptions:
https://github.com/segmentio/action-destinations/blob/main/packages/destination-subscriptions/src/get.ts
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.jsvalues import UNDEFINED, is_number, js_truthy, utf16_length, utf16_slice

from .errors import TriggerEvaluationError


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


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _inherited(kind: str, key: str) -> Any:
    """``value[key]`` for a key the value itself lacks, found on its prototype chain."""
    found = _METHODS[kind].get(key) or _METHODS["Object"].get(key)
    if found is not None:
        return found
    return _PROTOTYPES[kind] if key == "__proto__" else UNDEFINED


def _builtin_member(builtin: JSBuiltin, key: str) -> Any:
    kind = _PROTOTYPE_KIND.get(builtin)
    if kind is not None:  # a prototype object such as Array.prototype
        if key == "__proto__":
            return None if kind == "Object" else _PROTOTYPES["Object"]
        if key == "length" and kind in ("Array", "String", "Function"):
            return 0
        return _METHODS[kind].get(key) or _METHODS["Object"].get(key) or UNDEFINED
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
        found = obj.get(key, UNDEFINED)
        return _inherited("Object", key) if found is UNDEFINED else found
    if not js_truthy(obj):
        return obj
    if isinstance(obj, list):
        index = _array_index(key)
        if index is not None:
            return obj[index] if index < len(obj) else UNDEFINED
        return len(obj) if key == "length" else _inherited("Array", key)
    if isinstance(obj, str):
        index = _array_index(key)
        if index is not None:
            return utf16_slice(obj, index, index + 1) if index < utf16_length(obj) else UNDEFINED
        return utf16_length(obj) if key == "length" else _inherited("String", key)
    if is_number(obj):
        return _inherited("Number", key)
    if obj is True:
        return _inherited("Boolean", key)
    if isinstance(obj, JSBuiltin):
        return _builtin_member(obj, key)
    if isinstance(obj, Mapping):
        found = obj.get(key, UNDEFINED)
        return _inherited("Object", key) if found is UNDEFINED else found
    return _inherited("Object", key)


_PATH_SEGMENT_RE: Final = re.compile(r"[^[.\]]+")


def split_path(path: str) -> tuple[str, ...] | None:
    """The keys Segment's ``get()`` walks for ``path`` (``a[0].b`` → a, 0, b); None if none."""
    keys = tuple(_PATH_SEGMENT_RE.findall(path))
    return keys or None
