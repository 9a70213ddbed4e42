"""`cdpctl send --live`: deliver one event's Ready verdicts, each through `transport.deliver`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from cdpctl.delivery.limits import RetryPolicy, SharedPacer
from cdpctl.delivery.transport import DEFAULT_DEADLINE, Outcome, Transport, deliver
from cdpctl.pipeline import CompiledSubscription, Destination, Ready, Verdict
from cdpctl.providers.base import Request
from cdpctl.secrets import Redactor


def deliver_ready(
    destination: Destination,
    ready: Sequence[tuple[CompiledSubscription, Ready]],
    endpoint: str | None,
    policy: RetryPolicy,
    redactor: Redactor,
    timeout: float = DEFAULT_DEADLINE,
) -> dict[str, Outcome]:
    """Send each Ready verdict's plan for real, by subscription name; secrets learnt on the way
    (tokens) are added to `redactor`."""
    return asyncio.run(_deliver(destination, ready, endpoint, policy, redactor, timeout))


async def _deliver(
    destination: Destination,
    ready: Sequence[tuple[CompiledSubscription, Ready]],
    endpoint: str | None,
    policy: RetryPolicy,
    redactor: Redactor,
    timeout: float,
) -> dict[str, Outcome]:
    import httpx

    ctx = destination.context(dry_run=False)
    outcomes = {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            transport = Transport(
                client,
                destination.provider.is_retryable,
                policy=policy,
                endpoint=endpoint,
                pacer=SharedPacer(destination.paced_rate()),
                deadline=timeout,
            )
            for sub, verdict in ready:
                plan = sub.action.plan(verdict.payload, ctx)
                outcomes[sub.name] = await deliver(plan, transport, repeat=sub.action.repeat)
    finally:
        for secret in ctx.secrets_found:
            redactor.add(secret)
    return outcomes


def sent_requests(
    verdicts: Sequence[tuple[CompiledSubscription, Verdict]], outcomes: Mapping[str, Outcome] | None
) -> list[tuple[str, list[Request]]]:
    """Per matched subscription, its requests (those really sent, when live): what
    `send --save-expect` writes and `send --expect` compares."""
    sent = []
    for sub, verdict in verdicts:
        outcome = (outcomes or {}).get(sub.name)
        if outcome is not None:
            sent.append((sub.name, [e.request for e in outcome.exchanges]))
        elif isinstance(verdict, Ready):
            sent.append((sub.name, list(verdict.requests)))
    return sent
