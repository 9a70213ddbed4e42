"""Project configuration: `[tool.cdpctl]` in pyproject.toml, or a cdpctl.toml.

Searched upward from the working directory; in each folder a cdpctl.toml (top-level keys) wins
over a pyproject.toml, and a pyproject.toml without a `[tool.cdpctl]` table is passed over.
Flags beat the environment (CDPCTL_FORMAT, CDPCTL_COLOR), which beats this file, which beats
the defaults; that ordering lives in `cdpctl.cli.common`.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

CONFIG_FILE: Final = "cdpctl.toml"
PYPROJECT: Final = "pyproject.toml"
KEYS: Final = ("paths", "format", "color", "strict", "plan")
COLORS: Final = ("auto", "always", "never")


class ConfigError(Exception):
    """A config file cdpctl cannot use; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """What a project's config says; None (or no paths) where it says nothing."""

    source: Path | None = None  # the file it came from
    paths: tuple[Path, ...] = ()  # absolute, resolved against the file's folder
    format: str | None = None
    color: str | None = None
    strict: bool = False  # validate: warnings fail too
    plan: Path | None = None  # validate: the tracking plan (absolute, like paths)

    def describe(self, key: str) -> str:
        """Where `key` is set, for messages: `pyproject.toml [tool.cdpctl] format`."""
        if self.source is None:
            return key
        table = " [tool.cdpctl]" if self.source.name == PYPROJECT else ""
        return f"{self.source}{table} {key}"


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest config file at or above `start` and its cdpctl table, or None."""
    for folder in (start, *start.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own, _read_toml(own)
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("cdpctl")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.cdpctl] must be a table")
                return pyproject, table
    return None


def load(start: Path | None = None) -> ProjectConfig:
    """The project config for `start` (default: the working directory)."""
    found = find_config((start or Path.cwd()).absolute())
    if found is None:
        return ProjectConfig()
    source, table = found
    where = f"{source}{' [tool.cdpctl]' if source.name == PYPROJECT else ''}"
    for key in table:
        if key not in KEYS:
            guess = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f'did you mean "{guess[0]}"? ' if guess else ""
            raise ConfigError(
                f'{where}: unknown key "{key}" — {hint}(known keys: {", ".join(KEYS)})'
            )
    paths = table.get("paths", [])
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise ConfigError(f"{where}: paths must be a list of folder or file names")
    for key in ("format", "color"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: {key} must be a string (got {table[key]!r})")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{where}: strict must be true or false (got {strict!r})")
    plan = table.get("plan")
    if plan is not None and (not isinstance(plan, str) or not plan):
        raise ConfigError(f"{where}: plan must be the tracking plan's file or folder name")
    color = table.get("color")
    if color is not None and color not in COLORS:
        raise ConfigError(f"{where}: color must be one of {', '.join(COLORS)} (got {color!r})")
    return ProjectConfig(
        source=source,
        paths=tuple(source.parent / p for p in paths),
        format=table.get("format"),
        color=color,
        strict=strict,
        plan=source.parent / plan if plan is not None else None,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: the tomli package, a dependency there
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
