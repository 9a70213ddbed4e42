"""Reading single Segment events (files, stdin, bundled samples) with located errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cdpctl import codes, jsonwire, resources
from cdpctl.diagnostics import Diagnostic
from cdpctl.loading import LoadError, decode_text, read_text

MAX_EVENT_BYTES = 32 * 1024 * 1024


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
        event = jsonwire.loads(text)
    except jsonwire.JSONDecodeError as error:
        line, column = _json_error_position(text, error.pos)
        raise LoadError(
            Diagnostic(
                codes.JSON_SYNTAX, f"invalid JSON: {error.msg}", path=name, line=line, column=column
            )
        ) from None
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
    return event


def _json_error_position(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column
