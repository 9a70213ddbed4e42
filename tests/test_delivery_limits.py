"""Pacing and provider wait hints (Retry-After, X-RateLimit-Reset)."""

from __future__ import annotations

import email.utils
import random

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


def test_pacer_hands_out_slots_one_interval_apart_and_pauses_for_everyone() -> None:
    pacer = SharedPacer(20)
    waits = [pacer.reserve(100.0) for _ in range(5)]
    assert [round(w, 3) for w in waits] == [0.0, 0.05, 0.1, 0.15, 0.2]
    pacer.pause_until(110.0)
    assert pacer.reserve(100.0) == 10.0


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8
