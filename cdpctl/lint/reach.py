"""Which Segment calls a trigger can match, and why it can match none.

The trigger is expanded into its and-branches (disjunctive normal form). A branch is dead when
two of its conditions contradict each other, or when it needs a field that none of the call
types it allows carries (an identify event has no ``event``). Every verdict comes from running
the real condition predicates on small made-up events, so it agrees with Segment's matcher.
"""

from __future__ import annotations

import difflib
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from cdpctl.jsvalues import UNDEFINED
from cdpctl.lint.spec import CALL_TYPES, FQL_CARRIERS, MOVED
from cdpctl.triggers import Trigger
from cdpctl.triggers.compiler import compile_tree
from cdpctl.triggers.lookup import split_path
from cdpctl.triggers.model import PATH_ROOTS, TOP_LEVEL_FIELDS, Comparison, Group, Node, label

#: Beyond this many and-branches the analysis gives up (and reports nothing).
MAX_BRANCHES: Final = 256
ABSENT: Final = UNDEFINED


@dataclass(frozen=True, slots=True)
class Dead:
    """Why an and-branch can never match: a message, the condition at fault and a hint."""

    message: str
    column: int
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """The call types a trigger can match; `dead` says why when there are none."""

    types: frozenset[str]
    dead: Dead | None = None
    branches: int = 1

    @property
    def never(self) -> bool:
        return not self.types


def analyse(trigger: Trigger) -> Reach | None:
    """The reach of `trigger`, or None where it cannot be worked out (broken trees, operators
    Segment ignores, too many branches): the other checks report those."""
    branches = _branches(trigger.root)
    if not branches:
        return None
    types: set[str] = set()
    first_dead: Dead | None = None
    for branch in branches:
        possible, dead = _branch(branch)
        types |= possible
        if dead is not None and first_dead is None:
            first_dead = dead
    if types:
        return Reach(frozenset(types), branches=len(branches))
    return Reach(frozenset(), first_dead, len(branches))


def _branches(node: Node) -> list[tuple[Comparison, ...]] | None:
    if isinstance(node, Comparison):
        return [(node,)]
    if not isinstance(node, Group) or node.operator not in ("and", "or"):
        return None
    parts = []
    for child in node.children:
        part = _branches(child)
        if part is None:
            return None
        parts.append(part)
    if node.operator == "or":
        out = [branch for part in parts for branch in part]
    else:
        out = [()]
        for part in parts:
            out = [left + right for left in out for right in part]
            if len(out) > MAX_BRANCHES:
                return None
    return out if len(out) <= MAX_BRANCHES else None


@functools.lru_cache(maxsize=4096)
def _predicate(leaf: Comparison) -> Callable[[Any], bool]:
    return compile_tree(Group("and", (leaf,))).predicate


def _holds(leaf: Comparison, event: dict[str, Any]) -> bool:
    return _predicate(leaf)(event)


def _event(leaf: Comparison, value: Any) -> dict[str, Any] | None:
    """A minimal event whose field read by `leaf` is `value` (ABSENT: left out)."""
    if leaf.kind in TOP_LEVEL_FIELDS:
        key = TOP_LEVEL_FIELDS[leaf.kind]
        return {} if value is ABSENT else {key: value}
    if leaf.kind not in PATH_ROOTS or not isinstance(leaf.name, str):
        return None
    keys = split_path(leaf.name)
    if not keys:
        return None
    if value is ABSENT:
        return {}
    inner: Any = value
    for key in reversed(keys):
        inner = {key: inner}
    return {PATH_ROOTS[leaf.kind]: inner}


def _pins(leaf: Comparison) -> tuple[Any, ...]:
    """The only values the field can have when `leaf` holds (empty: many values)."""
    op = leaf.operator
    if op == "=" and isinstance(leaf.value, str):
        return (leaf.value,)
    if op == "number_equals" and isinstance(leaf.value, int | float) and leaf.value == leaf.value:
        return (leaf.value,)
    if op == "is_true":
        return (True,)
    if op == "is_false":
        return (False,)
    if op == "not_exists":
        return (None, ABSENT)
    return ()


