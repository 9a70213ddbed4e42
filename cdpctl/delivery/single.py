"""Live delivery of one event through every matching subscription (`cdpctl send --live`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from cdpctl.delivery.limits import RetryPolicy, SharedPacer
from cdpctl.delivery.transport import Exchange, NetworkFailure, PlanFailed, Transport, drive
from cdpctl.pipeline import Destination, SubscriptionResult
from cdpctl.providers.base import Skip
from cdpctl.secrets import Redactor


@dataclass(slots=True)
class Delivery:
    result: SubscriptionResult
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None
    status: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def deliver_results(
    destination: Destination,
    results: list[SubscriptionResult],
    endpoint: str | None,
    policy: RetryPolicy,
    redactor: Redactor,
    timeout: float = 10.0,
) -> list[Delivery]:
    """Send every sendable result's plan for real; secrets learnt on the way (tokens) are added
    to `redactor`."""
    return asyncio.run(_deliver(destination, results, endpoint, policy, redactor, timeout))


async def _deliver(
    destination: Destination,
    results: list[SubscriptionResult],
    endpoint: str | None,
    policy: RetryPolicy,
    redactor: Redactor,
    timeout: float,
) -> list[Delivery]:
    import httpx

    ctx = destination.context(dry_run=False)
    deliveries = []
    async with httpx.AsyncClient(timeout=timeout) as client:
        rate = destination.file.rate_limit or destination.provider.rate_limit.requests_per_second
        transport = Transport(
            client,
            destination.provider.is_retryable,
            policy=policy,
            endpoint=endpoint,
            pacer=SharedPacer(rate),
        )
        for result in results:
            if not result.sendable or result.payload is None or result.reason:
                continue
            delivery = Delivery(result)
            try:
                delivery.exchanges, _ = await drive(
                    result.subscription.action.plan(result.payload, ctx), transport.send
                )
            except Skip as skip:
                delivery.error = f"skipped: {skip.reason}"
            except PlanFailed as failure:
                delivery.exchanges = failure.exchanges
                delivery.error = failure.reason
                delivery.status = failure.status
            except NetworkFailure as failure:
                delivery.error = str(failure)
            deliveries.append(delivery)
    for secret in ctx.secrets_found:
        redactor.add(secret)
    return deliveries
