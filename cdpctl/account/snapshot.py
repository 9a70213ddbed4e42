"""The account snapshot: what `account pull` read from a provider, as one JSON file beside the
mapping file (`loops.yaml` → `loops.account.json`), meant to be committed.

It holds names, ids and types only, never a credential: the readers copy chosen fields of each
answer, nothing else (tests scan every snapshot for every credential and its encodings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cdpctl import jsonwire

FORMAT = "cdpctl-account-snapshot/1"
SUFFIX = ".account.json"
MAX_BYTES = 32 * 1024 * 1024  # a snapshot far beyond any real account's size is refused
MAX_ITEMS = 100_000  # per kind: ids, fields, columns

#: The kinds of account objects a snapshot holds, besides data extensions.
KINDS = ("lists", "programs", "campaigns", "templates", "fields")


class SnapshotError(Exception):
    """A snapshot file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an SFMC data extension."""

    name: str
    type: str
    length: int | None = None
    primary_key: bool = False
    nullable: bool | None = None  # None: the provider did not say

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "length": self.length,
            "primary_key": self.primary_key,
            "nullable": self.nullable,
        }


@dataclass(frozen=True, slots=True)
class DataExtension:
    """An SFMC data extension as a mapping names it (`key:…` or `id:…`), and whether it exists."""

    reference: str
    found: bool
    columns: tuple[Column, ...] = ()

    @property
    def label(self) -> str:
        kind, _, value = self.reference.partition(":")
        return f'data extension {"key" if kind == "key" else "id"} "{value}"'

    def column(self, name: str) -> Column | None:
        """SFMC matches column names without regard to case."""
        folded = name.casefold()
        return next((c for c in self.columns if c.name.casefold() == folded), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "found": self.found,
            "columns": [c.as_dict() for c in self.columns],
        }


@dataclass(frozen=True, slots=True)
class Item:
    """A list, program, campaign, template, or field (data field, custom field, property)."""

    id: str
    name: str
    type: str = ""
    status: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.type:
            out["type"] = self.type
        if self.status:
            out["status"] = self.status
        return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    provider: str
    pulled_at: datetime
    read: tuple[str, ...] = ()  # the kinds this provider's reader fills (empty = none exist)
    data_extensions: tuple[DataExtension, ...] = ()
    items: dict[str, tuple[Item, ...]] = field(default_factory=dict)

    def kind(self, name: str) -> tuple[Item, ...]:
        return self.items.get(name, ())

    def find(self, kind: str, wanted: str) -> Item | None:
        """An item by id (exactly), else None."""
        return next((item for item in self.kind(kind) if item.id == wanted), None)

    def data_extension(self, reference: str) -> DataExtension | None:
        folded = reference.casefold()
        return next((d for d in self.data_extensions if d.reference.casefold() == folded), None)

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(timezone.utc)) - self.pulled_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "provider": self.provider,
            "pulled_at": format_time(self.pulled_at),
            "read": list(self.read),
        }
        if "data_extensions" in self.read:
            out["data_extensions"] = [d.as_dict() for d in self.data_extensions]
        for kind in KINDS:
            if kind in self.read:
                out[kind] = [item.as_dict() for item in self.kind(kind)]
        return out

    def dumps(self) -> bytes:
        """Stable, readable JSON (diffs well when committed)."""
        import json

        return (json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n").encode()


def snapshot_path(mapping_path: str | Path) -> Path:
    """`loops.yaml` → `loops.account.json`, in the same folder."""
    path = Path(mapping_path)
    return path.with_name(path.stem + SUFFIX)


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_age(text: str) -> float:
    """`90s`, `45m`, `12h`, `7d`, `2w` (or plain seconds) → seconds; ValueError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    cleaned = text.strip().lower()
    unit = cleaned[-1:] if cleaned[-1:] in units else "s"
    number = cleaned[:-1] if cleaned[-1:] in units else cleaned
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not an age: use e.g. 12h, 7d or 2w") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not an age: use e.g. 12h, 7d or 2w")
    return value * units[unit]


