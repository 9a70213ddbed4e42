"""Which mapping files `validate PATH...` checks: files as given, folders walked for *.yaml and
*.yml. Nothing is skipped silently: a broken or looping symbolic link becomes a finding."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity

SUFFIXES = (".yaml", ".yml")


class NothingToCheck(Exception):
    """A path that names nothing, or a folder without mapping files (a usage error)."""


@dataclass(frozen=True, slots=True)
class Found:
    files: list[Path]  # to check, in order
    unreadable: list[Diagnostic]  # links that cannot be followed, one finding each


def discover(paths: list[Path]) -> Found:
    files: list[Path] = []
    unreadable: list[Diagnostic] = []
    for path in paths:
        if path.is_symlink() and not path.exists():
            unreadable.append(_broken_link(path))
        elif path.is_dir():
            before = len(files) + len(unreadable)
            _walk(path, files, unreadable)
            if len(files) + len(unreadable) == before:
                raise NothingToCheck(f"no *.yaml or *.yml mapping files in {path}")
        elif path.exists():
            files.append(path)
        else:
            raise NothingToCheck(f"no such file or folder: {path}")
    return Found(files, unreadable)


def _walk(top: Path, files: list[Path], unreadable: list[Diagnostic]) -> None:
    """Every mapping file below `top`, in sorted order, following links to folders once."""
    seen = {os.path.realpath(top)}
    stack = [top]
    found: list[Path] = []
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            unreadable.append(_unreadable(folder, error))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink() and not path.exists():
                unreadable.append(_broken_link(path))
            elif entry.is_dir():
                real = os.path.realpath(path)
                if real in seen:
                    if entry.is_symlink():
                        unreadable.append(
                            Diagnostic(
                                codes.FILE_UNREADABLE,
                                f"symbolic link to a folder already checked ({real}): "
                                "not followed again",
                                Severity.WARNING,
                                path=str(path),
                            )
                        )
                    continue
                seen.add(real)
                stack.append(path)
            elif path.suffix in SUFFIXES:
                found.append(path)
    files.extend(sorted(found))


def _broken_link(path: Path) -> Diagnostic:
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Diagnostic(
                codes.FILE_UNREADABLE,
                "symbolic link loop: the link points back to itself, directly or through "
                "other links",
                path=str(path),
            )
    return Diagnostic(
        codes.FILE_UNREADABLE,
        f"broken symbolic link: it points to {os.readlink(path)}, which does not exist",
        path=str(path),
    )


def _unreadable(path: Path, error: OSError) -> Diagnostic:
    return Diagnostic(
        codes.FILE_UNREADABLE, f"cannot read the folder: {error.strerror or error}", path=str(path)
    )
