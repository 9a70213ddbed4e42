"""Views of `test-event` results: a JSON document and a rich text rendering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdpctl import jsonwire
from cdpctl.diagnostics import Diagnostic, format_json_path
from cdpctl.output.requests import body_text, request_view
from cdpctl.pipeline import SubscriptionResult
from cdpctl.secrets import Redactor


def error_view(error: Diagnostic) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": error.code,
        "severity": error.severity.value,
        "message": error.message,
        "field": format_json_path(error.json_path) if error.json_path else None,
    }
    if error.hint:
        view["hint"] = error.hint
    return view


def result_view(result: SubscriptionResult, redactor: Redactor) -> dict[str, Any]:
    sub = result.subscription
    return {
        "subscription": sub.name,
        "action": sub.action.name,
        "trigger": sub.trigger,
        "matched": result.matched,
        "reason": result.reason,
        "payload": redactor.value(result.payload),
        "defaulted": [name for name in sub.defaulted if result.payload and name in result.payload],
        "errors": [error_view(e) for e in result.errors],
        "requests": [request_view(r, redactor) for r in result.requests],
    }


def render_json(event: Any, results: Sequence[SubscriptionResult], redactor: Redactor) -> str:
    document = {"event": event, "results": [result_view(r, redactor) for r in results]}
    return jsonwire.dumps_text(document) + "\n"


def render_text(
    event: Any,
    results: Sequence[SubscriptionResult],
    redactor: Redactor,
    *,
    color: bool,
    width: int | None = None,
) -> str:
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.text import Text

    console = Console(
        record=True,
        force_terminal=color,
        no_color=not color,
        width=width or 100,
        highlight=False,
        soft_wrap=True,
    )
    event_type = event.get("type", "?") if isinstance(event, dict) else "?"
    label = event.get("event") or event.get("name") or "" if isinstance(event, dict) else ""
    console.print(
        Text.assemble(
            ("event ", "bold"), (f"{event_type}", "cyan"), (f" {label!r}" if label else "", "cyan")
        )
    )
    matched = sum(1 for r in results if r.matched)
    for result in results:
        sub = result.subscription
        heading = f"{sub.name} → {sub.action.name}"
        console.print()
        if not result.matched:
            console.print(Text.assemble(("○ ", "dim"), (heading, "bold"), ("  not matched", "dim")))
            if result.reason:
                console.print(Text(f"  {result.reason}", style="dim"))
            continue
        mark, style = ("✗ ", "red") if result.has_errors else ("✓ ", "green")
        console.print(Text.assemble((mark, style), (heading, "bold"), ("  matched", style)))
        if result.payload is not None:
            console.print(Text("  payload", style="bold"))
            defaulted = [n for n in sub.defaulted if n in result.payload]
            console.print(
                Syntax(
                    _indent(redactor.value(result.payload)),
                    "json",
                    theme="ansi_dark",
                    background_color="default",
                )
            )
            if defaulted:
                console.print(Text("  from defaults: " + ", ".join(defaulted), style="dim"))
        for error in result.errors:
            where = format_json_path(error.json_path) if error.json_path else ""
            severity_style = "red" if error.severity.value == "error" else "yellow"
            console.print(
                Text.assemble(
                    (f"  {error.severity.value} {error.code} ", severity_style),
                    (f"{where} " if where else "", "bold"),
                    error.message + (f" — {error.hint}" if error.hint else ""),
                )
            )
        if result.reason:
            console.print(Text(f"  nothing to send: {result.reason}", style="yellow"))
        for request in result.requests:
            view = request_view(request, redactor)
            console.print(
                Text.assemble(
                    ("  " + view["method"] + " ", "bold magenta"),
                    (view["url"], "magenta"),
                    (f"  ({request.purpose})" if request.purpose else "", "dim"),
                )
            )
            for name, value in view["headers"].items():
                console.print(Text(f"  {name}: {value}", style="dim"))
            body = body_text(request, redactor)
            if view.get("json") is not None:
                console.print(
                    Syntax(
                        _indent(jsonwire.loads(body)),
                        "json",
                        theme="ansi_dark",
                        background_color="default",
                    )
                )
            elif body:
                console.print(Text(f"  {body}"))
    console.print()
    console.print(Text(f"{matched} of {len(results)} subscription(s) matched", style="bold"))
    return console.export_text(styles=color)


def _indent(value: Any) -> str:
    import json

    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "\n".join("  " + line for line in text.splitlines())
