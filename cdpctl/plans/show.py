"""What `cdpctl plan show` prints: the loaded plan as rows (JSON) or a table (text), so users
see what cdpctl understood of their plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdpctl.plans.formats import FORMATS
from cdpctl.plans.model import PlanEvent, PlanProperty, TrackingPlan


def plan_row(plan: TrackingPlan) -> dict[str, Any]:
    return {
        "path": plan.path,
        "format": plan.format,
        "name": plan.name,
        "events": [_event_row(event) for event in plan.events],
    }


def _event_row(event: PlanEvent) -> dict[str, Any]:
    return {
        "type": event.call_type,
        "name": event.name,
        "source": event.source,
        "line": event.line,
        "description": event.description,
        "properties": [_property_row(prop) for prop in event.properties],
    }


def _property_row(prop: PlanProperty) -> dict[str, Any]:
    return {
        "path": prop.dotted,
        "type": list(prop.types),
        "format": prop.format,
        "required": prop.required,
        "always": prop.guaranteed,
        "enum": list(prop.enum) if prop.enum is not None else None,
        "pattern": prop.pattern,
        "description": prop.description,
    }


def plan_text(plan: TrackingPlan, cell: Callable[[str], str] = str) -> str:
    """A heading line, then one row per declared property (REQUIRED: present whenever its
    parent is). `cell` shows one value from the plan (the terminal view escapes it)."""
    rows = [("EVENT", "CALL", "PROPERTY", "TYPE", "REQUIRED", "FORMAT / VALUES")]
    for event in plan.events:
        name = event.name if event.name is not None else "(every event)"
        props = event.properties or ()
        if not props:
            rows.append((name, event.call_type, "—", "", "", ""))
        for index, prop in enumerate(props):
            rows.append(
                (
                    name if index == 0 else "",
                    event.call_type if index == 0 else "",
                    prop.dotted,
                    prop.type_text,
                    "yes" if prop.required else "no",
                    _constraints(prop),
                )
            )
    shown = [[cell(text) for text in row] for row in rows]
    widths = [max(len(row[i]) for row in shown) for i in range(len(shown[0]))]
    lines = [
        "  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)).rstrip()
        for row in shown
    ]
    count = len(plan.events)
    title = f' "{cell(plan.name)}"' if plan.name else ""
    heading = f"{FORMATS[plan.format]}{title}: {count} event{'s' if count != 1 else ''}"
    return heading + "\n\n" + "\n".join(lines) + "\n"


def _constraints(prop: PlanProperty) -> str:
    parts = []
    if prop.format:
        parts.append(f"format {prop.format}")
    if prop.enum is not None:
        parts.append(", ".join(str(v) for v in prop.enum))
    if prop.pattern:
        parts.append(f"pattern {prop.pattern}")
    return "; ".join(parts)
