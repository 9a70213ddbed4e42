"""The harness's only contact with cdpctl's internals: run one case through cdpctl.

A case goes through the steps a live cdpctl run takes — the mapping file's subscription is
compiled (`compile_destination`), each event is judged by `evaluate` (mapping, validation and a
dry run of the plan), and the Ready payloads are delivered by cdpctl's own `deliver` (one plan,
or one batch plan) — except that the transport answers from the case's scripted replies instead
of a network. What it records is what httpx would put on the wire for each request: the URL
after httpx's normalisation, the client's default headers plus the request's own, and the body
bytes. Retries are out of scope: every request is answered once, as Segment's `executeAction`
sees each answer once.

When `cdpctl.pipeline` changes shape, this module is the one to re-point.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from typing import Any

import httpx

from cdpctl import events as cdpctl_events
from cdpctl.delivery.transport import Attempt, deliver, to_reply
from cdpctl.mappingfile import MappingFile, SubscriptionConfig
from cdpctl.mappingfile import effective_mapping as _effective_mapping
from cdpctl.pipeline import (
    CompiledSubscription,
    DestinationError,
    Invalid,
    Ready,
    compile_destination,
    evaluate,
)
from cdpctl.providers import get_provider
from cdpctl.providers.base import Repeat, Reply, Request

from .model import ERROR, OK, Case, Run, Wire, scripted_reply

_CLIENT = httpx.Client()  # builds requests only (build_request never connects)


def wire(request: Request) -> Wire:
    """The request as cdpctl's transport hands it to httpx, as httpx would send it."""
    body = request.body()
    built = _CLIENT.build_request(
        request.method, request.url, headers=request.wire_headers(), content=body or None
    )
    url = built.url
    headers: dict[str, str] = {}
    for name, value in built.headers.multi_items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Wire(
        built.method,
        f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.decode('ascii')}",
        headers,
        body.decode("utf-8", "replace"),
    )


class _ScriptedTransport:
    """Stands in for `cdpctl.delivery.transport.Transport`: answers from the case's replies."""

    def __init__(self, case: Case, sent: list[Wire]) -> None:
        self.case = case
        self.sent = sent

    async def send(
        self,
        request: Request,
        on_wire: Callable[[], None] | None = None,
        repeat: Repeat = Repeat.NOT_IDEMPOTENT,
    ) -> tuple[Reply, tuple[Attempt, ...]]:
        del on_wire, repeat
        recorded = wire(request)
        self.sent.append(recorded)
        rule = scripted_reply(self.case.replies, recorded.method, recorded.url)
        headers = {"content-type": "application/json", **rule.headers}
        return to_reply(rule.status, rule.body.encode(), headers), (Attempt(rule.status, 0.0),)


def _subscription(case: Case) -> tuple[CompiledSubscription, Any]:
    file = MappingFile(
        path=f"<{case.id}>",
        provider=case.provider,
        name=case.provider,
        settings=dict(case.settings),
        subscriptions=(
            SubscriptionConfig(
                index=0,
                name=case.action,
                # Every event of a case is sent: a trigger true for any event, missing type too.
                trigger='type = "track" or type != "track"',
                action=case.action,
                mapping=dict(case.mapping),
                use_defaults=case.defaults,
            ),
        ),
    )
    destination = compile_destination(file, {})
    return destination.subscriptions[0], destination


def effective_mapping(
    provider: str, action: str, mapping: dict[str, Any], use_defaults: bool
) -> dict[str, Any]:
    """The mapping cdpctl applies for a subscription (its defaults filled in)."""
    spec = get_provider(provider)
    found = spec.action(action) if spec is not None else None
    if found is None:
        raise KeyError(f"cdpctl has no action {provider}.{action}")
    return _effective_mapping(found, mapping, use_defaults)[0]


def run(case: Case) -> Run:
    """What cdpctl sends for `case`, driven with the case's scripted replies."""
    try:
        sub, destination = _subscription(case)
    except DestinationError as error:
        return Run(ERROR, (), error=f"mapping file refused: {error}")
    judge = destination.context(dry_run=True)
    verdicts = [
        evaluate(sub, cdpctl_events.parse_event(text, case.id), judge) for text in case.events
    ]
    ready = [(i, v) for i, v in enumerate(verdicts) if isinstance(v, Ready)]
    sent: list[Wire] = []
    transport = _ScriptedTransport(case, sent)
    live = destination.context(dry_run=False)
    if case.mode == "single":
        (verdict,) = verdicts
        if not isinstance(verdict, Ready):
            return Run(ERROR if isinstance(verdict, Invalid) else OK, (), error=_why(verdict))
        outcome = asyncio.run(deliver(sub.action.plan(verdict.payload, live), transport))
        failure = outcome.items[0].failure
        return _split(case, sent, ERROR if failure else OK, failure.message if failure else "")
    accepted = [False] * len(verdicts)
    errors = [_why(v) for v in verdicts if not isinstance(v, Ready)]
    if ready:
        payloads = [v.payload for _, v in ready]
        if sub.action.plan_batch is not None:
            plan = sub.action.plan_batch(payloads, live)
        else:
            plan = sub.action.plan(payloads[0], live)
        outcome = asyncio.run(deliver(plan, transport, events=len(payloads)))
        for (index, _), item in zip(ready, outcome.items, strict=True):
            accepted[index] = item.delivered
            if item.failure is not None:
                errors.append(item.failure.message)
    # A batch is judged event by event (`items`); its outcome is only a summary.
    run_outcome = OK if any(accepted) else ERROR
    return dataclasses.replace(
        _split(case, sent, run_outcome, "; ".join(dict.fromkeys(errors))),
        items=tuple(accepted),
    )


def _split(case: Case, sent: list[Wire], outcome: str, error: str) -> Run:
    """Separate the OAuth token exchange (compared apart) from the data requests."""
    if case.token_url is None:
        return Run(outcome, tuple(sent), error=error)
    token = tuple(w for w in sent if re.search(case.token_url, w.url))
    data = tuple(w for w in sent if not re.search(case.token_url, w.url))
    return Run(outcome, data, token, error=error)


def _why(verdict: Any) -> str:
    if isinstance(verdict, Invalid):
        return "; ".join(f"{d.code} {d.full_message()}" for d in verdict.diagnostics if d.is_error)
    reason = getattr(verdict, "reason", None)
    return f"nothing to send: {reason}" if reason else type(verdict).__name__
