"""Turning `Request` values into HTTP exchanges (async httpx) and driving plans with real replies.

The transport never builds payloads: it sends exactly the bytes and headers a `Request` holds.
It paces every request through the destination's shared pacer, retries what Segment's framework
retries (5xx except 501, 408, 423, 429 and network errors) with exponential backoff and jitter,
and honours `Retry-After` for every worker of the destination.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cdpctl import codes, jsonwire
from cdpctl.delivery.limits import (
    RetryPolicy,
    SharedPacer,
    parse_rate_limit_reset,
    parse_retry_after,
)
from cdpctl.diagnostics import Diagnostic
from cdpctl.providers.base import ActionFailed, Plan, Reply, Request, Skip


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the reply that ended it (after retries), with timing."""

    request: Request
    reply: Reply
    elapsed: float
    attempts: int


class PlanFailed(Exception):
    """A plan ended on a reply it does not handle; carries everything sent so far."""

    def __init__(
        self,
        reason: str,
        exchanges: list[Exchange],
        *,
        status: int | None,
        retryable: bool,
        body: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exchanges = exchanges
        self.status = status
        self.retryable = retryable
        self.body = body


class NetworkFailure(Exception):
    """Every attempt of a request failed without an HTTP answer."""


def to_reply(status: int, content: bytes, headers: Any) -> Reply:
    text = content.decode("utf-8", "replace")
    try:
        parsed = jsonwire.loads(content) if content else None
    except jsonwire.JSONDecodeError:
        parsed = None
    return Reply(
        status=status, json=parsed, text=text, headers={k.lower(): v for k, v in headers.items()}
    )


@dataclass(slots=True)
class TransportCounters:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    network_errors: int = 0
    bytes_sent: int = 0


@dataclass(slots=True)
class Transport:
    """Sends requests for one destination: pacing, retries, Retry-After, endpoint override."""

    client: Any  # httpx.AsyncClient
    is_retryable: Callable[[int], bool]
    pacer: SharedPacer | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    endpoint: str | None = None
    rng: random.Random = field(default_factory=random.Random)
    counters: TransportCounters = field(default_factory=TransportCounters)
    clock: Callable[[], float] = time.monotonic

    async def send(
        self, request: Request, on_wire: Callable[[], None] | None = None
    ) -> tuple[Reply, int]:
        """The final reply (2xx, a non-retryable status, or the last retryable one) and the
        number of attempts. Raises NetworkFailure when no attempt got an answer.

        `on_wire` runs just before each attempt is handed to the connection (after pacing),
        so a ledger can mark an event "sending" only once it may really reach the provider."""
        import asyncio

        import httpx

        if request.wait:
            await asyncio.sleep(request.wait)
        target = request.with_base(self.endpoint) if self.endpoint else request
        body = target.body()
        headers = target.wire_headers()
        attempt = 0
        while True:
            attempt += 1
            if self.pacer is not None:
                await self.pacer.acquire(self.clock)
            if on_wire is not None:
                on_wire()
            self.counters.requests += 1
            self.counters.bytes_sent += len(body)
            try:
                response = await self.client.request(
                    target.method, target.url, headers=headers, content=body or None
                )
            except httpx.TransportError as error:
                self.counters.network_errors += 1
                if attempt >= self.policy.max_attempts:
                    raise NetworkFailure(
                        f"network error after {attempt} attempts: {_describe(error)}"
                    ) from None
                self.counters.retries += 1
                await asyncio.sleep(self.policy.delay(attempt, self.rng))
                continue
            reply = to_reply(response.status_code, response.content, response.headers)
            if reply.status == 429:
                self.counters.throttled += 1
            if (
                reply.ok
                or reply.status in request.handles
                or not self.is_retryable(reply.status)
                or attempt >= self.policy.max_attempts
            ):
                return reply, attempt
            self.counters.retries += 1
            wait = provider_wait(reply)
            if wait is not None and self.pacer is not None:
                self.pacer.pause_until(self.clock() + wait)
            elif wait is not None:
                await asyncio.sleep(wait)
            else:
                await asyncio.sleep(self.policy.delay(attempt, self.rng))


def provider_wait(reply: Reply) -> float | None:
    """How long the provider asked us to wait: the larger of `Retry-After` and, on a 429,
    `X-RateLimit-Reset` (SendGrid and Segment signal their limits with the latter)."""
    now = time.time()
    waits = [parse_retry_after(reply.headers.get("retry-after"), now)]
    if reply.status == 429:
        waits.append(parse_rate_limit_reset(reply.headers.get("x-ratelimit-reset"), now))
    known = [w for w in waits if w is not None]
    return max(known) if known else None


Send = Callable[[Request], Awaitable[tuple[Reply, int]]]


async def drive(
    plan: Plan, send: Send, clock: Callable[[], float] = time.perf_counter
) -> tuple[list[Exchange], Any]:
    """Run a plan to completion, sending each yielded request with `send`.

    Returns the exchanges and the plan's return value (a batch plan's item results). A reply the
    plan does not handle ends it with PlanFailed."""
    exchanges: list[Exchange] = []
    try:
        request = next(plan)
        while True:
            started = clock()
            try:
                reply, attempts = await send(request)
            except NetworkFailure as failure:
                if not request.sees_failure:
                    raise
                reply, attempts = Reply(0, text=str(failure)), 0
            exchanges.append(Exchange(request, reply, clock() - started, attempts))
            if not reply.ok and reply.status not in request.handles and not request.sees_failure:
                plan.close()
                raise PlanFailed(
                    _reason(reply), exchanges, status=reply.status, retryable=False, body=reply.text
                )
            request = plan.send(reply)
    except StopIteration as stop:
        return exchanges, stop.value
    except ActionFailed as failure:
        raise PlanFailed(
            failure.reason, exchanges, status=failure.status, retryable=failure.retryable
        ) from None


def _reason(reply: Reply) -> str:
    detail = reply.text.strip()
    if len(detail) > 300:
        detail = detail[:300] + "…"
    return f"HTTP {reply.status}" + (f": {detail}" if detail else "")


def _describe(error: Exception) -> str:
    """`ReadTimeout: timed out`, never a message cut mid-sentence or an empty one."""
    text = str(error).strip() or "no details"
    return f"{type(error).__name__}: {text}"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What happened to one event of a delivered plan."""

    delivered: bool
    attempts: int = 0
    status: int | None = None
    failure: Diagnostic | None = None  # why it was not delivered
    response: str | None = None  # the provider's answer, for the dead-letter file
    retryable: bool = False  # the provider asked for this item alone to be sent again


@dataclass(frozen=True, slots=True)
class Outcome:
    exchanges: tuple[Exchange, ...]
    items: tuple[ItemOutcome, ...]  # one per event, in the plan's order

    @property
    def delivered(self) -> bool:
        return all(item.delivered for item in self.items)


async def deliver(
    plan: Plan, transport: Transport, *, events: int = 1, on_wire: Callable[[], None] | None = None
) -> Outcome:
    """Drive a plan (of one event, or a batch plan of `events`) for real: the one delivery
    step of `send --live` and live replay. Failures become outcomes, never exceptions."""

    async def send(request: Request) -> tuple[Reply, int]:
        return await transport.send(request, on_wire)

    try:
        exchanges, value = await drive(plan, send)
    except PlanFailed as failure:
        attempts = failure.exchanges[-1].attempts if failure.exchanges else 0
        item = _failed(failure.reason, failure.status, attempts, failure.body)
        return Outcome(tuple(failure.exchanges), (item,) * events)
    except NetworkFailure as failure:
        item = _failed(str(failure), None, transport.policy.max_attempts, None)
        return Outcome((), (item,) * events)
    except Skip as skip:  # the dry run found something to send: the provider's reply changed it
        item = _failed(f"nothing sent: {skip.reason}", None, 0, None)
        return Outcome((), (item,) * events)
    attempts = exchanges[-1].attempts if exchanges else 0
    if isinstance(value, list):  # a batch plan's per-event results
        items = tuple(
            ItemOutcome(True, attempts, result.status)
            if result.ok
            else ItemOutcome(
                False,
                attempts,
                result.status,
                _failure(result.reason or "rejected in batch", result.status),
                retryable=result.retryable,
            )
            for result in value
        )
        return Outcome(tuple(exchanges), items)
    status = exchanges[-1].reply.status if exchanges else None
    return Outcome(tuple(exchanges), (ItemOutcome(True, attempts, status),) * events)


def _failure(reason: str, status: int | None) -> Diagnostic:
    return Diagnostic(codes.DELIVERY_FAILED, reason, status=status)


def _failed(reason: str, status: int | None, attempts: int, body: str | None) -> ItemOutcome:
    return ItemOutcome(False, attempts, status, _failure(reason, status), body or None)
