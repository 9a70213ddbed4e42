"""Files shipped with cdpctl (schemas, sample events, examples).

In an installed wheel they live in `cdpctl/_data/`; in a source checkout, at the top level.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DATA = Path(__file__).parent / "_data"
_SOURCE_ROOT = Path(__file__).parent.parent


def path(relative: str) -> Path:
    """Absolute path of a shipped file such as `schemas/mapping.schema.json`."""
    installed = _PACKAGE_DATA / relative
    return installed if installed.exists() else _SOURCE_ROOT / relative


@cache
def load_json(relative: str) -> Any:
    """A shipped JSON file, read as every other JSON cdpctl reads (sample events are events:
    JavaScript's numbers, as a user's own would be)."""
    from cdpctl import jsonwire

    shipped = path(relative)
    return jsonwire.read(shipped.read_bytes(), str(shipped))


def sample_event_names() -> list[str]:
    return sorted(p.stem for p in path("sample_events").glob("*.json"))
