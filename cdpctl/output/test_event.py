"""Views of `test-event` verdicts: a JSON document and a rich text rendering."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from cdpctl import jsonwire
from cdpctl.diagnostics import Diagnostic, format_json_path
from cdpctl.output import terminal
from cdpctl.output.terminal import escape
from cdpctl.pipeline import (
    CompiledSubscription,
    Disabled,
    Invalid,
    NoMatch,
    Ready,
    Skipped,
    Verdict,
)
from cdpctl.requestview import body_text, request_view
from cdpctl.secrets import Redactor

Verdicts = Sequence[tuple[CompiledSubscription, Verdict]]


def diagnostic_view(problem: Diagnostic) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": problem.code,
        "severity": problem.severity.value,
        "message": problem.message,
        "field": format_json_path(problem.json_path) if problem.json_path else None,
    }
    if problem.hint:
        view["hint"] = problem.hint
    if problem.status is not None:
        view["status"] = problem.status
    return view


def matched(verdict: Verdict) -> bool:
    return isinstance(verdict, (Invalid, Skipped, Ready))


def reason(verdict: Verdict) -> str | None:
    """Why nothing is sent (not matched, disabled, or skipped by the provider's rules)."""
    if isinstance(verdict, Disabled):
        return "subscription is disabled"
    if isinstance(verdict, NoMatch):
        return verdict.explain
    if isinstance(verdict, Skipped):
        return verdict.reason
    return None


def payload(verdict: Verdict) -> dict[str, Any] | None:
    return verdict.payload if isinstance(verdict, (Invalid, Skipped, Ready)) else None


def diagnostics(verdict: Verdict) -> tuple[Diagnostic, ...]:
    if isinstance(verdict, Invalid):
        return verdict.diagnostics
    if isinstance(verdict, (Skipped, Ready)):
        return verdict.warnings
    return ()


def verdict_view(sub: CompiledSubscription, verdict: Verdict, redactor: Redactor) -> dict[str, Any]:
    mapped = payload(verdict)
    return {
        "subscription": sub.name,
        "action": sub.action.name,
        "trigger": sub.trigger,
        "trigger_warnings": [
            {"column": w.column, "message": w.message, "drops_condition": w.drops_condition}
            for w in sub.trigger_warnings
        ],
        "matched": matched(verdict),
        "reason": reason(verdict),
        "payload": redactor.value(mapped),
        "defaulted": [name for name in sub.defaulted if mapped and name in mapped],
        "errors": [diagnostic_view(d) for d in diagnostics(verdict)],
        "requests": [
            request_view(r, redactor)
            for r in (verdict.requests if isinstance(verdict, Ready) else ())
        ],
    }


def render_json(
    event: Any,
    verdicts: Verdicts,
    redactor: Redactor,
    *,
    color: bool,
    plan: Sequence[Diagnostic] = (),
) -> str:
    del color
    document = {
        "event": event,
        "plan_violations": [diagnostic_view(d) for d in plan],
        "results": [verdict_view(s, v, redactor) for s, v in verdicts],
    }
    return jsonwire.dumps_text(document) + "\n"


def text_console(color: bool, width: int = 100) -> Any:
    """A rich console that records what is printed, for `export_text` (never writes itself);
    every piece of text it renders is terminal-safe (cdpctl.output.terminal)."""
    return terminal.console(
        record=True,
        force_terminal=color,
        no_color=not color,
        width=width,
        soft_wrap=True,
        file=io.StringIO(),
    )


def render_text(
    event: Any,
    verdicts: Verdicts,
    redactor: Redactor,
    *,
    color: bool,
    plan: Sequence[Diagnostic] = (),
) -> str:
    from rich.syntax import Syntax
    from rich.text import Text

    console = text_console(color)
    event_type = event.get("type", "?") if isinstance(event, dict) else "?"
    label = event.get("event") or event.get("name") or "" if isinstance(event, dict) else ""
    console.print(
        Text.assemble(
            ("event ", "bold"),
            (escape(f"{event_type}"), "cyan"),
            (escape(f" {label!r}") if label else "", "cyan"),
        )
    )
    if plan:
        console.print(Text(f"✗ breaks the tracking plan ({len(plan)} violation(s))", style="red"))
        for problem in plan:
            print_diagnostic(console, problem)

    def json_block(value: Any) -> Any:
        return Syntax(_indent(value), "json", theme="ansi_dark", background_color="default")

    for sub, verdict in verdicts:
        heading = escape(f"{sub.name} → {sub.action.name}")
        console.print()
        for warning in sub.trigger_warnings:
            what = "Segment drops a condition" if warning.drops_condition else "trigger"
            console.print(
                Text(
                    escape(f"⚠ {what} (column {warning.column}): {warning.message}"),
                    style="yellow",
                )
            )
        if not matched(verdict):
            state = "disabled" if isinstance(verdict, Disabled) else "not matched"
            console.print(Text.assemble(("○ ", "dim"), (heading, "bold"), (f"  {state}", "dim")))
            why = reason(verdict)
            if why and not isinstance(verdict, Disabled):
                console.print(Text(f"  {escape(why)}", style="dim"))
            continue
        invalid = isinstance(verdict, Invalid)
        if isinstance(verdict, Skipped):  # the trigger matched, but nothing goes out
            mark, style, state = "○ ", "yellow", "  matched, skipped: nothing to send"
        else:
            mark, style = ("✗ ", "red") if invalid else ("✓ ", "green")
            state = "  matched"
        console.print(Text.assemble((mark, style), (heading, "bold"), (state, style)))
        mapped = payload(verdict)
        if mapped is not None:
            console.print(Text("  payload", style="bold"))
            console.print(json_block(redactor.value(mapped)))
            defaulted = [n for n in sub.defaulted if n in mapped]
            if defaulted:
                console.print(Text("  from defaults: " + escape(", ".join(defaulted)), style="dim"))
        for problem in diagnostics(verdict):
            print_diagnostic(console, problem)
        if isinstance(verdict, Skipped):
            console.print(Text(f"  skipped: {escape(verdict.reason)}", style="yellow"))
        if isinstance(verdict, Ready):
            for request in verdict.requests:
                print_request(
                    console,
                    request_view(request, redactor),
                    body_text(request, redactor),
                    json_block,
                )
    console.print()
    count = sum(1 for _, verdict in verdicts if matched(verdict))
    skipped = sum(1 for _, verdict in verdicts if isinstance(verdict, Skipped))
    tail = f" ({skipped} skipped: nothing to send)" if skipped else ""
    console.print(Text(f"{count} of {len(verdicts)} subscription(s) matched{tail}", style="bold"))
    return redactor.text(console.export_text(styles=color))  # the last step, over everything


def print_diagnostic(console: Any, problem: Diagnostic) -> None:
    from rich.text import Text

    where = format_json_path(problem.json_path) if problem.json_path else ""
    severity_style = "red" if problem.is_error else "yellow"
    console.print(
        Text.assemble(
            (f"  {problem.severity.value} {problem.code} ", severity_style),
            (escape(f"{where} ") if where else "", "bold"),
            escape(problem.full_message()),
        )
    )


def print_request(
    console: Any, view: dict[str, Any], body: str, json_block: Callable[[Any], Any]
) -> None:
    from rich.text import Text

    console.print(
        Text.assemble(
            ("  " + view["method"] + " ", "bold magenta"),
            (escape(view["url"]), "magenta"),
            (escape(f"  ({view['purpose']})") if view.get("purpose") else "", "dim"),
        )
    )
    for name, value in view["headers"].items():
        console.print(Text(escape(f"  {name}: {value}"), style="dim"))
    if view.get("json") is not None:
        console.print(json_block(jsonwire.loads(body)))
    elif body:
        console.print(Text(f"  {escape(body)}"))


def _indent(value: Any) -> str:
    import json

    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "\n".join("  " + line for line in text.splitlines())


VIEWS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}
