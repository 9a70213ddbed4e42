"""Reading single Segment events (files, stdin, bundled samples) with located errors."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

from cdpctl import codes, jsonwire, resources
from cdpctl.diagnostics import Diagnostic
from cdpctl.loading import LoadError, decode_text, read_text

MAX_EVENT_BYTES = 32 * 1024 * 1024
EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")


def event_problem(event: dict[str, Any]) -> str | None:
    """Why a JSON object is not a Segment event (no `type`, or not one of EVENT_TYPES), or None.
    One check for archives, test-event and send, so every command refuses the same events."""
    kind = event.get("type")
    if kind is None:
        return 'not a Segment event: no "type" (one of ' + ", ".join(EVENT_TYPES) + ")"
    if not isinstance(kind, str):
        return f'not a Segment event: "type" is {json_kind(kind)}, not a string'
    if kind not in EVENT_TYPES:
        guess = difflib.get_close_matches(kind.lower(), EVENT_TYPES, n=1)
        hint = f' — did you mean "{guess[0]}"?' if guess else f" (one of {', '.join(EVENT_TYPES)})"
        return f'not a Segment event: unknown type "{kind}"{hint}'
    return None


def json_kind(value: Any) -> str:
    """`a string`, `a number`, … — a JSON value's kind, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "null"


def load_event(spec: str) -> Any:
    """`-` reads stdin, an existing path reads that file, a bare name picks a bundled sample."""
    if spec == "-":
        raw = sys.stdin.buffer.read(MAX_EVENT_BYTES + 1)
        if len(raw) > MAX_EVENT_BYTES:
            raise LoadError(
                Diagnostic(
                    codes.FILE_TOO_LARGE, "event on stdin is larger than 32 MB", path="<stdin>"
                )
            )
        return parse_event(decode_text(raw, "<stdin>"), "<stdin>")
    path = Path(spec)
    if not path.exists() and spec in resources.sample_event_names():
        path = resources.path(f"sample_events/{spec}.json")
    elif not path.exists():
        samples = ", ".join(resources.sample_event_names())
        raise LoadError(
            Diagnostic(
                codes.FILE_UNREADABLE,
                f"no such event file, and not a bundled sample ({samples})",
                path=spec,
            )
        )
    return parse_event(read_text(path, limit=MAX_EVENT_BYTES), str(path))


def parse_event(text: str, name: str) -> dict[str, Any]:
    try:
        event = jsonwire.read(text, name)
    except jsonwire.JSONInputError as error:
        raise LoadError(error.diagnostic) from None
    if not isinstance(event, dict):
        raise LoadError(
            Diagnostic(
                codes.JSON_SYNTAX,
                "expected one Segment event (a JSON object)",
                path=name,
                line=1,
                column=1,
            )
        )
    problem = event_problem(event)
    if problem is not None:
        raise LoadError(Diagnostic(codes.INVALID_EVENT, problem, path=name, line=1, column=1))
    return event
