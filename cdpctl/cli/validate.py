"""`cdpctl validate PATH...` — lint mapping files for CI and pre-commit."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    emit,
    fail,
    load_plan_or_exit,
    note,
    project_config,
    resolve_format,
    use_color,
)

if TYPE_CHECKING:
    from cdpctl.config import ProjectConfig
    from cdpctl.lint import FileReport
    from cdpctl.plans import TrackingPlan

FORMATS = ("text", "json", "github", "sarif", "junit")


def _shown(path: Path) -> Path:
    """`path` relative to the working directory when it is below it (configured paths are
    absolute), so every format names files the way the user and CI see them."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _write_step_summary(reports: list) -> None:
    """Append the Markdown findings table to $GITHUB_STEP_SUMMARY (GitHub Actions)."""
    from cdpctl.output.summary import render_step_summary

    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(render_step_summary(reports))
    except OSError as error:
        note(f"cdpctl: cannot write the job summary to {target}: {error.strerror}")


def _plan(flag: Path | None, config: ProjectConfig) -> TrackingPlan | None:
    """The tracking plan of --plan (else the project config's), or None without one. An
    unusable plan exits 2 with its one located error."""
    source = flag if flag is not None else config.plan
    if source is None:
        return None
    return load_plan_or_exit(source if flag is not None else _shown(source))


def _file_check(
    plan: TrackingPlan | None, account_flag: Path | None, files: list[Path]
) -> Callable[[str], FileReport]:
    """The check of one file: its own rules, the tracking plan's when there is one, and the
    account's when the file has a snapshot — --account FILE, else the `<name>.account.json`
    beside it (docs/account.md)."""
    from functools import partial

    from cdpctl.account.runs import max_age
    from cdpctl.account.snapshot import snapshot_path
    from cdpctl.lint import account, check_file
    from cdpctl.lint import plan as plan_rules

    if account_flag is not None and len(files) != 1:
        fail("--account names the snapshot of one mapping file; check the others without it")
    if account_flag is not None and not account_flag.is_file():
        fail(f"--account: no such account snapshot: {account_flag}")
    try:
        age = max_age()
    except ValueError as error:
        fail(str(error))
    plain = partial(plan_rules.check_file, plan=plan) if plan is not None else check_file
    extra = account.plan_rules(plan) if plan is not None else None

    def checked(path: str) -> FileReport:
        beside = snapshot_path(path)
        found = account_flag or (beside if beside.is_file() else None)
        if found is None:
            return plain(path)
        return account.check_file(path, found, extra=extra, age=age)

    return checked


def command(
    paths: list[Path] | None = typer.Argument(
        None,
        metavar="PATH",
        help="Mapping files, or folders of *.yaml/*.yml. Default: `paths` from [tool.cdpctl] "
        "in pyproject.toml or cdpctl.toml.",
        show_default=False,
    ),
    output_format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="Output: text, json, github (workflow annotations and a job summary), sarif "
        "(code scanning) or junit. Default: CDPCTL_FORMAT, then the project config, then text.",
        show_default=False,
    ),
    color: str | None = COLOR_OPTION,
    exit_zero: bool = typer.Option(
        False, "--exit-zero", help="Exit 0 even with findings (usage errors still exit 2)."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Warnings fail too (exit 1). Also `strict = true` in [tool.cdpctl].",
    ),
    plan: Path | None = typer.Option(
        None,
        "--plan",
        metavar="PLAN",
        help="Also check each mapping against this tracking plan (Segment Protocols, Avo, "
        "RudderStack or Snowplow Iglu; docs/tracking-plans.md). Also `plan = …` in "
        "[tool.cdpctl].",
        show_default=False,
    ),
    account_file: Path | None = typer.Option(
        None,
        "--account",
        metavar="FILE",
        help="Also check the mapping against this account snapshot (`cdpctl account pull`). "
        "Default: the <name>.account.json beside each mapping file, when there is one.",
        show_default=False,
    ),
) -> None:
    """Check mapping files: schema, providers, actions, fields, triggers and directives, and
    lint rules for likely bugs and smells (docs/lint-rules.md lists every code)."""
    from cdpctl.lint import FileReport
    from cdpctl.lint.files import NothingToCheck, discover
    from cdpctl.output.diagnostics import RENDERERS

    config = project_config()
    chosen = resolve_format(output_format, FORMATS, config.format, config.describe("format"))
    if not paths:
        if not config.paths:
            fail(
                "give mapping files or folders to check, or set paths in [tool.cdpctl] of "
                "pyproject.toml or in cdpctl.toml"
            )
        for path in config.paths:
            if not path.exists():
                fail(f"{config.describe('paths')}: no such file or folder: {_shown(path)}")
        paths = [_shown(p) for p in config.paths]
    try:
        found = discover(paths)
    except NothingToCheck as error:
        fail(str(error))
    check = _file_check(_plan(plan, config), account_file, found.files)
    reports = [FileReport(d.path or "", [d]) for d in found.unreadable]
    reports += [check(str(path)) for path in found.files]
    render = RENDERERS[chosen]
    colored = use_color(color, configured=config.color)
    emit(render(reports, color=colored), chosen, color=colored)
    if chosen == "github":
        _write_step_summary(reports)
    strict = strict or config.strict
    clean = all(r.valid and not (strict and r.diagnostics) for r in reports)
    raise typer.Exit(EXIT_OK if clean or exit_zero else EXIT_FINDINGS)
