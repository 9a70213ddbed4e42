"""Which top-level keys of an event a dry run reads: its projection.

A mapping reads a few paths of a ~1 KB event. From a compiled destination — each
subscription's trigger and effective mapping — `event_keys` derives the top-level event keys
that judging can read, so a reader may decode just those (`cdpctl.delivery.sources`). Every
key's value is still decoded whole: a mapping reading `$.traits.email` gets all of `traits`.

Anything the analysis cannot bound means "the whole event" (None): a mapping that reads the
root (`$` or `{{.}}`), a root directive, `@liquid`, `@transform`, a `@path` or `@template`
computed at run time, a `{{{triple}}}` placeholder (its inserted text is expanded again), a
JMESPath expression that applies to `@` itself, or a directive this module does not know.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypedDict

import jmespath
import msgspec
import orjson
from jmespath.exceptions import JMESPathError

from cdpctl import triggers
from cdpctl.jsvalues import js_trim
from cdpctl.mapping.paths import parse_path, strip_root
from cdpctl.mapping.templates import reexpanding_placeholder
from cdpctl.mapping.validator import is_directive_key
from cdpctl.triggers.model import PATH_ROOTS, TOP_LEVEL_FIELDS, Comparison, Group

#: What every record needs whatever the mapping: `type` (every record is checked to be a
#: Segment event) and `deadLetter` (a dead-letter record is unwrapped, so it is read whole).
ALWAYS = frozenset({"type", "deadLetter"})

Keys = frozenset[str] | None  # None: the whole event


# A `{{path}}` placeholder, as actions-core's `render` (and cdpctl.mapping.templates) finds it.
_PLACEHOLDER = re.compile(r"\{\{([^}]+)\}\}")


class _Whole(Exception):
    """The analysis cannot bound what is read."""


def event_keys(subscriptions: Iterable[tuple[str, Any]], extra: Iterable[str] = ()) -> Keys:
    """The top-level keys judging `subscriptions` — (trigger text, effective mapping) pairs —
    can read, with `extra` (what the run itself reads: `timestamp` for --since) and ALWAYS;
    None when that cannot be bounded."""
    keys: set[str] = set(ALWAYS) | set(extra)
    try:
        for trigger, mapping in subscriptions:
            keys |= trigger_keys(trigger)
            keys |= mapping_keys(mapping)
    except _Whole:
        return None
    return frozenset(keys)


def trigger_keys(trigger: str) -> set[str]:
    """The top-level keys an FQL trigger reads (a trigger that does not parse reads all)."""
    try:
        parsed = triggers.parse(trigger)
    except triggers.TriggerSyntaxError:
        raise _Whole from None
    keys: set[str] = set()
    pending = [parsed.root]
    while pending:
        node = pending.pop()
        if isinstance(node, Group):
            pending.extend(node.children)
        elif isinstance(node, Comparison) and isinstance(node.kind, str):
            if node.kind in TOP_LEVEL_FIELDS:
                keys.add(TOP_LEVEL_FIELDS[node.kind])
            elif node.kind in PATH_ROOTS:
                keys.add(PATH_ROOTS[node.kind])
        # other leaves (Broken, Invalid, ignored kinds) read nothing
    return keys


def mapping_keys(mapping: Any) -> set[str]:
    """The top-level keys a mapping (as `CompiledSubscription.mapping` holds it) reads."""
    if isinstance(mapping, dict) and "__segment_internal_directive" in mapping:
        raise _Whole
    if isinstance(mapping, dict) and _is_directive(mapping):
        raise _Whole  # a directive at the root is applied to the whole event
    return _node_keys(mapping)


def _is_directive(node: dict[Any, Any]) -> bool:
    has = False
    for key in node:
        if is_directive_key(key):
            has = True
        elif key != "_metadata":
            return False
    return has


# Directives whose arguments are mapping nodes applied to the event itself: what they read is
# what their arguments read.
_OVER_ARGUMENTS = frozenset(
    {"@case", "@excludeWhenNull", "@flatten", "@if", "@json", "@literal", "@merge", "@replace"}
)


def _node_keys(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_node_keys, node))
    if not isinstance(node, dict):
        return set()
    if not _is_directive(node):
        return set().union(*map(_node_keys, node.values()))
    name = next(key for key in node if is_directive_key(key))
    argument = node[name]
    if name == "@path":
        if not isinstance(argument, str):
            raise _Whole
        return _path_keys(strip_root(argument))
    if name == "@template":
        if not isinstance(argument, str) or reexpanding_placeholder(argument):
            raise _Whole
        keys: set[str] = set()
        for found in _PLACEHOLDER.finditer(argument):
            keys |= _path_keys(js_trim(found.group(1)))
        return keys
    if name == "@arrayPath":
        if not isinstance(argument, list) or not argument:
            return set()  # fails the same way on any event
        path = argument[0]
        # the item shape reads the items, which are decoded whole with their key
        return _path_keys(strip_root(path)) if isinstance(path, str) else _node_keys(path)
    if name == "@jmespath":
        if not isinstance(argument, str):
            return set()  # fails the same way on any event
        try:
            tree = jmespath.compile(argument).parsed
        except JMESPathError:
            return set()
        return _jmespath_keys(tree)
    if name in _OVER_ARGUMENTS:
        return _node_keys(argument)
    raise _Whole  # @liquid, @transform, or a directive not known here


def _path_keys(path: str) -> set[str]:
    keys = parse_path(path)
    if not keys:
        raise _Whole  # the whole payload
    return {keys[0]}


# JMESPath nodes whose first child is evaluated against the current value and the rest
# against what it gives (relative, so they read nothing of the event's top level).
_LEFT_THEN_RELATIVE = frozenset(
    {
        "subexpression",
        "index_expression",
        "projection",
        "value_projection",
        "filter_projection",
        "pipe",
        "flatten",
    }
)
# Nodes whose children are all evaluated against the current value.
_OVER_CHILDREN = frozenset(
    {
        "or_expression",
        "and_expression",
        "not_expression",
        "comparator",
        "multi_select_list",
        "multi_select_dict",
        "key_val_pair",
        "function_expression",
    }
)
_READS_NOTHING = frozenset({"literal", "index", "slice", "expref"})


def _jmespath_keys(node: dict[str, Any]) -> set[str]:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        return {node["value"]}
    if kind in _READS_NOTHING:
        return set()  # an expref is applied to items another argument gives
    if kind in _LEFT_THEN_RELATIVE:
        if kind == "filter_projection":
            # [left, right, condition]: right and condition apply to left's items
            return _jmespath_keys(children[0])
        return _jmespath_keys(children[0]) if children else set()
    if kind in _OVER_CHILDREN:
        return set().union(*map(_jmespath_keys, children))
    raise _Whole  # `@` (current/identity) or a node not known here


# --- decoding just those keys ------------------------------------------------------------------

TRIAL = 512  # records timed both ways before a run settles on one


class ProjectedDecoder:
    """Decodes the projected keys of a line and skips the rest without building it (msgspec
    decodes into a TypedDict of those keys; their values are decoded whole, as `Any`).

    Exactness first: the event it returns holds, for each projected key the line has, exactly
    what `jsonwire.loads` gives. msgspec checks what it skips less strictly than orjson (invalid
    UTF-8, an exponent too large for a double), so such lines are declined, as is any line
    msgspec refuses: the caller then decodes it whole and reports it as `parse` does.

    Whether it pays depends on the mapping: for one that reads the large objects of every
    event (`context`, `properties`, `traits`), skipping the rest saves less than the checks
    above cost. So the first TRIAL records are decoded both ways and timed,
    and the run goes on with the faster. `projected` counts the records decoded projected.
    """

    def __init__(self, keys: frozenset[str]) -> None:
        # A TypedDict decodes straight into a dict of the keys present, in the line's order,
        # a repeated key keeping its first place and its last value, as orjson's dict does.
        keys = keys | ALWAYS  # the checks every record gets read these
        fields = dict.fromkeys(sorted(keys), Any)
        shape = TypedDict("Projection", fields, total=False)  # type: ignore[misc]
        decoder: Any = msgspec.json.Decoder(shape)
        self.keys = keys
        self._decode: Callable[[bytes], dict[str, Any]] = decoder.decode
        self.projected = 0  # records decoded projected; the others were decoded whole
        self.trial = TRIAL  # lines still to time both ways; 0 once settled
        self.enabled = True
        self._costs = [0, 0]  # nanoseconds: projected, whole

    def decode(self, data: bytes, bare: bytes) -> dict[str, Any] | None:
        """The line's projected keys, or None: decode it whole. Timed against the whole
        decode for the first TRIAL lines; then this method is `_project` itself."""
        self.trial -= 1
        clock = time.perf_counter_ns
        whole_first = self.trial % 2 == 1  # in turns: the second finds the line in the cache
        whole = 0
        if whole_first:
            started = clock()
            whole = _whole_cost(data, clock)
        started = clock()
        event = self._project(data, bare)
        projected = clock() - started
        if not whole_first:
            whole = _whole_cost(data, clock)
        # a declined line costs its checks and then the whole decode all the same
        self._costs[0] += projected + (whole if event is None else 0)
        self._costs[1] += whole
        if not self.trial:
            self.settle(self._costs[0] < self._costs[1])
        return event

    def settle(self, project: bool) -> None:
        """End the trial: decode projected from now on, or (False) whole."""
        self.trial = 0
        self.enabled = project
        self.decode = self._project  # type: ignore[method-assign]

    def _project(self, data: bytes, bare: bytes) -> dict[str, Any] | None:
        # Only what msgspec reads as orjson does, skipped parts included: valid UTF-8 (Python's
        # strict decoder is as strict as orjson's), and no positive exponent of three digits
        # (`1e400` is Infinity: orjson refuses it, msgspec skips it). A longer mantissa holds
        # a run of 16 digits: such a line is decoded whole anyway (jsonwire.needs_js_numbers).
        if not data.isascii():
            try:
                data.decode()
            except UnicodeDecodeError:
                return None
        if _EXPONENT(bare) is not None and _huge_exponent(bare):
            return None
        try:
            event: dict[str, Any] = self._decode(data)
        except (msgspec.DecodeError, RecursionError):
            return None
        self.projected += 1
        return event


def _whole_cost(data: bytes, clock: Callable[[], int]) -> int:
    """Nanoseconds orjson takes to decode `data` whole."""
    started = clock()
    try:  # noqa: SIM105 — contextlib.suppress would add its own cost to what is timed
        orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    return clock() - started


_BEFORE_VALUE = frozenset(b":,{ \t\r\n")  # what precedes a value (in `bare`, "[" is "{")


def _huge_exponent(bare: bytes) -> bool:
    """Whether a number in the line may have a positive exponent of three digits or more:
    `0e000` in `bare` that is the end of a number token (digits, a point, a sign back to
    where a value starts). Inside an id (`a3e123` reads `a0e000`) it is not; inside a string
    that looks like a number (`": 1e400"`) it counts, which only sends the line to the whole
    decode."""
    found = _EXPONENT(bare)
    while found is not None:
        start = found.start()
        while start and bare[start - 1] in b"0.":
            start -= 1
        if start and bare[start - 1] == 0x2D:  # "-"
            start -= 1
        if not start or bare[start - 1] in _BEFORE_VALUE:
            return True
        found = _EXPONENT(bare, found.start() + 1)
    return False


# Three exponent digits or more, then what ends a number. Ids in strings (`"…a3e123b…"`) do
# not match it, so the token check above rarely runs.
_EXPONENT = re.compile(rb"0e000+(?:[,}\] \t\r\n]|\Z)").search
