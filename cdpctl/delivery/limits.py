"""Pacing shared by every worker of a destination: a request-rate schedule and Retry-After pauses.

The schedule is GCRA-style (each request takes the next slot `1/rate` after the previous one),
so a configured 20 rps really is 20 per second, without bursts. The state can live in shared
memory so several worker processes pace against one limit.
"""

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
    """Request slots and a pause deadline, shareable across processes (fork/spawn safe)."""

    def __init__(self, requests_per_second: float | None, ctx: Any = None) -> None:
        mp = ctx or multiprocessing.get_context()
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next_slot = mp.Value("d", 0.0, lock=False)
        self._paused_until = mp.Value("d", 0.0, lock=False)
        self._lock = mp.Lock()
        self._turn: asyncio.Lock | None = None  # this process's tasks, one slot at a time

    def reserve(self, now: float) -> float:
        """Claim the next request slot; returns how long to wait before using it."""
        with self._lock:
            start = max(now, self._next_slot.value, self._paused_until.value)
            if self.interval:
                self._next_slot.value = start + self.interval
            return start - now

    def pause_until(self, deadline: float) -> None:
        """Hold every worker of this destination until `deadline` (a provider's Retry-After)."""
        with self._lock:
            if deadline > self._paused_until.value:
                self._paused_until.value = deadline
            if self._next_slot.value < deadline:
                self._next_slot.value = deadline

    async def acquire(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Wait for this task's slot. Slots are taken one task at a time and counted from when
        the task really goes, so a task that wakes late pushes the next slot back instead of
        letting two requests leave closer than the interval."""
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            wait = self.reserve(clock())
            if wait > 0:
                await asyncio.sleep(wait)
                self._went(clock())

    def _went(self, now: float) -> None:
        with self._lock:
            if self.interval and now + self.interval > self._next_slot.value:
                self._next_slot.value = now + self.interval


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