def _field(leaf: Comparison) -> str:
    return leaf.field


def _root(leaf: Comparison) -> str:
    return leaf.field.split(".", 1)[0]


def _branch(branch: tuple[Comparison, ...]) -> tuple[set[str], Dead | None]:
    for leaf in branch:
        if leaf.field == "type" and leaf.operator == "=" and leaf.value not in CALL_TYPES:
            return set(), _unknown_type(leaf)
    dead = _contradiction(branch)
    if dead is not None:
        return set(), dead
    possible = set(CALL_TYPES)
    narrowed_by: list[Comparison] = []
    for leaf in branch:
        allowed = {t for t in CALL_TYPES if _allows(leaf, t)}
        if not allowed:
            return set(), Dead(f"no Segment call can satisfy {label(leaf)}", leaf.column)
        if possible & allowed:
            if allowed != set(CALL_TYPES):
                narrowed_by.append(leaf)
            possible &= allowed
            continue
        return set(), _no_common_type(leaf, allowed, possible, narrowed_by)
    return possible, None


def _allows(leaf: Comparison, call_type: str) -> bool:
    """Whether `leaf` can hold for some event of `call_type`."""
    if leaf.field == "type":
        return _holds(leaf, {"type": call_type})
    carriers = FQL_CARRIERS.get(_root(leaf))
    if carriers is None or call_type in carriers:
        return True
    return _holds(leaf, {"type": call_type})


def _contradiction(branch: tuple[Comparison, ...]) -> Dead | None:
    for anchor, other in itertools.permutations(branch, 2):
        if _field(anchor) != _field(other):
            continue
        pins = _pins(anchor)
        if not pins:
            continue
        rebuilt = [_event(anchor, value) for value in pins]
        events = [e for e in rebuilt if e is not None]
        if len(events) < len(rebuilt) or not all(_holds(anchor, e) for e in events):
            continue  # the field could not be rebuilt faithfully; say nothing
        if not any(_holds(other, e) for e in events):
            return Dead(f"{label(anchor)} and {label(other)} cannot both be true", other.column)
    return None


def _unknown_type(leaf: Comparison) -> Dead:
    value = str(leaf.value)
    lowered = [t for t in CALL_TYPES if t == value.lower().strip()]
    guess = lowered or difflib.get_close_matches(value.lower(), CALL_TYPES, n=1)
    hint = f'did you mean "{guess[0]}"?' if guess else "types: " + ", ".join(CALL_TYPES)
    return Dead(f'no Segment event has type "{value}"', leaf.column, hint)


def _names(types: set[str] | frozenset[str], conjunction: str = "and") -> str:
    ordered = [t for t in CALL_TYPES if t in types]
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + f" {conjunction} " + ordered[-1]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _no_common_type(
    leaf: Comparison, allowed: set[str], possible: set[str], narrowed_by: list[Comparison]
) -> Dead:
    root = _root(leaf)
    others = " and ".join(label(n) for n in narrowed_by)
    if leaf.field != "type" and all(n.field == "type" for n in narrowed_by):
        moved = {MOVED.get(root, {}).get(t) for t in possible}
        hint = None
        targets = [target for target in moved if target is not None]
        if len(moved) == 1 and targets:
            (target,) = targets
            rest = leaf.field.split(".", 1)[1:]
            hint = "use " + ".".join((*target, *rest)) + " in the trigger"
        return Dead(
            f'{_names(possible)} events have no "{root}" (only {_names(allowed)} events do), '
            f"so {label(leaf)} is never true",
            leaf.column,
            hint,
        )
    if leaf.field == "type":
        return Dead(
            f"{others} only matches {_names(possible, 'or')} events, so {label(leaf)} is never "
            "true",
            leaf.column,
        )
    wanted = _names(allowed, "or")
    return Dead(
        f"{others} only matches {_names(possible, 'or')} events, but {label(leaf)} needs "
        f"{_article(wanted)} {wanted} event",
        leaf.column,
    )
