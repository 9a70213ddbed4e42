"""What cdpctl knows about providers, actions and fields, as plain data for the discovery
commands (`cdpctl providers`, `actions`, `fields`) and their text renderers.

Everything here is read from the provider modules, the one place those facts live.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Action, Field, Provider


class LookupFailed(Exception):
    """An unknown provider or action; the message says what is known and the closest name."""


def _unknown(kind: str, name: str, known: list[str]) -> LookupFailed:
    guess = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f' — did you mean "{guess[0]}"?' if guess else ""
    return LookupFailed(f'unknown {kind} "{name}"{hint} (known: {", ".join(known)})')


def find_provider(name: str) -> Provider:
    provider = get_provider(name)
    if provider is None:
        raise _unknown("provider", name, list(provider_names()))
    return provider


def find_action(provider: Provider, name: str) -> Action:
    action = provider.action(name)
    if action is None:
        raise _unknown(f"{provider.name} action", name, [a.name for a in provider.actions])
    return action


def all_providers() -> list[Provider]:
    providers = [get_provider(name) for name in provider_names()]
    return [p for p in providers if p is not None]


# --- rows ------------------------------------------------------------------------------------


def provider_row(provider: Provider) -> dict[str, Any]:
    return {
        "name": provider.name,
        "title": provider.title,
        "actions": len(provider.actions),
        "rateLimit": {
            "requestsPerSecond": provider.rate_limit.requests_per_second,
            "note": provider.rate_limit.note,
            "docs": provider.rate_limit.doc_url,
        },
        "docs": provider.docs_url,
    }


def action_row(action: Action) -> dict[str, Any]:
    return {
        "name": action.name,
        "title": action.title,
        "defaultTrigger": action.default_trigger.strip() or None,
        "batch": None
        if action.batch is None
        else {"maxEvents": action.batch.max_events, "maxBytes": action.batch.max_bytes},
        "description": action.description,
    }


def type_name(field: Field) -> str:
    """`string`, `object`, `string[]` … as the action schemas declare them."""
    return field.type.value + ("[]" if field.multiple else "")


def constraints(field: Field) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if field.enum is not None:
        found["enum"] = list(field.enum)
    if field.format is not None:
        found["format"] = field.format.value
    if field.max_length is not None:
        found["maxLength"] = field.max_length
    if field.minimum is not None:
        found["minimum"] = field.minimum
    if field.maximum is not None:
        found["maximum"] = field.maximum
    if field.allow_null:
        found["nullable"] = True
    return found


def field_row(field: Field) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": field.name,
        "title": field.title,
        "type": type_name(field),
        "required": field.required,
        "default": field.default if field.has_default else None,
        "constraints": constraints(field),
        "description": field.description,
    }
    if field.properties:
        row["properties"] = [field_row(child) for child in field.properties]
    return row


# --- text views ------------------------------------------------------------------------------


def compact_json(value: Any) -> str:
    """A mapping value as one line: `{"@path": "$.traits.email"}`."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rate(provider: Provider) -> str:
    rps = provider.rate_limit.requests_per_second
    return f"{rps:g}/s"


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = []
    for cells in (headers, *rows):
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(cells[:-1])]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def providers_text(providers: list[Provider]) -> str:
    rows = [(p.name, p.title, str(len(p.actions)), _rate(p), p.docs_url) for p in providers]
    return table(("PROVIDER", "TITLE", "ACTIONS", "RATE LIMIT", "DOCS"), rows)


def actions_text(provider: Provider) -> str:
    rows = [
        (
            a.name,
            a.title,
            "yes" if a.batch is not None else "no",
            a.default_trigger.strip() or "(none: choose one)",
        )
        for a in provider.actions
    ]
    return table(("ACTION", "TITLE", "BATCH", "DEFAULT TRIGGER"), rows)


def constraint_text(field: Field) -> str:
    parts = []
    if field.enum is not None:
        parts.append("one of " + ", ".join(compact_json(v) for v in field.enum))
    if field.format is not None:
        parts.append(f"format {field.format.value}")
    if field.max_length is not None:
        parts.append(f"max length {field.max_length}")
    if field.minimum is not None:
        parts.append(f"minimum {field.minimum:g}")
    if field.maximum is not None:
        parts.append(f"maximum {field.maximum:g}")
    if field.allow_null:
        parts.append("null allowed")
    return "; ".join(parts)


def _field_lines(field: Field, prefix: str = "", indent: str = "") -> list[str]:
    head = [
        f"{indent}{prefix}{field.name}",
        type_name(field),
        "required" if field.required else "optional",
    ]
    if field.has_default:
        head.append("default " + compact_json(field.default))
    lines = ["  ".join(head)]
    more = indent + "    "
    if field.title and field.title != field.name:
        lines.append(f"{more}{field.title}")
    text = constraint_text(field)
    if text:
        lines.append(f"{more}{text}")
    if field.description:
        lines.append(f"{more}{field.description}")
    for child in field.properties:
        lines.extend(_field_lines(child, f"{prefix}{field.name}.", indent + "  "))
    return lines


def fields_text(provider: Provider, action: Action) -> str:
    trigger = action.default_trigger.strip() or "(none: choose one)"
    batching = f"up to {action.batch.max_events} events" if action.batch else "no"
    lines = [
        f"{provider.name}.{action.name} — {action.title}",
        f"default trigger: {trigger}",
        f"batching: {batching}",
        "",
    ]
    for field in action.fields:
        lines.extend(_field_lines(field))
        lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ActionRef:
    """`PROVIDER.ACTION` as written on the command line."""

    provider: Provider
    action: Action

    @classmethod
    def parse(cls, text: str) -> ActionRef:
        provider_name, dot, action_name = text.partition(".")
        if not dot or not action_name:
            raise LookupFailed(f'expected PROVIDER.ACTION, e.g. "loops.sendEvent" (got "{text}")')
        provider = find_provider(provider_name)
        return cls(provider, find_action(provider, action_name))


# --- published schemas -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaWrite:
    written: tuple[str, ...]  # paths (relative to the folder) whose content changed
    unchanged: tuple[str, ...]
    stale: tuple[str, ...]  # *.schema.json files in the folder that cdpctl no longer generates


def write_schemas(folder: Path) -> SchemaWrite:
    """Write every schema cdpctl publishes under `folder`, touching only files whose text
    changed; report (never delete) schema files that no longer correspond to anything."""
    from cdpctl.schema import all_schemas, schema_text

    schemas = all_schemas()
    written, unchanged = [], []
    for relative, value in schemas.items():
        target = folder / relative
        text = schema_text(value)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            unchanged.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(relative)
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.schema.json"))
    stale = tuple(p for p in present if p not in schemas)
    return SchemaWrite(tuple(written), tuple(unchanged), stale)
