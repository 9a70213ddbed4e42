"""Which of a plan's events a subscription trigger can match.

Each plan event stands for a representative Segment event: its call type, and its name where
the plan gives one (`event` for track calls, `name` for page and screen). Conditions on the
fields such an event pins down are evaluated by the real trigger predicate; every other
condition (`properties.total > 100`, `userId != null`) is taken as satisfiable. FQL has no
negation of a group, so this relaxation can only widen what matches: a plan event left out
truly cannot match.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from cdpctl import triggers
from cdpctl.events import EVENT_TYPES
from cdpctl.plans.model import PlanEvent, TrackingPlan
from cdpctl.triggers.compiler import compile_tree
from cdpctl.triggers.model import Broken, Comparison, Group, Node

_ALWAYS: Final = Group("and", ())
#: The fields a call type never carries, so a representative event pins them (as absent).
_ABSENT: Final = {
    "track": frozenset({"name"}),
    "page": frozenset({"event"}),
    "screen": frozenset({"event"}),
}


@dataclass(frozen=True, slots=True)
class Reach:
    """The plan events a trigger can match, and the call types it can match at all."""

    events: tuple[PlanEvent, ...]
    types: frozenset[str]


def reach(plan: TrackingPlan, trigger: triggers.Trigger) -> Reach | None:
    """What `trigger` can match in `plan`; None for a trigger that cannot be evaluated (a
    broken tree: other checks report it)."""
    if _broken(trigger.root):
        return None
    types = frozenset(t for t in EVENT_TYPES if _holds(trigger, _known(t, None), {"type": t}))
    events = tuple(
        event
        for event in plan.events
        if event.call_type in types
        and _holds(trigger, _known(event.call_type, event.name), _representative(event))
    )
    return Reach(events, types)


def named_conditions(trigger: triggers.Trigger) -> list[tuple[str, str, int]]:
    """(field, value, column) of each `event = "…"` / `name = "…"` condition."""
    return [
        (c.field, c.value, c.column)
        for c in triggers.conditions(trigger)
        if c.field in ("event", "name") and c.operator == "=" and isinstance(c.value, str)
    ]


def closest(word: str, candidates: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str | None:
    """The candidate `word` most likely meant: the same letters in another case or spelling
    (`OrderTotal`, `order-total`), then one name inside the other (`order_total` → `total`),
    then the most similar above `cutoff`."""
    if not candidates:
        return None
    folded = _fold(word)
    for candidate in candidates:
        if _fold(candidate) == folded:
            return candidate
    inside = [c for c in candidates if len(_fold(c)) >= 3 and _fold(c) in folded]
    inside += [c for c in candidates if len(folded) >= 3 and folded in _fold(c)]
    if inside:
        return max(inside, key=lambda c: difflib.SequenceMatcher(None, word, c).ratio())
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return found[0] if found else None


def _fold(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "").replace(" ", "")


def _known(call_type: str, name: str | None) -> frozenset[str]:
    known = {"type", *_ABSENT.get(call_type, {"event", "name"})}
    if name is not None:
        known.add("event" if call_type == "track" else "name")
    return frozenset(known)


def _representative(event: PlanEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": event.call_type}
    if event.name is not None and event.call_type in ("track", "page", "screen"):
        out["event" if event.call_type == "track" else "name"] = event.name
    return out


def _holds(trigger: triggers.Trigger, known: frozenset[str], event: dict[str, Any]) -> bool:
    return _relaxed_predicate(trigger, known)(event)


@functools.lru_cache(maxsize=1024)
def _relaxed_predicate(trigger: triggers.Trigger, known: frozenset[str]) -> Callable[[Any], bool]:
    return compile_tree(_relax(trigger.root, known)).predicate


def _relax(node: Node, known: frozenset[str]) -> Node:
    if isinstance(node, Comparison):
        return node if node.field in known else _ALWAYS
    if isinstance(node, Group):
        return Group(node.operator, tuple(_relax(child, known) for child in node.children))
    return node


def _broken(node: Node) -> bool:
    if isinstance(node, Broken):
        return True
    return isinstance(node, Group) and any(_broken(child) for child in node.children)
