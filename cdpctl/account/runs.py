"""The account snapshot in test-event, send and replay: dry runs use the account's real facts
instead of assumptions, say when the snapshot is old, and `--check-account` compares the
account with the snapshot before a live run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdpctl import codes
from cdpctl.account.checks import DEFAULT_MAX_AGE, check
from cdpctl.account.snapshot import (
    Snapshot,
    SnapshotError,
    describe_age,
    load_snapshot,
    parse_age,
    snapshot_path,
)
from cdpctl.diagnostics import Diagnostic

if TYPE_CHECKING:
    from cdpctl.pipeline import Destination

MAX_AGE_VARIABLE = "CDPCTL_ACCOUNT_MAX_AGE"


def max_age(environ: Mapping[str, str] | None = None) -> float:
    """$CDPCTL_ACCOUNT_MAX_AGE (e.g. 12h, 7d, 2w), else 7 days; ValueError naming the variable
    when it is not an age."""
    text = (os.environ if environ is None else environ).get(MAX_AGE_VARIABLE)
    if not text:
        return DEFAULT_MAX_AGE
    try:
        return parse_age(text)
    except ValueError as error:
        raise ValueError(f"{MAX_AGE_VARIABLE}: {error}") from None


@dataclass(frozen=True, slots=True)
class Used:
    """The snapshot a run uses, and what to tell the user about it (None: nothing)."""

    destination: Destination
    path: Path | None = None
    note: str | None = None


def facts(snapshot: Snapshot, label: str) -> dict[str, Any]:
    """The settings through which each provider module reads the account's facts."""
    if snapshot.provider == "dotdigital":
        from cdpctl.providers.dotdigital import actions

        return {
            actions.ACCOUNT_DATA_FIELD_TYPES: {f.id: f.type for f in snapshot.kind("fields")},
            actions.ACCOUNT_SNAPSHOT: label,
        }
    if snapshot.provider == "sfmc":
        from cdpctl.providers.sfmc import actions as sfmc

        return {
            sfmc.ACCOUNT_DATA_EXTENSIONS: {
                d.reference.casefold(): [c.name for c in d.columns] if d.found else None
                for d in snapshot.data_extensions
            },
            sfmc.ACCOUNT_SNAPSHOT: label,
        }
    if snapshot.provider == "loops":
        from cdpctl.providers import loops

        return {
            loops.ACCOUNT_PROPERTIES: {f.id: f.type for f in snapshot.kind("fields")},
            loops.ACCOUNT_MAILING_LISTS: [item.id for item in snapshot.kind("lists")],
            loops.ACCOUNT_SNAPSHOT: label,
        }
    if snapshot.provider == "sendgrid":
        from cdpctl.providers.sendgrid import contacts

        return {
            contacts.ACCOUNT_CUSTOM_FIELDS: [
                {"id": f.id, "name": f.name, "field_type": f.type} for f in snapshot.kind("fields")
            ],
            contacts.ACCOUNT_SNAPSHOT: label,
        }
    return {}


def use_snapshot(destination: Destination, environ: Mapping[str, str] | None = None) -> Used:
    """`destination` with the facts of the snapshot beside its mapping file, when there is
    one. SnapshotError when that snapshot cannot be used; ValueError for a bad max age."""
    path = snapshot_path(destination.file.path)
    if not path.is_file():
        return Used(destination)
    snapshot = load_snapshot(path)
    if snapshot.provider != destination.provider.name:
        raise SnapshotError(
            f"{path}: a {snapshot.provider} account snapshot beside a {destination.provider.name} "
            "mapping file; run `cdpctl account pull` for it"
        )
    settings = destination.settings
    values = {**settings.values, **facts(snapshot, str(path))}
    used = replace(destination, settings=replace(settings, values=values))
    age = snapshot.age_seconds()
    note = None
    limit = max_age(environ)
    if age > limit:
        note = (
            f"account snapshot {path} was pulled {describe_age(age)} ago (more than "
            f"{describe_age(limit)}; {MAX_AGE_VARIABLE}): the account may have changed — run "
            f"`cdpctl account pull {destination.file.path}`"
        )
    return Used(used, path, note)


def check_live_account(
    mapping_path: str, *, endpoint: str | None = None, environ: Mapping[str, str] | None = None
) -> list[Diagnostic]:
    """`--check-account`: read the account now and report, as CDP917, every finding the
    mapping has against it that it did not have against its snapshot — a column, field, list,
    program, campaign or template it uses that went away or changed type, so events would lose
    data. A missing or unusable snapshot is reported too (CDP901)."""
    from cdpctl.account.pull import PullError, read_account
    from cdpctl.loading import LoadError, load_yaml

    path = snapshot_path(mapping_path)
    try:
        kept = load_snapshot(path)
    except SnapshotError as error:
        return [Diagnostic(codes.ACCOUNT_SNAPSHOT_UNREADABLE, str(error), path=str(path))]
    try:
        now, _ = read_account(mapping_path, endpoint=endpoint, environ=environ)
    except PullError as error:
        return [Diagnostic(codes.ACCOUNT_PULL_FAILED, str(error), path=mapping_path)]
    try:
        document = load_yaml(mapping_path)
    except LoadError as error:
        return [error.diagnostic]
    # Age is not a change: compare as of the same moment.
    before = {_key(d) for d in check(document, kept, str(path), max_age=float("inf"))}
    after = check(document, now, "the account now", max_age=float("inf"))
    return [
        replace(
            finding,
            code=codes.ACCOUNT_CHANGED,
            message=f"the account changed since {path} was pulled: {finding.message}",
        )
        for finding in after
        if finding.is_error and _key(finding) not in before
    ]


def _key(finding: Diagnostic) -> tuple[Any, ...]:
    return (finding.code, finding.line, finding.column)
