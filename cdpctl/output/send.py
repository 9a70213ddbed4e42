"""`send` views: requests (dry run), request + response (live), and golden-request diffs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cdpctl import jsonwire
from cdpctl.delivery.transport import Outcome
from cdpctl.diffing import Change
from cdpctl.output.terminal import escape
from cdpctl.output.test_event import (
    Verdicts,
    diagnostic_view,
    diagnostics,
    matched,
    reason,
    text_console,
)
from cdpctl.pipeline import Invalid, Ready, Skipped
from cdpctl.requestview import body_text, exchange_view, request_view
from cdpctl.secrets import Redactor

FAILURE_CHARS = 2000  # of a failure's reason shown (redacted first, then cut)


def render_json(
    event: Any,
    verdicts: Verdicts,
    outcomes: Mapping[str, Outcome] | None,
    changes: list[Change] | None,
    redactor: Redactor,
    *,
    verbose: bool,
    color: bool,
    endpoint: str | None,
) -> str:
    del color, endpoint
    subscriptions = []
    for sub, verdict in verdicts:
        entry: dict[str, Any] = {
            "subscription": sub.name,
            "action": sub.action.name,
            "matched": matched(verdict),
            "reason": reason(verdict),
            "errors": [diagnostic_view(d) for d in diagnostics(verdict)],
        }
        outcome = (outcomes or {}).get(sub.name)
        if outcome is not None:
            entry["requests"] = [
                exchange_view(e, redactor, headers=verbose) for e in outcome.exchanges
            ]
            entry["delivered"] = outcome.delivered
            entry["in_doubt"] = outcome.in_doubt
            failure = _failure(outcome)
            entry["error"] = redactor.clip(failure, FAILURE_CHARS) if failure else None
        else:
            requests = verdict.requests if isinstance(verdict, Ready) else ()
            entry["requests"] = [request_view(r, redactor) for r in requests]
        subscriptions.append(entry)
    document: dict[str, Any] = {
        "event": event,
        "live": outcomes is not None,
        "subscriptions": subscriptions,
    }
    if changes is not None:
        document["expect"] = {
            "matches": not changes,
            "differences": [c.describe() for c in changes],
        }
    return jsonwire.dumps_text(redactor.value(document)) + "\n"  # the last step, over everything


def _failure(outcome: Outcome) -> str | None:
    for item in outcome.items:
        if item.failure is not None:
            return item.failure.message
    return None


def render_text(
    event: Any,
    verdicts: Verdicts,
    outcomes: Mapping[str, Outcome] | None,
    changes: list[Change] | None,
    redactor: Redactor,
    *,
    verbose: bool,
    color: bool,
    endpoint: str | None,
) -> str:
    from rich.text import Text

    del event
    console = text_console(color)
    mode = "dry run — nothing sent (add --live to send)"
    if outcomes is not None:
        mode = f"live, every request sent to {escape(endpoint)}" if endpoint else "live"
    console.print(Text(mode, style="bold"))
    for sub, verdict in verdicts:
        if not matched(verdict):
            why = escape(f"{sub.name}: not matched — {reason(verdict) or ''}")
            console.print(Text(f"○ {why}", style="dim"))
            continue
        if isinstance(verdict, Invalid):
            console.print(
                Text(f"✗ {escape(sub.name)}: not sent, the payload is invalid", style="red")
            )
            for problem in verdict.diagnostics:
                if problem.is_error:
                    console.print(Text(f"  {problem.code} {escape(problem.message)}", style="red"))
            continue
        if isinstance(verdict, Skipped):
            skipped = escape(f"{sub.name}: nothing to send — {verdict.reason}")
            console.print(Text(f"○ {skipped}", style="yellow"))
            continue
        assert isinstance(verdict, Ready)
        console.print(Text(escape(f"● {sub.name} → {sub.action.name}"), style="bold"))
        outcome = (outcomes or {}).get(sub.name)
        if outcome is None:
            for request in verdict.requests:
                _print_request(
                    console, request_view(request, redactor), body_text(request, redactor)
                )
            continue
        for exchange in outcome.exchanges:
            view = exchange_view(exchange, redactor, headers=verbose)
            _print_request(console, view, body_text(exchange.request, redactor))
            response = view["response"]
            style = "green" if 200 <= response["status"] < 300 else "red"
            timing = f" {response['elapsed_ms']} ms" if verbose else ""
            console.print(
                Text(
                    f"  ← {response['status'] or 'no whole answer'} "
                    f"(attempt {response['attempts']}{timing})",
                    style=style,
                )
            )
            if verbose:
                for number, attempt in enumerate(response["tries"], start=1):
                    line = f"    attempt {number}: {_try_text(attempt)}"
                    console.print(Text(escape(line), style="dim"))
                for name, value in response.get("headers", {}).items():
                    console.print(Text(escape(f"    {name}: {value}"), style="dim"))
            body = response["body"]
            if body not in (None, ""):
                text = body if isinstance(body, str) else jsonwire.dumps_text(body)
                console.print(Text("    " + escape(redactor.text(text))))
        failure = _failure(outcome)
        shown = escape(redactor.clip(failure, FAILURE_CHARS)) if failure else ""
        if failure and outcome.in_doubt:
            console.print(
                Text(
                    f"  ? in doubt: {shown} — not sent again; check the provider before "
                    "sending this event once more",
                    style="yellow",
                )
            )
        elif failure:
            console.print(
                Text(
                    f"  ✗ not delivered: {shown}",
                    style="red",
                )
            )
    if changes is not None:
        if changes:
            console.print(
                Text(
                    f"✗ {len(changes)} difference(s) from the expected requests:", style="red bold"
                )
            )
            for change in changes:
                console.print(Text(f"  {escape(change.describe())}", style="red"))
        else:
            console.print(Text("✓ requests match the expected file", style="green"))
    return redactor.text(console.export_text(styles=color))  # the last step, over everything


def _try_text(attempt: dict[str, Any]) -> str:
    """`HTTP 429 in 3.1 ms, waited 1.0 s` / `ReadTimeout: … (sent; may have been processed)`."""
    text = f"{attempt['outcome']} in {attempt['elapsed_ms']} ms"
    if attempt["ambiguous"]:
        text += " (sent, no whole answer: the provider may have processed it)"
    if attempt["waited_s"]:
        text += f", waited {attempt['waited_s']:g} s"
    return text


def _print_request(console: Any, view: dict[str, Any], body: str) -> None:
    from rich.text import Text

    console.print(Text(escape(f"  → {view['method']} {view['url']}"), style="magenta"))
    for name, value in view["headers"].items():
        console.print(Text(escape(f"    {name}: {value}"), style="dim"))
    if body:
        console.print(Text(f"    {escape(body)}"))


VIEWS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}
