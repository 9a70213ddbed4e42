"""Turning `Request` values into HTTP exchanges (async httpx) and driving plans with real replies.

The transport never builds payloads: it sends exactly the bytes and headers a `Request` holds.

Every attempt is bounded: one deadline covers connecting, writing and reading the whole answer,
and an answer is kept up to `ANSWER_KEEP` bytes (the rest is never read). Each attempt ends one
of three ways:
- *answered*: a status line and the whole answer (or its first `ANSWER_KEEP` bytes) arrived;
- *not sent*: it failed before the request's last byte was written (refused connection, DNS,
  a failed write) — the provider cannot have processed it, so it is always safe to try again;
- *ambiguous*: the request was written but no whole answer came back (a timeout, a reset or a
  truncated answer after the write) — the provider may have processed it. It is sent again
  only when a repeat is harmless (`Repeat`: a lookup, an upsert, a keyed write); otherwise the
  request is *in doubt* (`InDoubt`) and never repeated without the user's say-so.

Answered statuses are retried as Segment's framework retries them (5xx except 501, 408, 423,
429) with exponential backoff and jitter. A 429 does not use up attempts: it is waited out
(`Retry-After`, `X-RateLimit-Reset`, else backoff) for every worker of the destination, within
`RetryPolicy.throttle_budget` seconds per request.
"""

from __future__ import annotations

import asyncio
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
from cdpctl.providers.base import (
    SAFE_METHODS,
    ActionFailed,
    Repeat,
    Reply,
    Request,
    RequestPlan,
    Skip,
)

