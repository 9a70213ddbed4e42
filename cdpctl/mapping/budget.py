"""Budgets for expressions: how much one evaluation of a mapping may build.

A directive can build a value far larger than the event it reads: ``@template``'s second pass
expands placeholders that an inserted value brings along, ``@replace`` with ``$``` copies the
text before every match into every match, a JMESPath multiselect ``[@,@]`` doubles its input
each time it is chained, ``@flatten`` repeats each key's prefix in every leaf below it, and
``@arrayPath`` repeats its item shape once per item. Each of these checks the size of what it
is about to build *before* building it, against one budget, and refuses with
`BudgetExceeded` (a `MappingError`, so the event is judged invalid and the run goes on).

A value's size is the length of its JSON text in characters, escapes aside (`json_size`),
counting a shared sub-value every time it appears, since that is what would be serialised and
sent; a whole mapped payload is measured by serialising it (`check_mapped`).

The numbers: Segment accepts events of at most 32 KB (and 500 KB per batch,
https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size),
and the providers cdpctl sends to take requests of a few MB at most, so no event Segment
delivers, mapped by any mapping whose output a provider accepts, gets near these limits: they
are there only to turn a runaway expression into a located error instead of exhausting memory.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson

from cdpctl.diagnostics import format_json_path
from cdpctl.jsvalues import UNDEFINED
from cdpctl.mapping.problems import MappingError, PathKey

#: The most one directive may build: a string of this many characters, or a list or object
#: whose JSON text is this long. 30 times Segment's largest event.
MAX_VALUE_CHARS: Final = 1_000_000

#: The most one event's mapped payload may hold: its JSON text (UTF-8, escapes included) may be
#: four values at the limit.
MAX_EVENT_BYTES: Final = 4_000_000

#: The work one JMESPath evaluation may do: one unit per node visited plus the size of every
#: value it builds (multiselects, projections, slices, flattens, function results). A filter
#: of a dozen nodes over each item of a 100,000-item list fits (a Segment event has room for
#: a few thousand); it bounds the time one expression may take to about a second.
MAX_JMESPATH_WORK: Final = 2_000_000


class BudgetExceeded(MappingError):
    """A directive would build more than its budget allows. ``what`` names the directive (or
    "the mapped payload"), ``size`` is the size it would have reached (at least; measuring
    stops past the limit), ``limit`` the budget, ``field`` where in the mapped payload."""

    def __init__(
        self, what: str, size: int, limit: int, kind: str = "value", field: tuple[PathKey, ...] = ()
    ) -> None:
        self.what = what
        self.size = size
        self.limit = limit
        self.kind = kind
        self.field = field
        super().__init__(self.describe())

    def describe(self, *, located: bool = True) -> str:
        """The refusal in one line, with how far it would have gone; ``located=False`` leaves
        out the field (for a view that shows it on its own)."""
        reached = self.reached()
        return self.rule(located=located) + (f" ({reached})" if reached else "")

    def rule(self, *, located: bool = False) -> str:
        """Which budget it is, the same for every event it refuses (reports group by it)."""
        where = f" at {format_json_path(self.field)}" if self.field and located else ""
        if self.kind == "work":
            return (
                f"{self.what}{where} would take more than {self.limit:,} units of work, the "
                "budget for one JMESPath evaluation (a unit per node visited and per character "
                "built)"
            )
        if self.kind == "event":
            return (
                f"{self.what}{where} would be more than {self.limit:,} bytes of JSON, the budget "
                "for one event"
            )
        return (
            f"{self.what}{where} would build more than {self.limit:,} characters, the budget "
            "for one value"
        )

    def reached(self) -> str:
        """The size it would have reached at least, where measured ("" for work)."""
        if self.kind == "work":
            return ""
        unit = "bytes" if self.kind == "event" else "characters"
        return f"at least {self.size:,} {unit}"

    def at(self, key: PathKey) -> BudgetExceeded:
        """The same refusal, located one level further out (``key`` is the parent's key)."""
        return self.within((key,))

    def within(self, path: tuple[PathKey, ...]) -> BudgetExceeded:
        """The same refusal, located under ``path`` (the keys of the objects around it)."""
        return BudgetExceeded(self.what, self.size, self.limit, self.kind, (*path, *self.field))

    def __reduce__(self) -> Any:
        return _rebuild, (self.what, self.size, self.limit, self.kind, self.field)


def _rebuild(
    what: str, size: int, limit: int, kind: str, field: tuple[PathKey, ...]
) -> BudgetExceeded:
    return BudgetExceeded(what, size, limit, kind, field)


def check_value(what: str, size: int) -> None:
    """Refuse a value of ``size`` characters that ``what`` is about to build."""
    if size > MAX_VALUE_CHARS:
        raise BudgetExceeded(what, size, MAX_VALUE_CHARS)


def checked_text(what: str, text: str) -> str:
    """``text``, when it is within the value budget (for results at most a few times the size
    of something already checked, such as ``@case``'s)."""
    if len(text) > MAX_VALUE_CHARS:
        raise BudgetExceeded(what, len(text), MAX_VALUE_CHARS)
    return text


def check_built(what: str, value: Any) -> Any:
    """``value``, when its JSON text is within the value budget."""
    size = json_size(value, MAX_VALUE_CHARS)
    if size > MAX_VALUE_CHARS:
        raise BudgetExceeded(what, size, MAX_VALUE_CHARS)
    return value


def check_mapped(payload: Any) -> Any:
    """``payload`` (a whole mapped event), when its JSON text is within the event budget.

    Measured by serialising it (orjson, fast enough for every event): by now each value in it
    is either within the value budget or a value of the event itself, so the text is at most
    the size of the event times the number of places the mapping copies it. What orjson cannot
    write (integers past 64 bits, nesting past 254 levels) is measured by `json_size`."""
    try:
        size = len(orjson.dumps(payload, default=_undefined_as_null))
    except TypeError:  # orjson.JSONEncodeError included
        size = json_size(payload, MAX_EVENT_BYTES)
    if size > MAX_EVENT_BYTES:
        raise BudgetExceeded("the mapped payload", size, MAX_EVENT_BYTES, "event")
    return payload


def _undefined_as_null(value: Any) -> None:
    """An undefined array slot is sent as null (``JSON.stringify``); nothing else is expected."""
    if value is UNDEFINED:
        return None
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_size(value: Any, limit: int) -> int:
    """About the length of ``value``'s JSON text (escapes not counted, undefined object values
    left out, a shared sub-value counted each time), or some number over ``limit`` as soon as
    it is clear the text is longer: the walk never goes much past ``limit``."""
    total = 0
    stack = [value]
    pop = stack.pop
    push = stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            total += 2
            for key, child in item.items():
                key_size = (len(key) if type(key) is str else 8) + 4  # "key":,
                child_kind = type(child)
                if child_kind is str:
                    total += key_size + len(child) + 2
                elif child_kind is dict or child_kind is list or isinstance(child, (dict, list)):
                    total += key_size
                    push(child)
                elif child is not UNDEFINED:
                    total += key_size + _scalar_size(child)
        elif kind is str:
            total += len(item) + 2
        elif kind is list or kind is tuple:
            total += 2 + len(item)
            if total > limit:
                return total
            stack.extend(item)
        elif isinstance(item, dict):
            push(dict(item))
        elif isinstance(item, (list, tuple)):
            push(list(item))
        else:
            total += _scalar_size(item)
        if total > limit:
            return total
    return total


def _scalar_size(item: Any) -> int:
    kind = type(item)
    if kind is int:
        return len(str(item)) if -(10**15) < item < 10**15 else item.bit_length() // 3 + 2
    if kind is float:
        return len(repr(item)) if math.isfinite(item) else 4
    if isinstance(item, str):
        return len(item) + 2
    return 4  # null, true, false, undefined (null in an array)
