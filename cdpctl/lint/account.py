"""CDP901–CDP917: a mapping file against the provider account snapshot `account pull` wrote.

`validate` reads the snapshot beside the mapping file (`loops.yaml` → `loops.account.json`)
when there is one, or the file `--account` names. The checks themselves live in
`cdpctl.account.checks`; this module runs them after the file's own checks, once the file is
structurally sound.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cdpctl import codes, schema
from cdpctl.account.checks import DEFAULT_MAX_AGE, check
from cdpctl.account.snapshot import SnapshotError, load_snapshot
from cdpctl.diagnostics import Diagnostic
from cdpctl.lint import FileReport, check_document
from cdpctl.loading import Document, LoadError, load_yaml

if TYPE_CHECKING:
    from cdpctl.plans import TrackingPlan


def check_file(
    path: str,
    snapshot_file: Path | None,
    *,
    extra: Callable[[Document], list[Diagnostic]] | None = None,
    age: float = DEFAULT_MAX_AGE,
) -> FileReport:
    """Everything `validate` checks (plus `extra`, e.g. the tracking-plan rules), then the
    account checks against `snapshot_file` (none when it is None)."""
    try:
        document = load_yaml(path)
    except LoadError as error:
        return FileReport(path, [error.diagnostic])
    found = check_document(document)
    sound = not schema.check(document)
    if sound and extra is not None:
        found.extend(extra(document))
    if sound and snapshot_file is not None:
        found.extend(account_findings(document, snapshot_file, age))
    found = list(dict.fromkeys(found))
    found.sort(key=lambda d: (d.line or 0, d.column or 0, d.code))
    return FileReport(path, found)


def account_findings(document: Document, snapshot_file: Path, age: float) -> list[Diagnostic]:
    from cdpctl.providers import get_provider

    if get_provider(document.data["destination"]["provider"]) is None:
        return []
    try:
        snapshot = load_snapshot(snapshot_file)
    except SnapshotError as error:
        return [
            document.diagnostic(
                codes.ACCOUNT_SNAPSHOT_UNREADABLE, str(error), ("destination",), at_key=True
            )
        ]
    return check(document, snapshot, str(snapshot_file), max_age=age)


def plan_rules(plan: TrackingPlan) -> Callable[[Document], list[Diagnostic]]:
    """The tracking-plan rules of `validate --plan`, as an `extra` check."""
    from cdpctl.lint import context
    from cdpctl.lint import plan as rules
    from cdpctl.providers import get_provider

    def extra(document: Document) -> list[Diagnostic]:
        provider = get_provider(document.data["destination"]["provider"])
        if provider is None:
            return []
        return rules.check(document, provider, context.subscriptions(document, provider), plan)

    return extra
