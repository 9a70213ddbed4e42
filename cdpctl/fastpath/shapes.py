"""How an action's request body is built from its payload, declared for the fast path.

Keyed by (provider, action) so provider modules stay as they are; every entry is built from
the provider module's own facts and functions (key orders, consent rule, builders, limits),
and tests/test_fastpath.py checks each declared shape against the action's real plan, body for
body, over every fixture.

A `Shape` lists the message's keys in order: `Pick` copies a payload field when present,
`Always` an object field or `{}` (with fields laid over it), `Derived` applies a rule to a
field's value (UNDEFINED when absent), `Fixed` a constant, `Nested` an object of entries.
`Built` hands the cleaned payload to the provider's own message builder instead. Either way,
the action sends one JSON request whose body is the message, checked against `max_bytes`,
and only when one of `needs_one_of` is truthy (else the event takes the ordinary path, which
explains the error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdpctl.jsvalues import UNDEFINED
from cdpctl.providers import segment


@dataclass(frozen=True, slots=True)
class Pick:
    key: str
    field: str


@dataclass(frozen=True, slots=True)
class Always:
    key: str
    field: str
    overlay: tuple[tuple[str, str], ...] = ()  # (key, field): set when the field is present


@dataclass(frozen=True, slots=True)
class Derived:
    key: str
    field: str
    rule: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Fixed:
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Nested:
    key: str
    entries: tuple[Entry, ...]


Entry = Pick | Always | Derived | Fixed | Nested


@dataclass(frozen=True, slots=True)
class Shape:
    entries: tuple[Entry, ...]
    max_bytes: int
    needs_one_of: tuple[str, ...]
    usable: Callable[[Mapping[str, Any]], bool]  # settings under which the plan sends it


@dataclass(frozen=True, slots=True)
class Built:
    build: Callable[[Mapping[str, Any]], dict[str, Any]]
    max_bytes: int
    needs_one_of: tuple[str, ...]
    usable: Callable[[Mapping[str, Any]], bool]


MessageShape = Shape | Built


# --- Segment ---------------------------------------------------------------------------------


def _segment_consent(value: Any) -> dict[str, Any]:
    return segment.context_consent({} if value is UNDEFINED else {"consent": value})


def _segment_usable(settings: Mapping[str, Any]) -> bool:
    return settings.get("endpoint", segment.DEFAULT_REGION) in segment.REGIONS


def _segment_context(*, traits: bool = False, skip: tuple[str, ...] = ()) -> Nested:
    entries: list[Entry] = [Always("traits", "traits")] if traits else []
    for key, field in segment._CONTEXT_KEYS:
        if key in skip:
            continue
        entries.append(
            Derived(key, field, _segment_consent) if key == "consent" else Pick(key, field)
        )
    return Nested("context", tuple(entries))


def _segment_head(*middle: tuple[str, str]) -> tuple[Entry, ...]:
    return tuple(Pick(key, field) for key, field in (*segment._IDS, *middle))


def _segment(entries: tuple[Entry, ...]) -> Shape:
    return Shape(entries, segment.MAX_EVENT_BYTES, ("user_id", "anonymous_id"), _segment_usable)


def _segment_built(kind: str) -> Built:
    return Built(
        segment.BUILDERS[kind],
        segment.MAX_EVENT_BYTES,
        ("user_id", "anonymous_id"),
        _segment_usable,
    )


SHAPES: dict[tuple[str, str], MessageShape] = {
    ("segment", "sendIdentify"): _segment(
        (
            *_segment_head(("timestamp", "timestamp"), ("messageId", "message_id")),
            _segment_context(),
            Always("traits", "traits", overlay=(("address", "address"),)),
            Fixed("type", "identify"),
        )
    ),
    ("segment", "sendTrack"): _segment(
        (
            *_segment_head(
                ("timestamp", "timestamp"), ("event", "event_name"), ("messageId", "message_id")
            ),
            _segment_context(traits=True),
            Always("properties", "properties"),
            Fixed("type", "track"),
        )
    ),
    ("segment", "sendGroup"): _segment(
        (
            *_segment_head(
                ("groupId", "group_id"), ("timestamp", "timestamp"), ("messageId", "message_id")
            ),
            _segment_context(skip=("groupId",)),
            Always("traits", "traits"),
            Fixed("type", "group"),
        )
    ),
    ("segment", "sendPage"): _segment_built("page"),
    ("segment", "sendScreen"): _segment_built("screen"),
}


def shape_of(provider: str, action: str) -> MessageShape | None:
    return SHAPES.get((provider, action))
