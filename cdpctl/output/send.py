"""`send` views: requests (dry run), request + response (live), and golden-request diffs."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from cdpctl import jsonwire
from cdpctl.delivery.single import Delivery
from cdpctl.diffing import Change
from cdpctl.output.requests import body_text, request_view
from cdpctl.output.test_event import error_view
from cdpctl.pipeline import SubscriptionResult
from cdpctl.secrets import Redactor


def golden_requests(
    results: Sequence[SubscriptionResult], deliveries: Sequence[Delivery] | None, redactor: Redactor
) -> list[dict[str, Any]]:
    """The requests of every matched subscription (those really sent, when live), as
    `--save-expect` writes them."""
    sent = {d.result.subscription.name: [e.request for e in d.exchanges] for d in deliveries or ()}
    golden = []
    for result in results:
        for request in sent.get(result.subscription.name, result.requests):
            view = request_view(request, redactor)
            view.pop("purpose", None)
            golden.append({"subscription": result.subscription.name, **view})
    return golden


def _exchange_view(delivery: Delivery, redactor: Redactor, verbose: bool) -> list[dict[str, Any]]:
    views = []
    for exchange in delivery.exchanges:
        view = request_view(exchange.request, redactor)
        response: dict[str, Any] = {
            "status": exchange.reply.status,
            "body": redactor.value(exchange.reply.json)
            if exchange.reply.json is not None
            else redactor.text(exchange.reply.text),
            "attempts": exchange.attempts,
            "elapsed_ms": round(exchange.elapsed * 1000, 1),
        }
        if verbose:
            response["headers"] = {k: redactor.text(v) for k, v in exchange.reply.headers.items()}
        view["response"] = response
        views.append(view)
    return views


def render_json(
    event: Any,
    results: Sequence[SubscriptionResult],
    deliveries: Sequence[Delivery] | None,
    changes: list[Change] | None,
    redactor: Redactor,
    verbose: bool,
) -> str:
    by_name = {d.result.subscription.name: d for d in deliveries or ()}
    subscriptions = []
    for result in results:
        sub = result.subscription
        entry: dict[str, Any] = {
            "subscription": sub.name,
            "action": sub.action.name,
            "matched": result.matched,
            "reason": result.reason,
            "errors": [error_view(e) for e in result.errors],
        }
        delivery = by_name.get(sub.name)
        if delivery is not None:
            entry["requests"] = _exchange_view(delivery, redactor, verbose)
            entry["delivered"] = delivery.ok
            entry["error"] = redactor.text(delivery.error) if delivery.error else None
        else:
            entry["requests"] = [request_view(r, redactor) for r in result.requests]
        subscriptions.append(entry)
    document: dict[str, Any] = {
        "event": event,
        "live": deliveries is not None,
        "subscriptions": subscriptions,
    }
    if changes is not None:
        document["expect"] = {
            "matches": not changes,
            "differences": [c.describe() for c in changes],
        }
    return jsonwire.dumps_text(document) + "\n"


def render_text(
    results: Sequence[SubscriptionResult],
    deliveries: Sequence[Delivery] | None,
    changes: list[Change] | None,
    redactor: Redactor,
    *,
    color: bool,
    verbose: bool,
    endpoint: str | None = None,
) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(
        record=True,
        force_terminal=color,
        no_color=not color,
        width=100,
        highlight=False,
        soft_wrap=True,
        file=io.StringIO(),
    )
    by_name = {d.result.subscription.name: d for d in deliveries or ()}
    mode = "dry run — nothing sent (add --live to send)"
    if deliveries is not None:
        mode = f"live, every request sent to {endpoint}" if endpoint else "live"
    console.print(Text(mode, style="bold"))
    for result in results:
        sub = result.subscription
        if not result.matched:
            console.print(Text(f"○ {sub.name}: not matched — {result.reason or ''}", style="dim"))
            continue
        problems = [e for e in result.errors if e.severity.value == "error"]
        if problems:
            console.print(Text(f"✗ {sub.name}: not sent, the payload is invalid", style="red"))
            for error in problems:
                console.print(Text(f"  {error.code} {error.message}", style="red"))
            continue
        if result.reason:
            console.print(Text(f"○ {sub.name}: nothing to send — {result.reason}", style="yellow"))
            continue
        delivery = by_name.get(sub.name)
        console.print(Text(f"● {sub.name} → {sub.action.name}", style="bold"))
        if delivery is None:
            for request in result.requests:
                _print_request(
                    console, request_view(request, redactor), body_text(request, redactor)
                )
            continue
        for exchange, view in zip(
            delivery.exchanges, _exchange_view(delivery, redactor, verbose), strict=True
        ):
            _print_request(console, view, body_text(exchange.request, redactor))
            response = view["response"]
            style = "green" if 200 <= response["status"] < 300 else "red"
            timing = f" {response['elapsed_ms']} ms" if verbose else ""
            console.print(
                Text(
                    f"  ← {response['status']} (attempt {response['attempts']}{timing})",
                    style=style,
                )
            )
            if verbose:
                for name, value in response.get("headers", {}).items():
                    console.print(Text(f"    {name}: {value}", style="dim"))
            body = response["body"]
            if body not in (None, ""):
                console.print(
                    Text("    " + (body if isinstance(body, str) else jsonwire.dumps_text(body)))
                )
        if delivery.error:
            console.print(Text(f"  ✗ not delivered: {redactor.text(delivery.error)}", style="red"))
    if changes is not None:
        if changes:
            console.print(
                Text(
                    f"✗ {len(changes)} difference(s) from the expected requests:", style="red bold"
                )
            )
            for change in changes:
                console.print(Text(f"  {change.describe()}", style="red"))
        else:
            console.print(Text("✓ requests match the expected file", style="green"))
    return console.export_text(styles=color)


def _print_request(console: Any, view: dict[str, Any], body: str) -> None:
    from rich.text import Text

    console.print(Text(f"  → {view['method']} {view['url']}", style="magenta"))
    for name, value in view["headers"].items():
        console.print(Text(f"    {name}: {value}", style="dim"))
    if body:
        console.print(Text(f"    {body}"))
