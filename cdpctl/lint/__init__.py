"""Everything `cdpctl validate` checks in a mapping file: schema, then semantic rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdpctl import schema
from cdpctl.diagnostics import Diagnostic, has_errors
from cdpctl.lint import destination, subscriptions
from cdpctl.loading import Document, LoadError, load_yaml


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)


def check_document(document: Document) -> list[Diagnostic]:
    """Schema errors first; semantic rules only run on a structurally sound document."""
    structural = schema.check(document)
    if structural:
        return structural
    found = destination.check(document)
    provider_known = not any(d.code == destination.UNKNOWN_PROVIDER for d in found)
    if provider_known:
        found.extend(subscriptions.check(document))
    found.sort(key=lambda d: (d.line or 0, d.column or 0, d.code))
    return found


def check_file(path: str) -> FileReport:
    try:
        document = load_yaml(path)
    except LoadError as error:
        return FileReport(path, [error.diagnostic])
    return FileReport(path, check_document(document))
