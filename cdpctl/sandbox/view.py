"""What the sandbox received, readable: per provider the acknowledged writes (method, path, a
short redacted summary of the body) and the receipt counts, keys received more than once first.

Built from the JSON of `GET /_sandbox/state` (`cdpctl sandbox show`). Text never carries a
control character from a request: each is written as a visible escape (`\\x1b`, `\\r`, …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from cdpctl import jsonwire
from cdpctl.secrets import REDACTED, Redactor

SUMMARY_CHARS = 100
# Body members whose values are credentials (Segment's `writeKey` in a body, tokens, …).
SECRET_MEMBERS = frozenset(
    {
        "writekey",
        "write_key",
        "apikey",
        "api_key",
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "authorization",
    }
)
# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with every control character as a visible escape, safe to print to a terminal."""

    def visible(match: re.Match[str]) -> str:
        char = match.group()
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(visible, text)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in SECRET_MEMBERS else _without_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


def summary(body: Any, redactor: Redactor | None = None) -> str:
    """A body in one short line: compact JSON, credentials redacted, cut at SUMMARY_CHARS."""
    if body is None:
        return "(no JSON body)"
    text = jsonwire.dumps(_without_secrets(body)).decode()
    if redactor is not None:
        text = redactor.text(text)
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 1] + "…"
    return text


def build(
    state: Mapping[str, Any], credentials: Iterable[str] = (), last: int | None = None
) -> dict[str, Any]:
    """The view as data (what `--json` prints): per provider with anything received, its
    writes (the `last` ones, all when None), how many, and its receipts."""
    redactor = Redactor()
    for value in credentials:
        redactor.add(value)
    providers: dict[str, Any] = {}
    receipts = state.get("receipts") or {}
    for name, provider in sorted((state.get("providers") or {}).items()):
        received = provider.get("received") or []
        counts: dict[str, int] = receipts.get(name) or {}
        if not received and not counts:
            continue
        shown = received if last is None else received[-last:] if last else []
        duplicates = sorted(
            ((key, count) for key, count in counts.items() if count > 1),
            key=lambda pair: (-pair[1], pair[0]),
        )
        providers[name] = {
            "writes": len(received),
            "shown": [
                {
                    "method": write.get("method"),
                    "path": write.get("path"),
                    "summary": summary(write.get("body"), redactor),
                }
                for write in shown
            ],
            "keys": len(counts),
            "duplicates": [{"key": key, "count": count} for key, count in duplicates],
            "receipts": dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))),
        }
    return {"providers": providers}


def render_text(view: Mapping[str, Any]) -> str:
    """The view for a terminal: control characters escaped everywhere."""
    providers = view["providers"]
    if not providers:
        return "the sandbox has received nothing yet\n"
    lines: list[str] = []
    for name, provider in providers.items():
        twice = provider["duplicates"]
        lines.append(
            f"{name}: {provider['writes']} write(s), {provider['keys']} key(s) received, "
            f"{len(twice)} received more than once"
        )
        if twice:
            lines.append("  received more than once:")
            lines.extend(f"    {item['count']}×  {item['key']}" for item in twice)
        shown = provider["shown"]
        if shown:
            hidden = provider["writes"] - len(shown)
            more = f" (the last {len(shown)}; {hidden} before them)" if hidden else ""
            lines.append(f"  writes{more}:")
            lines.extend(
                f"    {write['method']} {write['path']}  {write['summary']}" for write in shown
            )
    return "".join(escape_controls(line) + "\n" for line in lines)