def describe_age(seconds: float) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(max(seconds, 0))} seconds"


def load_snapshot(path: str | Path) -> Snapshot:
    """Read and check a snapshot file (hostile input: size-capped, every value checked)."""
    where = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SnapshotError(
            f"{where}: no such account snapshot; run `cdpctl account pull`"
        ) from None
    except OSError as error:
        raise SnapshotError(f"{where}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise SnapshotError(f"{where}: larger than {MAX_BYTES} bytes; not an account snapshot")
    try:
        parsed = jsonwire.loads(data)
    except (jsonwire.JSONDecodeError, UnicodeDecodeError) as error:
        raise SnapshotError(f"{where}: not valid JSON: {error}") from None
    return from_dict(parsed, where)


def from_dict(data: Any, where: str) -> Snapshot:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f'{where}: not an account snapshot (no "format": "{FORMAT}")')
    provider = _text(data, "provider", where)
    stamp = _text(data, "pulled_at", where)
    try:
        pulled_at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise SnapshotError(
            f"{where}: pulled_at must be a UTC time like 2026-01-31T09:30:00Z (got {stamp!r})"
        ) from None
    read = data.get("read", [])
    if not isinstance(read, list) or not all(
        isinstance(k, str) and k in (*KINDS, "data_extensions") for k in read
    ):
        raise SnapshotError(f"{where}: read must list kinds from {', '.join(KINDS)}")
    items = {kind: _items(data, kind, where) for kind in KINDS if kind in read}
    tables = tuple(
        _data_extension(entry, f"{where}: data_extensions[{index}]")
        for index, entry in enumerate(_list(data, "data_extensions", where))
    )
    return Snapshot(provider, pulled_at, tuple(read), tables, items)


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise SnapshotError(f"{where}: {key} must be a list")
    if len(value) > MAX_ITEMS:
        raise SnapshotError(f"{where}: {key} has more than {MAX_ITEMS} entries")
    return value


def _text(data: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    value = data.get(key)
    if optional and value is None:
        return ""
    if not isinstance(value, str):
        raise SnapshotError(f"{where}: {key} must be text")
    return value


def _items(data: dict[str, Any], kind: str, where: str) -> tuple[Item, ...]:
    out = []
    for index, entry in enumerate(_list(data, kind, where)):
        at = f"{where}: {kind}[{index}]"
        if not isinstance(entry, dict):
            raise SnapshotError(f"{at} must be an object")
        out.append(
            Item(
                _text(entry, "id", at),
                _text(entry, "name", at),
                _text(entry, "type", at, optional=True),
                _text(entry, "status", at, optional=True),
            )
        )
    return tuple(out)


def _data_extension(entry: Any, at: str) -> DataExtension:
    if not isinstance(entry, dict):
        raise SnapshotError(f"{at} must be an object")
    reference = _text(entry, "reference", at)
    if not reference.startswith(("key:", "id:")):
        raise SnapshotError(f"{at}.reference must start with key: or id:")
    found = entry.get("found")
    if not isinstance(found, bool):
        raise SnapshotError(f"{at}.found must be true or false")
    columns = []
    for index, column in enumerate(_list(entry, "columns", at)):
        where = f"{at}.columns[{index}]"
        if not isinstance(column, dict):
            raise SnapshotError(f"{where} must be an object")
        length = column.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool)):
            raise SnapshotError(f"{where}.length must be a whole number or null")
        nullable = column.get("nullable")
        if nullable is not None and not isinstance(nullable, bool):
            raise SnapshotError(f"{where}.nullable must be true, false or null")
        columns.append(
            Column(
                _text(column, "name", where),
                _text(column, "type", where),
                length,
                column.get("primary_key") is True,
                nullable,
            )
        )
    return DataExtension(reference, found, tuple(columns))
