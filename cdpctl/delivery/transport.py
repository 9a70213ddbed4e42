"""Turning `Request` values into HTTP exchanges (httpx) and driving a plan with real replies.

The transport never builds payloads: it sends exactly the bytes and headers a `Request` holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdpctl import jsonwire
from cdpctl.providers.base import ActionFailed, Plan, Reply, Request

DEFAULT_TIMEOUT = 10.0  # seconds, as Segment's framework


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
        self, reason: str, exchanges: list[Exchange], *, status: int | None, retryable: bool
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exchanges = exchanges
        self.status = status
        self.retryable = retryable


def wire_headers(request: Request) -> dict[str, str]:
    headers = dict(request.headers)
    if request.form is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers


def to_reply(status: int, content: bytes, headers: Any) -> Reply:
    text = content.decode("utf-8", "replace")
    try:
        parsed = jsonwire.loads(content) if content else None
    except jsonwire.JSONDecodeError:
        parsed = None
    return Reply(
        status=status, json=parsed, text=text, headers={k.lower(): v for k, v in headers.items()}
    )


def send_sync(client: Any, request: Request, endpoint: str | None = None) -> Reply:
    """Send one request with an `httpx.Client`; network errors propagate as httpx errors."""
    target = request.with_base(endpoint) if endpoint else request
    response = client.request(
        target.method, target.url, headers=wire_headers(target), content=target.body() or None
    )
    return to_reply(response.status_code, response.content, response.headers)


def drive(
    plan: Plan,
    send: Callable[[Request], tuple[Reply, int]],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[list[Exchange], Any]:
    """Run a plan to completion, sending each yielded request with `send` (which returns the
    final reply and the attempt count). Returns the exchanges and the plan's return value."""
    exchanges: list[Exchange] = []
    try:
        request = next(plan)
        while True:
            started = clock()
            reply, attempts = send(request)
            exchanges.append(Exchange(request, reply, clock() - started, attempts))
            if not reply.ok and reply.status not in request.handles:
                plan.close()
                raise PlanFailed(_reason(reply), exchanges, status=reply.status, retryable=False)
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
