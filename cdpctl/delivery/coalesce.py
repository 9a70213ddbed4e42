"""--coalesce-identify: one identify per user for a backfill, its traits merged in time order.

A backfill that replays every identify upserts each contact once per identify; the last
upsert wins anyway. Coalescing keeps one identify per user — the latest (by `timestamp`, then
by reading order; an identify without a valid timestamp counts as older than any with one) —
with the traits of all of them merged as if applied in that order (a trait's last value wins;
traits keep the order they first appeared in). The user is the `userId`, else the
`anonymousId`; identifies with neither pass through untouched, as do all other event types, in
their order. The merged identifies follow all other events (a user's identifies are only known
once everything is read); `ReplayStats.identifies_merged` counts the identifies folded away.

Memory: one `Fold` per user (the latest identify and the merged traits). The local engine
keeps them in a dict until the archive ends; the Dask engine folds each partition, shuffles the
folds by user (a Dask groupby) and merges each user's folds on one worker.
`merge` is associative and commutative, so any grouping gives the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cdpctl import jsonwire
from cdpctl.delivery.engine import parse_timestamp
from cdpctl.delivery.locations import Location, Origin
from cdpctl.delivery.sources import Record
from cdpctl.delivery.stats import ReplayStats

# (timestamp or none, reading order): older first; no timestamp sorts before any timestamp.
Order = tuple[tuple[()] | tuple[datetime], Location]


@dataclass(frozen=True, slots=True)
class Trait:
    first: tuple[Order, int]  # the first identify that set it (and the trait's position there)
    last: Order  # the last identify that set it …
    value: Any  # … and the value it set


@dataclass(frozen=True, slots=True)
class Fold:
    """Some identifies of one user, merged."""

    order: Order  # of the latest one
    event: dict[str, Any]  # the latest one
    traits: dict[str, Trait]
    count: int  # identifies folded in


def user_key(event: dict[str, Any]) -> str | None:
    """The user an identify belongs to, or None when the event is not coalesced."""
    if event.get("type") != "identify":
        return None
    for field, prefix in (("userId", "u:"), ("anonymousId", "a:")):
        value = event.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return prefix + str(value)
    return None


def fold_of(record: Record) -> Fold:
    event = record.event
    stamp = parse_timestamp(event.get("timestamp"))
    order: Order = ((stamp,) if stamp is not None else (), record.where)
    traits = event.get("traits")
    slots = (
        {name: Trait((order, i), order, value) for i, (name, value) in enumerate(traits.items())}
        if isinstance(traits, dict)
        else {}
    )
    return Fold(order, event, slots, 1)


def merge(a: Fold, b: Fold) -> Fold:
    latest = a if a.order >= b.order else b
    traits = dict(a.traits)
    for name, theirs in b.traits.items():
        ours = traits.get(name)
        if ours is None:
            traits[name] = theirs
            continue
        last = ours if ours.last >= theirs.last else theirs
        traits[name] = Trait(min(ours.first, theirs.first), last.last, last.value)
    return Fold(latest.order, latest.event, traits, a.count + b.count)


def add(folds: dict[str, Fold], key: str, fold: Fold) -> None:
    known = folds.get(key)
    folds[key] = fold if known is None else merge(known, fold)


def merged_record(fold: Fold) -> Record:
    """The user's one identify: the latest, with every trait's last value."""
    event = fold.event
    if fold.traits:
        ordered = sorted(fold.traits.items(), key=lambda item: item[1].first)
        event = {**event, "traits": {name: trait.value for name, trait in ordered}}
    where = fold.order[1]
    origin = Origin(where.input, where.part, where.name)
    return Record(where.line, jsonwire.dumps(event), event, where.unit, origin)


def finish(folds: Iterable[Fold], stats: ReplayStats) -> Iterator[Record]:
    """One record per user, in reading order of their latest identify; counts what merged."""
    for fold in sorted(folds, key=lambda f: f.order[1]):
        stats.identifies_merged += fold.count - 1
        yield merged_record(fold)


def folding(records: Iterable[Record], folds: dict[str, Fold]) -> Iterator[Record]:
    """Every record but the identifies to coalesce, which are folded into `folds` by user."""
    for record in records:
        key = user_key(record.event)
        if key is None:
            yield record
        else:
            add(folds, key, fold_of(record))


def coalesced(records: Iterable[Record], stats: ReplayStats) -> Iterator[Record]:
    """The local engine's coalescing: other events at once, then one identify per user."""
    folds: dict[str, Fold] = {}
    yield from folding(records, folds)
    yield from finish(folds.values(), stats)
