"""Pacing shared by every task of a destination: departures one interval apart (a configured
20 rps really is 20 per second, without bursts) and Retry-After pauses; retry backoff."""

from __future__ import annotations

import asyncio
import email.utils
import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_RETRY_AFTER = 300.0  # never sleep longer than five minutes on one provider hint


class SharedPacer:
    """Request departures at most one interval apart, and a pause deadline for every task.

    A departure is when a request's first byte is written, not when its task was let go: a
    provider counts *arrivals*, and a new connection (or a busy machine) can hold one request
    back while the next leaves on time, so the transport reports each real write (`went`) and
    the next departure is an interval after it. One task waits for a departure at a time. The
    state lives in shared memory, so processes of one destination share one limit."""

    def __init__(self, requests_per_second: float | None, ctx: Any = None) -> None:
        mp = ctx or multiprocessing.get_context()
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next = mp.Value("d", 0.0, lock=False)  # the earliest next departure
        self._paused_until = mp.Value("d", 0.0, lock=False)
        self._lock = mp.Lock()
        self._turn: asyncio.Lock | None = None  # this process's tasks, one at a time

    def wait(self, now: float) -> float:
        """Seconds until the next request may leave."""
        with self._lock:
            return max(self._next.value, self._paused_until.value) - now

    def went(self, now: float) -> None:
        """A request left (or started writing) at `now`: the next one leaves an interval
        later at the earliest."""
        with self._lock:
            if now + self.interval > self._next.value:
                self._next.value = now + self.interval

    def pause_until(self, deadline: float) -> None:
        """Hold every task of this destination until `deadline` (a provider's Retry-After)."""
        with self._lock:
            if deadline > self._paused_until.value:
                self._paused_until.value = deadline

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
