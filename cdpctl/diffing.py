"""Field-level differences between JSON-like values (requests, payloads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdpctl.diagnostics import format_json_path


class _Missing:
    """A side of a difference with no value; one object, even across processes (pickle)."""

    def __repr__(self) -> str:
        return "<missing>"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Change:
    path: tuple[str | int, ...]
    expected: Any
    actual: Any

    @property
    def kind(self) -> str:
        if self.expected is MISSING:
            return "added"
        if self.actual is MISSING:
            return "removed"
        return "changed"

    def describe(self, before: str = "expected", after: str = "got") -> str:
        where = format_json_path(self.path)
        if self.kind == "added":
            return f"{where}: added {_show(self.actual)}"
        if self.kind == "removed":
            return f"{where}: removed (was {_show(self.expected)})"
        return f"{where}: {before} {_show(self.expected)}, {after} {_show(self.actual)}"


SHOWN = 120  # characters of a value shown in a difference


def _show(value: Any) -> str:
    """The value as JSON, shortened at a word boundary (never mid-word) to about SHOWN
    characters, with "…" where it was cut (inside the quotes of a string)."""
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= SHOWN:
        return text
    if isinstance(value, str):
        return json.dumps(_words(value, SHOWN - 3) + "…", ensure_ascii=False)
    return _words(text, SHOWN - 1) + "…"


def _words(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` characters that ends at a word boundary
    (a word longer than that is cut, as nothing shorter can be shown)."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    boundary = max(cut.rfind(" "), cut.rfind(","))
    if boundary <= 0:
        return text[:limit]
    return cut[:boundary].rstrip(" ,")


def diff(expected: Any, actual: Any, path: tuple[str | int, ...] = ()) -> list[Change]:
    """Every leaf-level difference; objects by key (order ignored), arrays by position."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        changes: list[Change] = []
        for key in expected:
            changes.extend(diff(expected[key], actual.get(key, MISSING), (*path, key)))
        for key in actual:
            if key not in expected:
                changes.append(Change((*path, key), MISSING, actual[key]))
        return changes
    if isinstance(expected, list) and isinstance(actual, list):
        changes = []
        for index in range(max(len(expected), len(actual))):
            left = expected[index] if index < len(expected) else MISSING
            right = actual[index] if index < len(actual) else MISSING
            changes.extend(diff(left, right, (*path, index)))
        return changes
    if expected is MISSING or actual is MISSING:
        return [Change(path, expected, actual)]
    if type(expected) is not type(actual) and not (
        isinstance(expected, (int, float))
        and isinstance(actual, (int, float))
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return [Change(path, expected, actual)]
    return [] if expected == actual else [Change(path, expected, actual)]


def compare_requests(expected: Any, actual: list[dict[str, Any]]) -> list[Change]:
    """Differences between a golden file's requests and the actual ones. Headers are compared
    only where the golden file lists them, so it can leave out ones it does not care about."""
    wanted = expected.get("requests", expected) if isinstance(expected, dict) else expected
    if not isinstance(wanted, list):
        return [Change(("requests",), "a list of requests", type(wanted).__name__)]
    trimmed = []
    for index, request in enumerate(actual):
        golden = wanted[index] if index < len(wanted) and isinstance(wanted[index], dict) else {}
        headers = golden.get("headers")
        if isinstance(headers, dict):
            request = {
                **request,
                "headers": {k: v for k, v in request["headers"].items() if k in headers},
            }
        trimmed.append({k: v for k, v in request.items() if k in golden or not golden})
    return diff(wanted, trimmed, ("requests",))
