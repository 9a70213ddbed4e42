"""Editing a mapping file's text in place, keeping its comments, order and layout.

PyYAML cannot write comments back, so edits are made on lines, located with the loader's
positions: a subscription is the lines from its `- ` to its last content line; a key is the
lines from the key to its value's last content line (comment lines above the next key stay
with that key). Only block-style subscriptions are edited; a flow-style one (`- {name: …}`)
makes the edit give up (None), and the caller says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdpctl import yamltext
from cdpctl.loading import Document, LoadError, parse_yaml


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


@dataclass(frozen=True, slots=True)
class _Item:
    start: int  # 0-based line of the item's `- `
    end: int  # 0-based last content line
    column: int  # 0-based column of its keys
    keys: tuple[tuple[str, int], ...]  # (key, 0-based line) in line order


class _Layout:
    def __init__(self, text: str, document: Document) -> None:
        self.lines = text.splitlines()
        self.document = document

    def top_end(self, key: str) -> int:
        """The last line of the top-level `key`'s value (before the next top-level key)."""
        data = self.document.data
        here = self.document.positions[(key,)].key_line or 1
        later = [
            (self.document.positions[(k,)].key_line or 1) - 1
            for k in data
            if (self.document.positions[(k,)].key_line or 1) > here
        ]
        limit = min(later, default=len(self.lines))
        return self._last_content(here - 1, limit)

    def _last_content(self, start: int, limit: int) -> int:
        end = start
        for index in range(start, limit):
            if _is_content(self.lines[index]):
                end = index
        return end

    def item(self, index: int) -> _Item | None:
        items = self.document.data.get("subscriptions")
        if not isinstance(items, list) or not isinstance(items[index], dict) or not items[index]:
            return None
        position = self.document.positions[("subscriptions", index)]
        start, column = position.line - 1, position.column - 1
        keys = []
        for key in items[index]:
            found = self.document.positions.get(("subscriptions", index, key))
            if found is None or found.key_line is None:
                return None
            keys.append((key, found.key_line - 1))
        if len({line for _, line in keys}) != len(keys) or keys[0][1] != start:
            return None  # flow style, or keys sharing a line
        if index + 1 < len(items):
            limit = self.document.positions[("subscriptions", index + 1)].line - 1
        else:
            limit = self.top_end("subscriptions") + 1
        return _Item(start, self._last_content(start, limit), column, tuple(keys))

    def key_span(self, item: _Item, key: str) -> tuple[int, int] | None:
        ordered = sorted(item.keys, key=lambda pair: pair[1])
        for position, (name, line) in enumerate(ordered):
            if name == key:
                limit = ordered[position + 1][1] if position + 1 < len(ordered) else item.end + 1
                return line, self._last_content(line, limit)
        return None


