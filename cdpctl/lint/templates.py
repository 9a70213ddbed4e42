"""CDP608: an `@template` whose `{{` and `}}` do not pair up.

Mapping-kit replaces only complete `{{path}}` placeholders; a `{{event}` or `event}}` is sent
as literal text, braces and all, so a typo in a template reaches every customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription, Where
from cdpctl.loading import Document
from cdpctl.providers.base import Provider

PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def _templates(value: Any, where: Where) -> Iterator[tuple[Where, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _templates(item, (*where, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "@template" and isinstance(item, str):
                yield (*where, key), item
            else:
                yield from _templates(item, (*where, key))


def unbalanced(template: str) -> str | None:
    """The stray `{{` or `}}` left once every `{{…}}` placeholder is taken out, or None."""
    rest = PLACEHOLDER.sub("", template)
    for stray in ("{{", "}}"):
        if stray in rest:
            return stray
    return None


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        for where, template in _templates(sub.mapping, ()):
            stray = unbalanced(template)
            if stray is None:
                continue
            found.append(
                document.diagnostic(
                    codes.TEMPLATE_UNBALANCED,
                    f'template "{template}" has an unpaired "{stray}": it is sent as literal text',
                    (*sub.base, "mapping", *where),
                    severity=Severity.WARNING,
                    hint="write each placeholder as {{path}}, e.g. {{properties.order_id}}",
                )
            )
    return found
