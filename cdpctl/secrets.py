"""`${ENV_NAME}` references in settings, their resolution, and redaction of secret values."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdpctl.providers.base import Provider

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MALFORMED_REFERENCE = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})[^}]*\}?|\$\{$")
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class ResolvedSettings:
    values: dict[str, Any]
    secrets: tuple[tuple[str, str], ...]  # (secret value, label shown instead)
    missing: tuple[str, ...]  # env names referenced but unset


def resolve_settings(
    provider: Provider, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> ResolvedSettings:
    """Substitute `${NAME}` references from `environ` and apply setting defaults.

    An unset reference stays as the literal `${NAME}` text (so a dry run still shows where the
    value goes) and is listed in `missing`.
    """
    values: dict[str, Any] = {}
    secrets: list[tuple[str, str]] = []
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in environ:
            return environ[name]
        missing.append(name)
        return match.group(0)

    for spec in provider.settings:
        if spec.name in settings:
            raw = settings[spec.name]
        elif spec.has_default:
            raw = spec.default
        else:
            continue
        if isinstance(raw, str):
            resolved = ENV_REFERENCE.sub(substitute, raw)
            whole = WHOLE_REFERENCE.match(raw)
            if spec.secret and resolved != raw:
                secrets.append((resolved, raw if whole else f"<{spec.name}>"))
            values[spec.name] = _typed(spec.type, resolved) if resolved != raw else raw
        else:
            values[spec.name] = raw
    for value in provider.derived_secrets(values):
        secrets.append((value, REDACTED))
    return ResolvedSettings(values, tuple(secrets), tuple(dict.fromkeys(missing)))


def _typed(kind: str, text: str) -> Any:
    if kind == "number":
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def basic_credentials(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclass(slots=True)
class Redactor:
    """Replaces every known secret value with its label, in any text or JSON-like value."""

    pairs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, value: str, label: str = REDACTED) -> None:
        if value and all(value != known for known, _ in self.pairs):
            self.pairs.append((value, label))
            # Longest first, so a secret containing another is replaced whole.
            self.pairs.sort(key=lambda pair: len(pair[0]), reverse=True)

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        for value, label in pairs:
            self.add(value, label)

    def text(self, text: str) -> str:
        for value, label in self.pairs:
            if value in text:
                text = text.replace(value, label)
        return text

    def value(self, data: Any) -> Any:
        if not self.pairs:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(item) for item in data]
        return data
