"""Everything `cdpctl validate` checks in a mapping file: schema, then semantic rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdpctl import codes, schema
from cdpctl.diagnostics import Diagnostic, has_errors
from cdpctl.lint import (
    context,
    destination,
    duplicates,
    env_in_mapping,
    event_paths,
    field_literals,
    growth,
    literals,
    never_matches,
    subscriptions,
    templates,
    timestamps,
)
from cdpctl.loading import Document, LoadError, load_yaml
from cdpctl.providers import get_provider


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)


#: The top-level keys of a mapping file; a YAML mapping with none of them is some other file.
MAPPING_FILE_KEYS = ("version", "destination", "subscriptions")


def not_a_mapping_file(document: Document) -> Diagnostic | None:
    """One finding for a YAML file that is plainly something else (a CI workflow, a compose
    file, an Ansible playbook): a list, or a mapping with none of MAPPING_FILE_KEYS. Such
    files reach `validate` through a broad pre-commit `files:` pattern; one line saying so
    helps more than every schema error."""
    data = document.data
    if isinstance(data, list):
        shape = "a list at the top level"
    elif isinstance(data, dict) and not any(key in data for key in MAPPING_FILE_KEYS):
        shape = "none of " + ", ".join(f'"{key}"' for key in MAPPING_FILE_KEYS)
        shape += " at the top level"
    else:
        return None
    return document.diagnostic(
        codes.NOT_A_MAPPING_FILE,
        f"not a cdpctl mapping file ({shape})",
        (),
        hint="leave it out of the paths you validate; for the pre-commit hook, set `files:` "
        "to your mapping folder (docs/ci.md)",
    )


def check_document(document: Document) -> list[Diagnostic]:
    """Schema errors (after an unknown provider, which is reported whatever else is wrong);
    semantic rules only run on a structurally sound document."""
    foreign = not_a_mapping_file(document)
    if foreign is not None:
        return [foreign]
    structural = schema.check(document)
    if structural:
        return destination.unknown_provider(document) + structural
    found = destination.check(document)
    provider_known = not any(d.code == destination.UNKNOWN_PROVIDER for d in found)
    if provider_known:
        found.extend(subscriptions.check(document))
        found.extend(_rules_beyond_the_schema(document))
    found.sort(key=lambda d: (d.line or 0, d.column or 0, d.code))
    return found


#: Rules beyond the schema, each in its own module (docs/lint-rules.md lists their codes).
RULES: tuple[context.Rule, ...] = (
    never_matches.check,
    duplicates.check,
    event_paths.check,
    timestamps.check,
    literals.check,
    field_literals.check,
    env_in_mapping.check,
    templates.check,
    growth.check,
)


def _rules_beyond_the_schema(document: Document) -> list[Diagnostic]:
    provider = get_provider(document.data["destination"]["provider"])
    assert provider is not None
    subs = context.subscriptions(document, provider)
    found = [finding for rule in RULES for finding in rule(document, provider, subs)]
    return list(dict.fromkeys(found))  # a YAML alias repeats its node's findings: keep one


def check_file(path: str) -> FileReport:
    try:
        document = load_yaml(path)
    except LoadError as error:
        return FileReport(path, [error.diagnostic])
    return FileReport(path, check_document(document))
