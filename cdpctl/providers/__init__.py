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
    """The provider called `name`, or None if there is none (a test checks every registered
    module is installed)."""
    module = _MODULES.get(name)
    if module is None:
        return None
    module_name = f"cdpctl.providers.{module}"
    try:
        provider: Provider = import_module(module_name).PROVIDER
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return None
    return provider


def provider_for_segment_slug(slug: str) -> Provider | None:
    """The provider standing for Segment destination `slug` (e.g. `actions-loops`)."""
    for name in provider_names():
        provider = get_provider(name)
        if provider is not None and slug in provider.segment_slugs:
            return provider
    return None


def segment_slugs() -> tuple[str, ...]:
    return tuple(
        slug
        for name in provider_names()
        if (provider := get_provider(name)) is not None
        for slug in provider.segment_slugs
    )