#: Bytes of an answer kept for the plan, the views and the dead letter; the rest is not read
#: (the connection is closed instead), so a huge or endless answer costs neither memory nor time.
ANSWER_KEEP = 4 * 1024 * 1024
DEFAULT_DEADLINE = 10.0  # seconds for one attempt, connect to last byte (Segment's own timeout)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a request: its status, or how it failed, and what that means."""

    status: int | None  # None: no answer
    elapsed: float
    error: str = ""  # why there was no (whole) answer
    ambiguous: bool = False  # written, never answered whole: may have been processed
    waited: float = 0.0  # seconds waited after it, before the next attempt

    def describe(self) -> str:
        if self.status is not None and not self.error:
            return f"HTTP {self.status}"
        if self.status is not None:
            return f"HTTP {self.status}, {self.error}"
        return self.error


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the reply that ended it, with every attempt and the total time."""

    request: Request
    reply: Reply
    elapsed: float
    log: tuple[Attempt, ...] = ()

    @property
    def attempts(self) -> int:
        return len(self.log)


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
    """Every attempt of a request failed without an answer, and none may have been processed
    (or the request is safe to repeat)."""

    def __init__(self, reason: str, log: tuple[Attempt, ...]) -> None:
        super().__init__(reason)
        self.log = log


class InDoubt(Exception):
    """An attempt may have been processed and the request must not be repeated: whether the
    provider acted on it is unknown."""

    def __init__(self, reason: str, log: tuple[Attempt, ...], exchanges: list[Exchange]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.log = log
        self.exchanges = exchanges


class Unsendable(Exception):
    """The request cannot be put on the wire as it is (a header value with a line break or a
    character outside Latin-1): nothing was sent."""


def to_reply(status: int, content: bytes, headers: Any, *, cut: bool = False) -> Reply:
    text = content.decode("utf-8", "replace")
    parsed = None
    if content and not cut:
        try:
            parsed = jsonwire.loads(content)
        except (jsonwire.JSONDecodeError, ValueError, RecursionError):
            parsed = None
    if cut:
        text += f"… (answer longer than {ANSWER_KEEP:,} bytes; the rest was not read)"
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
    throttle_wait: float = 0.0  # seconds spent waiting out 429s (and Retry-After)


class _Failed(Exception):
    """One attempt ended without a whole answer."""

    def __init__(self, error: str, *, written: bool, status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.written = written
        self.status = status


@dataclass(slots=True)
class Transport:
    """Sends requests for one destination: pacing, deadlines, retries, Retry-After, endpoint
    override."""

    client: Any  # httpx.AsyncClient
    is_retryable: Callable[[int], bool]
    pacer: SharedPacer | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    endpoint: str | None = None
    deadline: float = DEFAULT_DEADLINE
    rng: random.Random = field(default_factory=random.Random)
    counters: TransportCounters = field(default_factory=TransportCounters)
    clock: Callable[[], float] = time.monotonic

    async def send(
        self,
        request: Request,
        on_wire: Callable[[], None] | None = None,
        repeat: Repeat = Repeat.NOT_IDEMPOTENT,
    ) -> tuple[Reply, tuple[Attempt, ...]]:
        """The final reply (2xx, a status the request handles, a non-retryable status, or the
        last retryable one) and every attempt. Raises NetworkFailure when no attempt got an
        answer, InDoubt when one may have been processed and `repeat` (or the request's own)
        forbids sending it again, Unsendable when it cannot be sent at all.

        `on_wire` runs just before each attempt is handed to the connection (after pacing),
        so a ledger can mark an event "sending" only once it may really reach the provider."""
        if request.wait:
            await asyncio.sleep(request.wait)
        target = request.with_base(self.endpoint) if self.endpoint else request
        body = target.body()
        headers = target.wire_headers()
        problem = unsendable_header(headers)
        if problem:
            raise Unsendable(problem)
        kind = request.repeat or repeat
        safe = target.method in SAFE_METHODS or kind is not Repeat.NOT_IDEMPOTENT
        log: list[Attempt] = []
        failures = 0  # attempts that count against policy.max_attempts (a 429 does not)
        throttled_for = 0.0
        while True:
            if self.pacer is not None:
                await self.pacer.acquire(self.clock)
            if on_wire is not None:
                on_wire()
            self.counters.requests += 1
            self.counters.bytes_sent += len(body)
            started = self.clock()
            try:
                reply = await self._attempt(target, headers, body)
            except _Failed as failed:
                self.counters.network_errors += 1
                failures += 1
                last = failures >= self.policy.max_attempts
                if failed.written and not safe:
                    attempt = Attempt(failed.status, self.clock() - started, failed.error, True)
                    log.append(attempt)
                    raise InDoubt(
                        f"{failed.error.rstrip('.')} after the request was sent; the provider "
                        "may have processed it",
                        tuple(log),
                        [],
                    ) from None
                wait = 0.0 if last else self.policy.delay(failures, self.rng)
                attempt = Attempt(
                    failed.status, self.clock() - started, failed.error, failed.written, wait
                )
                log.append(attempt)
                if last:
                    if failed.written:
                        raise InDoubt(
                            f"{failed.error.rstrip('.')} after the request was sent, on the "
                            f"last of {len(log)} attempt(s); the provider may have processed it",
                            tuple(log),
                            [],
                        ) from None
                    raise NetworkFailure(
                        f"network error after {len(log)} attempt(s): {failed.error}", tuple(log)
                    ) from None
                self.counters.retries += 1
                await asyncio.sleep(wait)
                continue
            elapsed = self.clock() - started
            if reply.status == 429:
                self.counters.throttled += 1
                hint = provider_wait(reply)
                if hint is None:  # no hint: back off, but never retry at once
                    backoff = self.policy.delay(min(len(log) + 1, 8), self.rng)
                    hint = backoff + self.policy.base_delay
                wait = hint
                if throttled_for + wait <= self.policy.throttle_budget:
                    throttled_for += wait
                    self.counters.throttle_wait += wait
                    self.counters.retries += 1
                    log.append(Attempt(429, elapsed, waited=wait))
                    await self._hold(wait)
                    continue
                log.append(Attempt(429, elapsed))
                return _over_budget(reply, throttled_for), tuple(log)
            last = failures + 1 >= self.policy.max_attempts
            if (
                reply.ok
                or reply.status in request.handles
                or not self.is_retryable(reply.status)
                or last
            ):
                log.append(Attempt(reply.status, elapsed))
                return reply, tuple(log)
            failures += 1
            self.counters.retries += 1
            hinted = provider_wait(reply)
            wait = hinted if hinted is not None else self.policy.delay(failures, self.rng)
            log.append(Attempt(reply.status, elapsed, waited=wait))
            if hinted is not None:
                self.counters.throttle_wait += wait
                await self._hold(wait)
            else:
                await asyncio.sleep(wait)

    async def _hold(self, wait: float) -> None:
        """A provider's pause applies to every worker of the destination: the pacer holds the
        next slot (taken at the top of the attempt loop) until it ends."""
        if self.pacer is not None:
            self.pacer.pause_until(self.clock() + wait)
        else:
            await asyncio.sleep(wait)

    async def _attempt(self, target: Request, headers: dict[str, str], body: bytes) -> Reply:
        """One attempt within the deadline; raises _Failed saying whether it was written."""
        import httpx

        written = False

        async def trace(event: str, info: Any) -> None:
            nonlocal written
            del info
            if event.endswith("send_request_headers.started") and self.pacer is not None:
                self.pacer.went(self.clock())  # the real departure, after any connection set-up
            elif event.endswith("send_request_body.complete"):
                written = True

        status: int | None = None

        async def exchange() -> Reply:
            nonlocal status
            async with self.client.stream(
                target.method,
                target.url,
                headers=headers,
                content=body or None,
                extensions={"trace": trace},
            ) as response:
                status = response.status_code
                kept = bytearray()
                cut = False
                async for chunk in response.aiter_bytes():
                    kept += chunk
                    if len(kept) > ANSWER_KEEP:
                        del kept[ANSWER_KEEP:]
                        cut = True
                        break
                return to_reply(response.status_code, bytes(kept), response.headers, cut=cut)

        try:
            return await asyncio.wait_for(exchange(), self.deadline)
        except (asyncio.TimeoutError, TimeoutError):
            error = f"no whole answer within {self.deadline:g} s"
            raise _Failed(error, written=written, status=status) from None
        except httpx.TransportError as error:
            raise _Failed(_describe(error), written=written, status=status) from None
        except httpx.DecodingError as error:  # an answer whose encoding is broken: it arrived
            raise _Failed(_describe(error), written=True, status=status) from None


def unsendable_header(headers: dict[str, str]) -> str | None:
    """Why a header cannot be sent (naming the header, never echoing its value), or None."""
    for name, value in headers.items():
        if any(ch in value for ch in "\r\n\x00"):
            return f"the {name} header holds a line break or NUL and cannot be sent"
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return f"the {name} header holds characters that HTTP headers cannot carry"
    return None


def _over_budget(reply: Reply, waited: float) -> Reply:
    """A 429 after the throttle budget: the reason says how long the run waited."""
    note = f"still throttled after waiting {waited:,.0f} s"
    return Reply(reply.status, reply.json, f"{note}; {reply.text}".strip("; "), reply.headers)


def provider_wait(reply: Reply) -> float | None:
    """How long the provider asked us to wait: the larger of `Retry-After` and, on a 429,
    `X-RateLimit-Reset` (SendGrid and Segment signal their limits with the latter)."""
    now = time.time()
    waits = [parse_retry_after(reply.headers.get("retry-after"), now)]
    if reply.status == 429:
        waits.append(parse_rate_limit_reset(reply.headers.get("x-ratelimit-reset"), now))
    known = [w for w in waits if w is not None]
    return max(known) if known else None


Send = Callable[[Request], Awaitable[tuple[Reply, tuple[Attempt, ...]]]]


async def drive(
    plan: RequestPlan, send: Send, clock: Callable[[], float] = time.perf_counter
) -> tuple[list[Exchange], Any]:
    """Run a plan to completion, sending each yielded request with `send`.

    Returns the exchanges and the plan's return value (a batch plan's item results). A reply the
    plan does not handle ends it with PlanFailed; InDoubt ends it at once (carrying the
    exchanges so far)."""
    exchanges: list[Exchange] = []
    try:
        request = next(plan)
        while True:
            started = clock()
            try:
                reply, log = await send(request)
            except NetworkFailure as failure:
                if not request.sees_failure:
                    plan.close()
                    raise PlanFailed(str(failure), exchanges, status=None, retryable=True) from None
                reply, log = Reply(0, text=str(failure)), failure.log
            except InDoubt as doubt:
                reply = Reply(0, text=doubt.reason, in_doubt=True)
                if not request.sees_failure:
                    plan.close()
                    exchanges.append(Exchange(request, reply, clock() - started, doubt.log))
                    raise InDoubt(doubt.reason, doubt.log, exchanges) from None
                # one chunk of a batch: its events are in doubt, the plan goes on with the rest
                log = doubt.log
            except Unsendable as problem:
                plan.close()
                raise PlanFailed(str(problem), exchanges, status=None, retryable=False) from None
            exchanges.append(Exchange(request, reply, clock() - started, log))
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
    """`HTTP 400: <the answer>`; the whole answer, which views redact before they cut it."""
    detail = reply.text.strip()
    return f"HTTP {reply.status}" + (f": {detail}" if detail else "")


def _describe(error: Exception) -> str:
    """`ReadTimeout: timed out`, never a message cut mid-sentence or an empty one."""
    text = str(error).strip() or "no details"
    return f"{type(error).__name__}: {text}"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What happened to one event of a delivered plan: delivered, failed (with why), or in
    doubt (its request may have been processed; see InDoubt)."""

    delivered: bool
    attempts: int = 0
    status: int | None = None
    failure: Diagnostic | None = None  # why it was not delivered (or why it is in doubt)
    response: str | None = None  # the provider's answer, for the dead-letter file
    retryable: bool = False  # the provider asked for this item alone to be sent again
    in_doubt: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    exchanges: tuple[Exchange, ...]
    items: tuple[ItemOutcome, ...]  # one per event, in the plan's order

    @property
    def delivered(self) -> bool:
        return all(item.delivered for item in self.items)

    @property
    def in_doubt(self) -> bool:
        return any(item.in_doubt for item in self.items)


