"""CDP607: a `${NAME}` environment reference inside a mapping.

cdpctl resolves `${NAME}` only in destination settings (where secrets belong). In a mapping the
text is sent as it stands — `${PROMO_CODE}` reaches the provider literally — so it is almost
always a value meant to come from the environment or the event.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription, Where
from cdpctl.loading import Document
from cdpctl.providers.base import Provider
from cdpctl.secrets import ENV_REFERENCE


def _strings(value: Any, where: Where) -> Iterator[tuple[Where, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*where, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*where, key))


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        for where, text in _strings(sub.mapping, ()):
            reference = ENV_REFERENCE.search(text)
            if reference is None:
                continue
            found.append(
                document.diagnostic(
                    codes.ENV_REFERENCE_IN_MAPPING,
                    f"{reference.group(0)} is sent literally: environment references are "
                    "resolved only in destination settings",
                    (*sub.base, "mapping", *where),
                    severity=Severity.WARNING,
                    hint="map the value from the event, or move it into a setting",
                )
            )
    return found
