"""Provider registry: one module per provider, imported only when asked for."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from cdpctl.providers.base import Provider

# name → module under cdpctl.providers; each module defines PROVIDER.
_MODULES: dict[str, str] = {
    "customerio": "customerio",
    "dotdigital": "dotdigital",
    "loops": "loops",
    "segment": "segment",
    "sendgrid": "sendgrid",
    "sfmc": "sfmc",
}


def provider_names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


@cache
def get_provider(name: str) -> Provider | None:
    module = _MODULES.get(name)
    if module is None:
        return None
    provider: Provider = import_module(f"cdpctl.providers.{module}").PROVIDER
    return provider
