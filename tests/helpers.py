"""Shared test helpers: run the CLI, plan provider requests, start the sandbox."""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cdpctl.cli.main import app
from cdpctl.pipeline import dry_run
from cdpctl.providers import get_provider
from cdpctl.providers.base import ActionContext, Request
from cdpctl.providers.payload import prepare

SEGMENT_MAPPING = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: identify
    trigger: type = "identify"
    action: sendIdentify
  - name: track
    trigger: type = "track"
    action: sendTrack
    mapping:
      event_name: {"@path": "$.event"}
  - name: page
    trigger: type = "page"
    action: sendPage
"""
"""A mapping file for the Segment provider, whose sandbox emulator counts every messageId it
acknowledges (and any duplicate): the delivery tests' witness."""


#: Segment without messageIds: Segment gives each call a new id, so a repeat is a second event
#: (not idempotent). Each event carries `properties.n`, so the sandbox's copies can be counted.
UNKEYED_MAPPING = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: track
    trigger: type = "track"
    action: sendTrack
    defaults: false
    mapping:
      user_id: {"@path": "$.userId"}
      event_name: {"@path": "$.event"}
      properties: {"@path": "$.properties"}
"""

#: Customer.io events in batches of 5: not idempotent (no key Customer.io deduplicates by).
CUSTOMERIO_EVENTS_MAPPING = """\
version: 1
destination:
  provider: customerio
  settings:
    siteId: ${CIO_SITE_ID}
    apiKey: ${CIO_API_KEY}
subscriptions:
  - name: events
    trigger: type = "track"
    action: trackEvent
    mapping:
      batch_size: 5
"""


def replay_command(events: Path, mapping: Path, endpoint: str, *extra: str) -> list[str]:
    """`cdpctl replay EVENTS -m MAPPING --live` into `endpoint`, a JSON summary, no progress."""
    return [
        "replay",
        str(events),
        "-m",
        str(mapping),
        "--live",
        "--endpoint",
        endpoint,
        "--no-progress",
        "--format",
        "json",
        *extra,
    ]


def run_cli(args: list[str], input: str | None = None, env: Mapping[str, str] | None = None):
    """Invoke the Typer app in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, args, input=input, env=dict(env or {}), catch_exceptions=False)


def plan_requests(
    provider: str, action: str, payload: dict[str, Any], settings: dict[str, Any]
) -> list[Request]:
    """The requests an action would send for an already-mapped payload (Segment's test style:
    literal mappings), after the framework's clean/coerce/validate step. Fails on errors."""
    spec = get_provider(provider)
    assert spec is not None, provider
    act = spec.action(action)
    assert act is not None, action
    cleaned, errors = prepare(act, payload, settings)
    real_errors = [e for e in errors if e.severity.value == "error"]
    assert not real_errors, real_errors
    return dry_run(act.plan(cleaned, ActionContext(settings=settings)))


def body_json(request: Request) -> Any:
    """The wire body parsed back (compare with `==`; key order checked separately if needed)."""
    return json.loads(request.body())


def header(request: Request, name: str) -> str | None:
    for key, value in request.headers:
        if key.lower() == name.lower():
            return value
    return None


def live_run(
    provider: str,
    action: str,
    payload: dict[str, Any],
    settings: dict[str, Any],
    endpoint: str,
    ctx: ActionContext | None = None,
):
    """Send an action's plan to `endpoint` (the sandbox) for real, without retries.

    Returns (exchanges, result); raises cdpctl.delivery.transport.PlanFailed on a rejection."""
    import asyncio

    import httpx

    from cdpctl.delivery.limits import RetryPolicy
    from cdpctl.delivery.transport import Transport, drive

    spec = get_provider(provider)
    assert spec is not None
    act = spec.action(action)
    assert act is not None
    cleaned, errors = prepare(act, payload, settings)
    assert not [e for e in errors if e.severity.value == "error"], errors
    context = ctx or ActionContext(settings=settings, dry_run=False)

    async def run():
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, spec.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=endpoint
            )
            return await drive(act.plan(cleaned, context), transport.send)

    return asyncio.run(run())


def sigint_as_in_a_terminal() -> None:
    """`preexec_fn` for a child the test interrupts: Ctrl-C reaches it as in a terminal, even
    when the test run itself started with SIGINT ignored (as a background job of a script)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
