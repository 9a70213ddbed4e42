"""Pacing and provider wait hints (Retry-After, X-RateLimit-Reset)."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from cdpctl.delivery.limits import RetryPolicy, SharedPacer, parse_retry_after
from cdpctl.delivery.transport import provider_wait
from cdpctl.providers.base import Reply


def test_retry_after_accepts_seconds_and_http_dates_and_caps_them() -> None:
    assert parse_retry_after("3", 1000.0) == 3.0
    date = email.utils.formatdate(1000.0 + 7, usegmt=True)
    assert parse_retry_after(date, 1000.0) == 7.0
    assert parse_retry_after("86400", 0.0) == 300.0
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None


def test_a_429_waits_for_the_larger_of_retry_after_and_rate_limit_reset(monkeypatch) -> None:
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.0)
    reply = Reply(429, headers={"retry-after": "1", "x-ratelimit-reset": "1700000004"})
    assert provider_wait(reply) == 4.0
    assert provider_wait(Reply(429, headers={"x-ratelimit-reset": "2"})) == 2.0
    assert provider_wait(Reply(503, headers={"x-ratelimit-reset": "9"})) is None


def test_pacer_spaces_departures_and_answers_and_pauses_for_everyone() -> None:
    pacer = SharedPacer(20)
    assert pacer.wait(100.0) <= 0
    pacer.went(100.0)
    assert round(pacer.wait(100.0), 3) == 0.05
    pacer.went(100.2)  # the request really left later (a slow connection): so does the next
    assert round(pacer.wait(100.2), 3) == 0.05
    pacer.pause_until(110.0)
    assert pacer.wait(100.0) == 10.0


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=0.015), min_size=2, max_size=8),
    st.integers(min_value=1, max_value=6),
)
def test_departures_never_come_closer_than_the_interval_after_a_late_write(
    latencies: list[float], tasks: int
) -> None:
    """Whatever the connection delays (shorter than the interval) and the tasks in flight, a
    request's write starts at least one interval after every earlier write."""
    pacer = SharedPacer(50)  # 20 ms apart
    events: list[tuple[str, float]] = []

    async def task(setup: float) -> None:
        await pacer.acquire()
        await asyncio.sleep(setup)  # connecting, before the first byte is written
        pacer.went(time.monotonic())
        events.append(("wrote", time.monotonic()))

    async def main() -> None:
        queue = list(latencies)

        async def worker() -> None:
            while queue:
                await task(queue.pop())

        await asyncio.gather(*(worker() for _ in range(tasks)))

    asyncio.run(main())
    writes = sorted(when for _, when in events)
    for earlier, later in itertools.pairwise(writes):
        assert later - earlier >= 0.02 - 0.002, later - earlier


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8
