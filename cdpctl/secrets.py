"""`${ENV_NAME}` references in settings, their resolution, and redaction of secret values.

What is redacted: the value of every secret setting, and of every credential setting (an
account identifier used to authenticate, such as SFMC's client_id) given as `${ENV}`; what a
provider derives from them (Basic credentials, base64 of `user:secret`); tokens learnt at run
time. Each is redacted in every form it can take in text: as it is, JSON-escaped, Python
repr-escaped, and URL/form-encoded.

Short values: a secret shorter than MIN_SECRET_LENGTH characters is refused for live sending
(`check_sendable`: real provider credentials are longer, so it is a mistake) and, in dry-run
output, redacted only where it stands alone (a whole header value or JSON string), never
inside unrelated text — so `LOOPS_API_KEY=x` cannot turn `example.com` into
`e${LOOPS_API_KEY}ample.com`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from cdpctl.providers.base import Provider

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MALFORMED_REFERENCE = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})[^}]*\}?|\$\{$")
REDACTED = "***"


MIN_SECRET_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Credential:
    """A secret or credential setting whose value came from the environment."""

    setting: str
    reference: str  # as written in the mapping file, e.g. ${LOOPS_API_KEY}
    value: str


@dataclass(frozen=True, slots=True)
class ResolvedSettings:
    values: dict[str, Any]
    secrets: tuple[tuple[str, str], ...]  # (secret value, label shown instead)
    missing: tuple[str, ...]  # env names referenced but unset
    credentials: tuple[Credential, ...] = ()


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
    credentials: list[Credential] = []

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
            if (spec.secret or spec.credential) and resolved != raw:
                secrets.append((resolved, raw if whole else f"<{spec.name}>"))
                credentials.append(Credential(spec.name, raw, resolved))
            values[spec.name] = _typed(spec.type, resolved) if resolved != raw else raw
        else:
            values[spec.name] = raw
    for value in provider.derived_secrets(values):
        secrets.append((value, REDACTED))
    return ResolvedSettings(
        values, tuple(secrets), tuple(dict.fromkeys(missing)), tuple(credentials)
    )


def check_sendable(settings: ResolvedSettings) -> list[str]:
    """Why these credentials cannot be sent, one line each, naming the setting and the
    variable, never the value: too short to be real, or characters an HTTP header cannot
    carry (only visible ASCII)."""
    problems = []
    for credential in settings.credentials:
        where = f"{credential.setting} (from {credential.reference})"
        if len(credential.value) < MIN_SECRET_LENGTH:
            problems.append(
                f"{where} is {len(credential.value)} character(s) long; provider credentials "
                f"are at least {MIN_SECRET_LENGTH} — check the environment variable"
            )
        elif not all(" " < char <= "~" for char in credential.value):
            problems.append(
                f"{where} holds a character that cannot be sent in an HTTP header (space, "
                "a control character or non-ASCII) — check the environment variable"
            )
    return problems


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


def encodings(value: str) -> list[str]:
    """The forms `value` can take in text cdpctl writes: as it is, JSON-escaped (ASCII or
    not), repr-escaped, URL- and form-encoded."""
    forms = [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    ]
    return list(dict.fromkeys(form for form in forms if form))


@dataclass(slots=True)
class Redactor:
    """Replaces every known secret value, in each of its encodings, with its label, in any
    text or JSON-like value."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    short: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _known: set[str] = field(default_factory=set)

    def add(self, value: str, label: str = REDACTED) -> None:
        if not value or value in self._known:
            return
        self._known.add(value)
        for form in encodings(value):
            if len(form) < MIN_SECRET_LENGTH:
                whole = re.compile(r"(?<![0-9A-Za-z])" + re.escape(form) + r"(?![0-9A-Za-z])")
                self.short.append((whole, label))
            elif all(form != known for known, _ in self.pairs):
                self.pairs.append((form, label))
        # Longest first, so a secret containing another is replaced whole.
        self.pairs.sort(key=lambda pair: len(pair[0]), reverse=True)

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        for value, label in pairs:
            self.add(value, label)

    def text(self, text: str) -> str:
        for value, label in self.pairs:
            if value in text:
                text = text.replace(value, label)
        for pattern, label in self.short:
            text = pattern.sub(label, text)
        return text

    def clip(self, text: str, limit: int) -> str:
        """`text` redacted whole, then cut to `limit` characters: a secret straddling the cut
        cannot leave in part."""
        redacted = self.text(text)
        return redacted if len(redacted) <= limit else redacted[:limit] + "…"

    def value(self, data: Any) -> Any:
        if not self.pairs and not self.short:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(item) for item in data]
        return data
