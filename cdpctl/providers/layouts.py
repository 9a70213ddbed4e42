"""Message layouts: a request body declared as data, compiled once into its builder.

A provider declares a message as entries in the order its keys are sent: `Pick` copies a
payload field when the payload has it, `Copy` an object field as a new object (`{}` when
absent) with other fields laid over it, `Rule` the answer of a function of the whole payload,
`Fixed` a constant, `Nested` an object of entries. `compile_layout` writes the builder as one
Python function (no per-key loop); the provider's plan builds its request body with it, and
the compiled judge sizes that same body, so a layout is declared once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Builder = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Pick:
    key: str
    field: str


@dataclass(frozen=True, slots=True)
class Copy:
    key: str
    field: str
    overlay: tuple[tuple[str, str], ...] = ()  # (key, field): set when the payload has the field


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    rule: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Fixed:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Nested:
    key: str
    entries: tuple[Entry, ...]


Entry = Pick | Copy | Rule | Fixed | Nested

_ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "<absent>"})()


def compile_layout(
    name: str, entries: tuple[Entry, ...], fields: frozenset[str] | None = None
) -> Builder:
    """The builder of a message laid out as `entries`: payload → the message's JSON value.
    With `fields`, for payloads that hold no other fields (a compiled mapping's): what the
    others would add (nothing, or an empty object) is written without looking for them."""
    writer = _Writer(fields)
    writer.lines.append("def build(p):")
    message = writer.entries(entries)
    writer.lines.append(f"    return {message}")
    namespace = dict(writer.names)
    exec(compile("\n".join(writer.lines) + "\n", f"<layout {name}>", "exec"), namespace)
    built: Builder = namespace["build"]
    return built


class _Writer:
    def __init__(self, fields: frozenset[str] | None) -> None:
        self.fields = fields
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"M": _ABSENT}
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}{self.count}"

    def add(self, line: str) -> None:
        self.lines.append("    " + line)

    def entries(self, entries: tuple[Entry, ...]) -> str:
        target = self.name("m")
        self.add(f"{target} = {{}}")
        for entry in entries:
            key = repr(entry.key)
            if isinstance(entry, (Pick, Copy)) and not self.may_hold(entry.field):
                if isinstance(entry, Copy):
                    self.add(f"{target}[{key}] = {self.overlaid(entry, '{}')}")
                continue
            if isinstance(entry, Pick):
                value = self.name("v")
                self.add(f"{value} = p.get({entry.field!r}, M)")
                self.add(f"if {value} is not M: {target}[{key}] = {value}")
            elif isinstance(entry, Copy):
                copied = self.overlaid(entry, f"dict(p.get({entry.field!r}) or {{}})")
                self.add(f"{target}[{key}] = {copied}")
            elif isinstance(entry, Rule):
                rule = self.name("rule")
                self.names[rule] = entry.rule
                self.add(f"{target}[{key}] = {rule}(p)")
            elif isinstance(entry, Fixed):
                self.add(f"{target}[{key}] = {entry.value!r}")
            else:
                self.add(f"{target}[{key}] = {self.entries(entry.entries)}")
        return target

    def may_hold(self, field: str) -> bool:
        return self.fields is None or field in self.fields

    def overlaid(self, entry: Copy, base: str) -> str:
        """A variable holding `base` with the entry's overlay fields laid over it."""
        value = self.name("w")
        self.add(f"{value} = {base}")
        for overlay_key, field in entry.overlay:
            if self.may_hold(field):
                self.add(f"if {field!r} in p: {value}[{overlay_key!r}] = p[{field!r}]")
        return value
