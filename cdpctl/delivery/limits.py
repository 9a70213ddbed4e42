"""Pacing shared by every task of a destination: departures one interval apart (a configured
20 rps really is 20 per second, without bursts) and Retry-After pauses; retry backoff."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_RETRY_AFTER = 300.0  # never sleep longer than five minutes on one provider hint


class SharedPacer:
    """Request departures at most one interval apart, and a pause deadline, for every task of
    a destination (one live run is one process: its tasks share one pacer).

    A departure is when a request's first byte is written, not when its task was let go: a
    provider counts *arrivals*, and a new connection (or a busy machine) can hold one request
    back while the next leaves on time, so the transport reports each real write (`went`) and
    the next departure is an interval after it. One task waits for a departure at a time."""

    def __init__(self, requests_per_second: float | None) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next = 0.0  # the earliest next departure
        self._paused_until = 0.0
        self._turn: asyncio.Lock | None = None  # created in the running event loop

    def wait(self, now: float) -> float:
        """Seconds until the next request may leave."""
        return max(self._next, self._paused_until) - now

    def went(self, now: float) -> None:
        """A request left (or started writing) at `now`: the next one leaves an interval
        later at the earliest."""
        self._next = max(self._next, now + self.interval)

    def pause_until(self, deadline: float) -> None:
        """Hold every task of this destination until `deadline` (a provider's Retry-After)."""
        self._paused_until = max(self._paused_until, deadline)

    async def acquire(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Wait until this task's request may leave, and take the departure."""
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            while (wait := self.wait(clock())) > 0:
                await asyncio.sleep(wait)
            self.went(clock())


def parse_rate_limit_reset(value: str | None, now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset` (an epoch time, as SendGrid sends it, or a delta)."""
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    seconds = number - now if number > 1e9 else number
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, as most provider guides recommend."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: seconds one request may spend waiting out 429s (which use up no attempts) before its
    #: event fails: a throttled provider slows a run down, it does not fail its events
    throttle_budget: float = 900.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)