async def deliver(
    plan: RequestPlan,
    transport: Transport,
    *,
    repeat: Repeat = Repeat.NOT_IDEMPOTENT,
    events: int = 1,
    on_wire: Callable[[], None] | None = None,
) -> Outcome:
    """Drive a plan (of one event, or a batch plan of `events`) for real: the one delivery
    step of `send --live` and live replay. Failures become outcomes, never exceptions. A plan
    in doubt is in doubt as a whole (which of its requests the provider acted on is
    unknown), except a batch's chunk that sees its own failure: its events alone."""

    async def send(request: Request) -> tuple[Reply, tuple[Attempt, ...]]:
        return await transport.send(request, on_wire, repeat)

    try:
        exchanges, value = await drive(plan, send)
    except PlanFailed as failure:
        attempts = failure.exchanges[-1].attempts if failure.exchanges else 0
        item = _failed(failure.reason, failure.status, attempts, failure.body)
        return Outcome(tuple(failure.exchanges), (item,) * events)
    except InDoubt as doubt:
        item = ItemOutcome(
            False,
            len(doubt.log),
            None,
            Diagnostic(codes.DELIVERY_IN_DOUBT, doubt.reason),
            in_doubt=True,
        )
        return Outcome(tuple(doubt.exchanges), (item,) * events)
    except Skip as skip:  # the dry run found something to send: the provider's reply changed it
        item = _failed(f"nothing sent: {skip.reason}", None, 0, None)
        return Outcome((), (item,) * events)
    attempts = exchanges[-1].attempts if exchanges else 0
    if isinstance(value, list):  # a batch plan's per-event results
        delivered: dict[int | None, ItemOutcome] = {}  # values: one per status, shared

        def accepted(status: int | None) -> ItemOutcome:
            item = delivered.get(status)
            if item is None:
                item = delivered[status] = ItemOutcome(True, attempts, status)
            return item

        items = tuple(
            accepted(result.status)
            if result.ok
            else ItemOutcome(
                False,
                attempts,
                result.status,
                Diagnostic(codes.DELIVERY_IN_DOUBT, result.reason)
                if result.in_doubt
                else _failure(result.reason or "rejected in batch", result.status),
                retryable=result.retryable and not result.in_doubt,
                in_doubt=result.in_doubt,
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
