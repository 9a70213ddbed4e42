"""Rules about `destination`: the provider, its settings and secrets."""

from __future__ import annotations

import difflib
import os
import re

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.loading import Document
from cdpctl.providers import get_provider, provider_names
from cdpctl.scaffold import PLACEHOLDER_PREFIX
from cdpctl.secrets import ENV_REFERENCE, MALFORMED_REFERENCE, WHOLE_REFERENCE, resolve_settings

UNKNOWN_PROVIDER = codes.UNKNOWN_PROVIDER


def unknown_provider(document: Document) -> list[Diagnostic]:
    """The provider check alone, for documents whose structure is broken elsewhere: an unknown
    provider is worth reporting first whatever else is wrong."""
    data = document.data
    destination = data.get("destination") if isinstance(data, dict) else None
    name = destination.get("provider") if isinstance(destination, dict) else None
    if not isinstance(name, str) or get_provider(name) is not None:
        return []
    return check(document)


def check(document: Document) -> list[Diagnostic]:
    destination = document.data["destination"]
    name = destination["provider"]
    provider = get_provider(name)
    if provider is None:
        guess = difflib.get_close_matches(name, provider_names(), n=1)
        return [
            document.diagnostic(
                UNKNOWN_PROVIDER,
                f'unknown provider "{name}"',
                ("destination", "provider"),
                hint=(
                    f'did you mean "{guess[0]}"?'
                    if guess
                    else "known providers: " + ", ".join(provider_names())
                ),
            )
        ]
    found: list[Diagnostic] = []
    settings = destination.get("settings") or {}
    base = ("destination", "settings")
    for key, value in settings.items():
        spec = provider.setting(key)
        where = (*base, key)
        if spec is None:
            guess = difflib.get_close_matches(key, [s.name for s in provider.settings], n=1)
            found.append(
                document.diagnostic(
                    codes.UNKNOWN_SETTING,
                    f'unknown {provider.name} setting "{key}"',
                    where,
                    at_key=True,
                    hint=(
                        f'did you mean "{guess[0]}"?'
                        if guess
                        else "settings: " + ", ".join(s.name for s in provider.settings)
                    ),
                )
            )
            continue
        if isinstance(value, str) and MALFORMED_REFERENCE.search(value):
            found.append(
                document.diagnostic(
                    codes.BAD_ENV_REFERENCE,
                    f"malformed environment reference in {key}: {value!r}",
                    where,
                    hint="write ${NAME} with a name of letters, digits and underscores",
                )
            )
            continue
        if spec.secret:
            if not (isinstance(value, str) and WHOLE_REFERENCE.match(value)):
                found.append(
                    document.diagnostic(
                        codes.PLAIN_TEXT_SECRET,
                        f"{key} is a secret and must not be written in the file",
                        where,
                        hint=f"set it in the environment and write {key}: "
                        f"${{{_env_name(provider.name, key)}}}",
                    )
                )
            continue
        if isinstance(value, str) and ENV_REFERENCE.search(value):
            continue
        if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
            found.append(
                document.diagnostic(
                    codes.PLACEHOLDER_SETTING,
                    f'{key} still holds the placeholder "{value}" that cdpctl init wrote',
                    where,
                    severity=Severity.WARNING,
                    hint=f"put your {spec.title} here: {spec.description}",
                )
            )
            continue
        if spec.enum is not None and value not in spec.enum:
            found.append(
                document.diagnostic(
                    codes.INVALID_SETTING,
                    f"{key} must be one of " + ", ".join(repr(v) for v in spec.enum),
                    where,
                )
            )
        elif spec.pattern is not None and not (
            isinstance(value, str) and re.fullmatch(spec.pattern, value)
        ):
            found.append(
                document.diagnostic(
                    codes.INVALID_SETTING,
                    f"{key} {value!r} is not valid: {spec.description}",
                    where,
                )
            )
    if provider.check_settings is not None and not found:
        values = resolve_settings(provider, settings, os.environ).values
        for problem in provider.check_settings(values):
            found.append(
                document.diagnostic(
                    problem.code,
                    problem.message,
                    base,
                    at_key=True,
                    hint=problem.hint,
                    severity=problem.severity,
                )
            )
    for spec in provider.settings:
        if spec.required and not spec.has_default and spec.name not in settings:
            found.append(
                document.diagnostic(
                    codes.MISSING_SETTING,
                    f'{provider.name} needs the setting "{spec.name}"',
                    ("destination",),
                    at_key=True,
                    hint=f"add {spec.name}: ${{{_env_name(provider.name, spec.name)}}} to settings"
                    if spec.secret
                    else f"add it under destination.settings ({spec.title})",
                )
            )
    return found


def _env_name(provider: str, key: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
    return f"{provider.upper()}_{snake}"
