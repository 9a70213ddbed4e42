"""Writing commented YAML by hand (PyYAML's dumper cannot emit comments).

Mapping values are written as JSON, which is YAML's flow style, so a directive reads exactly as
in Segment's UI: `email: {"@path": "$.traits.email"}`; an object too long for one line becomes
a nested block.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

WIDTH = 100

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def key(name: str) -> str:
    return name if _PLAIN_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def flow(value: Any) -> str:
    """One-line YAML for any JSON value."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def plain_or_quoted(text: str) -> str:
    """A string written plainly when YAML reads it back unchanged (FQL triggers and `${ENV}`
    references read better without quotes), else as a JSON string."""
    import yaml

    candidate = (
        bool(text)
        and text[0] not in "-?:,[]{}#&*!|>'\"%@`"
        and text == text.strip()
        and not any(mark in text for mark in (" #", ": ", "\n", "\t"))
        and not text.endswith(":")
    )
    if candidate:
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def scalar(value: Any) -> str:
    return plain_or_quoted(value) if isinstance(value, str) else flow(value)


def entry(name: str, value: Any, indent: int, comment: str = "") -> list[str]:
    """`name: value` lines at `indent`; objects and lists too long for one line become nested
    blocks (their short parts stay in flow style)."""
    pad = " " * indent
    suffix = f"  # {comment}" if comment else ""
    one_line = f"{pad}{key(name)}: {flow(value)}"
    if len(one_line) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return [one_line + suffix]
    lines = [f"{pad}{key(name)}:{suffix}"]
    if isinstance(value, dict):
        for child_key, child in value.items():
            lines.extend(entry(str(child_key), child, indent + 2))
    else:
        for item in value:
            lines.extend(_item(item, indent + 2))
    return lines


def _item(value: Any, indent: int) -> list[str]:
    """One `- value` of a block sequence."""
    pad = " " * indent
    one_line = f"{pad}- {flow(value)}"
    if len(one_line) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return [one_line]
    if isinstance(value, list):
        lines = [f"{pad}-"]
        for item in value:
            lines.extend(_item(item, indent + 2))
        return lines
    lines = []
    for child_key, child in value.items():
        lines.extend(entry(str(child_key), child, indent + 2))
    lines[0] = f"{pad}- {lines[0][indent + 2 :]}"
    return lines


def comment(text: str, indent: int, hang: int = 0) -> list[str]:
    """`text` as `# ` comment lines wrapped to WIDTH; continuation lines indented by `hang`."""
    pad = " " * indent + "# "
    return textwrap.wrap(
        text,
        WIDTH - len(pad) - hang,
        initial_indent=pad,
        subsequent_indent=pad + " " * hang,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [pad.rstrip()]