def _value_lines(key: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if key == "mapping":
        if not value:
            return [f"{pad}mapping: {{}}"]
        lines = [f"{pad}mapping:"]
        for field, mapped in value.items():
            lines.extend(yamltext.entry(field, mapped, indent + 2))
        return lines
    if isinstance(value, bool):
        return [f"{pad}{key}: {'true' if value else 'false'}"]
    if isinstance(value, str):
        return [f"{pad}{key}: {yamltext.plain_or_quoted(value)}"]
    return yamltext.entry(key, value, indent)


def _reparse(text: str) -> Document | None:
    try:
        return parse_yaml(text, "<edit>")
    except LoadError:
        return None


def set_keys(text: str, index: int, values: Mapping[str, Any], after: str = "name") -> str | None:
    """Subscription `index` with `values` set: existing keys replaced where they are, new
    ones added after `after` (`id`) or at its end. None when the file cannot be edited so."""
    for key, value in values.items():
        document = _reparse(text)
        if document is None:
            return None
        layout = _Layout(text, document)
        item = layout.item(index)
        if item is None:
            return None
        span = layout.key_span(item, key)
        if span is not None:
            first, last = span
            new = _value_lines(key, value, item.column)
            prefix = layout.lines[first][: item.column]
            new[0] = prefix + new[0][item.column :]
            lines = layout.lines[:first] + new + layout.lines[last + 1 :]
        else:
            anchor = layout.key_span(item, after) if key == "id" else None
            at = (anchor[1] if anchor else item.end) + 1
            lines = layout.lines[:at] + _value_lines(key, value, item.column) + layout.lines[at:]
        text = "\n".join(lines) + "\n"
    return text


def item_block(text: str, index: int) -> list[str] | None:
    """The lines of subscription `index`, with the comment lines right above it."""
    found = _item_span(text, index)
    if found is None:
        return None
    lines, start, end = found
    return lines[start:end]


def remove_item(text: str, index: int) -> str | None:
    """The text without subscription `index` (and the comments right above it)."""
    found = _item_span(text, index)
    if found is None:
        return None
    lines, start, end = found
    blank_before = start > 0 and not lines[start - 1].strip()
    if blank_before and end < len(lines) and not lines[end].strip():
        end += 1  # one blank line separated it from its neighbours: keep one
    return "\n".join(lines[:start] + lines[end:]) + "\n"


def _item_span(text: str, index: int) -> tuple[list[str], int, int] | None:
    """The text's lines and where subscription `index` starts (its comment lines right above
    it included) and ends (exclusive); None when the text or the item cannot be read."""
    document = _reparse(text)
    if document is None:
        return None
    layout = _Layout(text, document)
    item = layout.item(index)
    if item is None:
        return None
    start = item.start
    while start > 0 and layout.lines[start - 1].strip().startswith("#"):
        start -= 1
    return layout.lines, start, item.end + 1


def append_items(text: str, blocks: list[list[str]], dash_column: int = 2) -> str | None:
    """New subscriptions (blocks written with their `- ` at `dash_column`) after the last."""
    document = _reparse(text)
    if document is None or not isinstance(document.data.get("subscriptions"), list):
        return None
    layout = _Layout(text, document)
    count = len(document.data["subscriptions"])
    if count == 0:
        return None
    last = layout.item(count - 1)
    if last is None:
        return None
    shift = (last.column - 2) - dash_column
    added: list[str] = []
    for block in blocks:
        added.append("")
        for line in block:
            if shift >= 0:
                added.append(" " * shift + line if line else line)
            else:
                cut = min(-shift, len(line) - len(line.lstrip(" ")))
                added.append(line[cut:])
    at = last.end + 1
    return "\n".join(layout.lines[:at] + added + layout.lines[at:]) + "\n"


def set_segment_link(text: str, destination_id: str, region: str) -> str | None:
    """`destination.segment` added, or its values replaced."""
    document = _reparse(text)
    if document is None or not isinstance(document.data.get("destination"), dict):
        return None
    layout = _Layout(text, document)
    destination = document.data["destination"]
    first = document.positions.get(("destination", next(iter(destination), "")))
    if first is None or first.key_line is None:
        return None
    pad = " " * (first.key_column - 1 if first.key_column else 2)
    block = [
        f"{pad}segment:",
        f"{pad}  destination_id: {yamltext.plain_or_quoted(destination_id)}",
        f"{pad}  region: {region}",
    ]
    existing = document.positions.get(("destination", "segment"))
    if existing is not None and existing.key_line is not None:
        start = existing.key_line - 1
        keys = [
            (document.positions[("destination", k)].key_line or 1) - 1
            for k in destination
            if (document.positions[("destination", k)].key_line or 1) - 1 > start
        ]
        limit = min(keys, default=layout.top_end("destination") + 1)
        end = layout._last_content(start, limit)
        lines = layout.lines[:start] + block + layout.lines[end + 1 :]
    else:
        at = layout.top_end("destination") + 1
        lines = layout.lines[:at] + block + layout.lines[at:]
    return "\n".join(lines) + "\n"
