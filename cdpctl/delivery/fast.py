"""The dry-run loop on generated functions (cdpctl.fastpath): same counts, fewer objects.

Each event goes only to the subscriptions whose trigger can match its type. A generated
function's plain answers (no match; ready with one request of N bytes) are counted in bulk;
anything else is a `Verdict` counted by `ReplayStats.tally`, and a FALLBACK sends the event
through `evaluate`, so error groups and examples are the ordinary ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from cdpctl.delivery.engine import PlanGate
from cdpctl.delivery.sources import Record
from cdpctl.delivery.stats import ReplayStats, SubscriptionStats
from cdpctl.fastpath import FALLBACK, FastSubscription, compile_fast
from cdpctl.pipeline import CompiledSubscription, Destination, evaluate

_FLUSH_EVERY = 1024  # records between bulk updates of the counters (progress, Ctrl-C)


class FastRenderer:
    """`render_records` for one destination, its functions generated once."""

    def __init__(self, destination: Destination, plan: PlanGate | None = None) -> None:
        self.ctx = destination.context(dry_run=True)
        self.plan = plan
        fast = compile_fast(destination, self.ctx)
        self.subscriptions: list[tuple[CompiledSubscription, FastSubscription | None]] = [
            (sub, generated)
            for sub, generated in zip(destination.subscriptions, fast, strict=True)
            if sub.enabled
        ]
        self.fallbacks = 0  # events a generated function handed to `evaluate`

    def __call__(self, records: Iterable[Record], stats: ReplayStats) -> None:
        ctx = self.ctx
        plan = self.plan
        tally = stats.tally
        slots = [stats.sub(sub.name) for sub, _ in self.subscriptions]
        subs = [sub for sub, _ in self.subscriptions]
        everywhere, by_type = self._dispatch()
        ready = [0] * len(slots)
        sizes = [0] * len(slots)
        judged_before = [c.matched + c.no_match for c in slots]
        seen = 0
        try:
            for record in records:
                if plan is not None and not plan.admits(record, stats):
                    continue  # blocked: judged by no subscription
                event = record.event
                for judge, slot in by_type.get(event["type"], everywhere):
                    answer = judge(event)
                    if answer is None:
                        continue
                    if type(answer) is int:
                        ready[slot] += 1
                        sizes[slot] += answer
                    elif answer is FALLBACK:
                        self.fallbacks += 1
                        tally(slots[slot], evaluate(subs[slot], event, ctx), record)
                    else:
                        tally(slots[slot], answer, record)
                seen += 1
                if seen == _FLUSH_EVERY:
                    self._flush(stats, slots, judged_before, ready, sizes, seen)
                    seen = 0
                    judged_before = [c.matched + c.no_match for c in slots]
        finally:  # also when the archive breaks off: what was read is counted
            self._flush(stats, slots, judged_before, ready, sizes, seen)

    def _dispatch(self) -> tuple[list[tuple[Judge, int]], dict[str, list[tuple[Judge, int]]]]:
        """(judge, slot) pairs for events of any type, and per type a trigger requires."""
        judges: list[tuple[Judge, int, str | None]] = []
        for slot, (sub, generated) in enumerate(self.subscriptions):
            if generated is None:
                judges.append((partial(evaluate, sub, ctx=self.ctx), slot, None))
            else:
                judges.append((generated.function, slot, generated.event_type))
        everywhere = [(judge, slot) for judge, slot, kind in judges if kind is None]
        by_type = {
            kind: [(judge, slot) for judge, slot, required in judges if required in (None, kind)]
            for _, _, kind in judges
            if kind is not None
        }
        return everywhere, by_type

    @staticmethod
    def _flush(
        stats: ReplayStats,
        slots: list[SubscriptionStats],
        judged_before: list[int],
        ready: list[int],
        sizes: list[int],
        seen: int,
    ) -> None:
        for slot, counters in enumerate(slots):
            if ready[slot]:
                stats.tally_ready(counters, ready[slot], ready[slot], sizes[slot])
            judged = counters.matched + counters.no_match - judged_before[slot]
            counters.no_match += seen - judged  # skipped by type, or answered None
            ready[slot] = sizes[slot] = 0


Judge = Callable[[dict[str, Any]], Any]
