"""How long a live backfill of what a dry run judged would take at the provider's rate limit.

Computed from the dry run's counters alone (never by judging again): per subscription, the
events it would send and the bytes of their requests; batched actions pack them into requests
of at most the action's `BatchSpec` events and bytes (or --batch-size), other actions send the
requests the dry run planned. All subscriptions of a destination share one rate limit (one
pacer, as in a live run), less the headroom left for live traffic. It is a lower bound: retries,
429s, SFMC's status polls and a batch closing early (a lane waits at most 0.2 s for more
events) add requests or time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cdpctl.delivery.stats import ReplayStats
from cdpctl.pipeline import Destination

RATE_FROM_OPTION = "--rate"
RATE_FROM_FILE = "the mapping file's rateLimit"


@dataclass(frozen=True, slots=True)
class SubscriptionEstimate:
    name: str
    events: int
    requests: int
    batch: int | None  # events per request when batched


@dataclass(frozen=True, slots=True)
class BackfillEstimate:
    rate: float  # requests per second allowed to the destination
    rate_source: str  # --rate, the mapping file, or the provider's documented limit
    headroom: float  # share of `rate` left for live traffic
    subscriptions: tuple[SubscriptionEstimate, ...]

    @property
    def effective_rate(self) -> float:
        return self.rate * (1 - self.headroom)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.subscriptions)

    def seconds(self, requests: int | None = None) -> float:
        return (self.requests if requests is None else requests) / self.effective_rate


def backfill_estimate(
    stats: ReplayStats,
    destination: Destination,
    *,
    rate: float | None = None,
    headroom: float = 0.0,
    batching: bool = True,
    batch_size: int | None = None,
) -> BackfillEstimate:
    """The requests a live run would send for the `Ready` verdicts counted in `stats`, and the
    rate they would be paced at (`rate`, else the destination's)."""
    if rate is not None:
        source = RATE_FROM_OPTION
    elif destination.file.rate_limit:
        source = RATE_FROM_FILE
    else:
        source = f"the documented {destination.provider.title} limit"
    found = []
    for sub in destination.subscriptions:
        counters = stats.subscriptions.get(sub.name)
        if not sub.enabled or counters is None:
            continue
        spec = sub.action.batch
        if batching and spec is not None and sub.action.plan_batch is not None:
            size = min(batch_size or spec.max_events, spec.max_events)
            requests = math.ceil(counters.would_send / size)
            if spec.max_bytes:
                requests = max(requests, math.ceil(counters.planned_bytes / spec.max_bytes))
            found.append(SubscriptionEstimate(sub.name, counters.would_send, requests, size))
        else:
            found.append(
                SubscriptionEstimate(sub.name, counters.would_send, counters.planned_requests, None)
            )
    return BackfillEstimate(rate or destination.rate_limit, source, headroom, tuple(found))
