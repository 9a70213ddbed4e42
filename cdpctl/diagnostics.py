"""One record for every finding (schema error, lint warning, payload error, delivery failure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A located finding (in a file, or by json_path inside a payload); renderers in
    `cdpctl.output` turn lists of these into text, JSON, GitHub annotations and SARIF."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    path: str | None = None
    line: int | None = None
    column: int | None = None
    json_path: tuple[str | int, ...] = ()
    hint: str | None = None
    status: int | None = None  # the provider's HTTP status, for delivery failures

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def full_message(self) -> str:
        """The message and its hint as one sentence (`… @pathh — did you mean "@path"?`)."""
        if not self.hint:
            return self.message
        return f"{self.message.rstrip('.')} — {self.hint}"

    def location(self) -> str:
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.full_message(),
            "json_path": format_json_path(self.json_path),
        }


def format_json_path(path: tuple[str | int, ...]) -> str:
    """`("subscriptions", 0, "mapping")` → `$.subscriptions[0].mapping`."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


class Report(Protocol):
    """One checked file and its findings (what every diagnostics view renders)."""

    @property
    def path(self) -> str: ...

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    @property
    def valid(self) -> bool: ...
