"""`cdpctl replay EVENTS --mapping MAPPING` — bulk replay of event archives."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import datetime
from pathlib import Path

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PLAN_MODE_OPTION,
    PLAN_OPTION,
    check_can_send,
    check_endpoint,
    check_writable,
    color_choice,
    emit,
    fail,
    format_option,
    load_destination,
    make_folder,
    output_format,
    plan_gate,
)
from cdpctl.cli.scale import (
    BLOCKSIZE_OPTION,
    ENGINE_OPTION,
    EVENTS_ARGUMENT,
    SCHEDULER_OPTION,
    archive,
    dask_options,
)

FORMATS = ("text", "json")


def _timestamp(value: str | None, option: str) -> datetime | None:
    from cdpctl.delivery.engine import parse_timestamp

    if value is None:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        fail(f"{option} must be an ISO-8601 date-time such as 2024-05-01T00:00:00Z (got {value!r})")
    return parsed


def command(
    events: list[str] = EVENTS_ARGUMENT,
    mapping: str = typer.Option(
        ..., "--mapping", "-m", metavar="FILE", help="The mapping file to replay through."
    ),
    live: bool = typer.Option(
        False, "--live", help="Really send (default: dry run, sends nothing)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render only, send nothing (default)."),
    workers: int = typer.Option(
        os.cpu_count() or 1,
        "--workers",
        "-w",
        min=1,
        max=64,
        help="Processes for a dry run (default: the machine's cores; with --engine dask, of "
        "the local cluster); a live run is one sender, paced to the provider's rate limit.",
    ),
    engine_name: str = ENGINE_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    blocksize: str = BLOCKSIZE_OPTION,
    coalesce_identify: bool = typer.Option(
        False,
        "--coalesce-identify",
        help="Backfills: one identify per user (the latest, traits merged in time order), "
        "sent after the other events; counted in the summary.",
    ),
    headroom: float = typer.Option(
        0.0,
        "--headroom",
        min=0.0,
        max=0.95,
        help="Share of the rate left for live traffic (0.2 = use 80%): paces --live and the "
        "backfill estimate of a dry run.",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stop after N events."),
    since: str | None = typer.Option(
        None, "--since", metavar="TIME", help="Only events at/after this timestamp."
    ),
    until: str | None = typer.Option(
        None, "--until", metavar="TIME", help="Only events before this timestamp."
    ),
    where: str | None = typer.Option(
        None, "--where", metavar="FQL", help='FQL filter, e.g. type = "track".'
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", metavar="URL", help="Send every request to this scheme://host[:port]."
    ),
    rate: float | None = typer.Option(
        None,
        "--rate",
        min=0.001,
        metavar="RPS",
        help="Requests per second (default: provider's limit).",
    ),
    concurrency: int = typer.Option(
        8, "--concurrency", min=1, max=256, help="Requests in flight at once."
    ),
    max_attempts: int = typer.Option(
        5,
        "--max-attempts",
        min=1,
        max=50,
        help="Attempts per request before dead-lettering (429s, waited out, do not count).",
    ),
    timeout: float = typer.Option(
        10.0,
        "--timeout",
        min=0.1,
        max=600.0,
        metavar="SECONDS",
        help="Deadline for one attempt: connecting, sending and the whole answer.",
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Events per batch (capped at the provider's)."
    ),
    no_batch: bool = typer.Option(False, "--no-batch", help="One request per event."),
    state: Path | None = typer.Option(
        None, "--state", metavar="FILE", help="Ledger file (default: EVENTS.cdpctl-state.sqlite)."
    ),
    dead_letter: Path | None = typer.Option(
        None,
        "--dead-letter",
        metavar="FILE",
        help="Dead-letter NDJSON (default when live: EVENTS.dead-letter.ndjson).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted live run."),
    force: bool = typer.Option(False, "--force", help="Send again even what the ledger has."),
    resend_in_doubt: bool = typer.Option(
        False,
        "--resend-in-doubt",
        help="On --resume, send again the events in doubt (sent, never answered whole).",
    ),
    check_account: bool = typer.Option(
        False,
        "--check-account",
        help="Before a live run, read the account and refuse if it lost or changed what the "
        "mapping uses since its snapshot (docs/account.md).",
    ),
    plan_file: Path | None = PLAN_OPTION,
    plan_mode: str = PLAN_MODE_OPTION,
    record: Path | None = typer.Option(
        None, "--record", metavar="DIR", help="Store request/response pairs here."
    ),
    format_flag: str | None = format_option(FORMATS),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress."),
    color: str | None = COLOR_OPTION,
) -> None:
    """Replay an event archive through a mapping file: a dry run by default, --live to send.

    Live runs pace to the provider's rate limit, batch where the provider allows, retry with
    backoff, record every outcome in a ledger (so --resume never sends twice what was
    acknowledged) and write every undelivered event to the dead-letter file with the reason."""
    from cdpctl.delivery import engine
    from cdpctl.delivery.estimate import backfill_estimate
    from cdpctl.delivery.limits import RetryPolicy
    from cdpctl.delivery.live import LiveOptions
    from cdpctl.delivery.replay import INTERRUPTED, ReplayOptions, ReplayRefused, run_replay
    from cdpctl.output import replay as view
    from cdpctl.triggers import TriggerSyntaxError

    chosen = output_format(format_flag, FORMATS)
    if live and dry_run:
        fail("--live and --dry-run contradict each other; pick one")
    if resume and force:
        fail("--resume and --force contradict each other; pick one")
    on_dask = dask_options(engine_name, scheduler, workers, blocksize, live=live)
    if on_dask is not None and limit is not None:
        fail("--limit reads events in order; use it with --engine local")
    source = archive(events)
    destination = load_destination(mapping)
    try:
        where_fn = engine.where_predicate(where)
    except TriggerSyntaxError as error:
        fail(f"--where: {error}")
    filters = engine.Filters(
        limit, _timestamp(since, "--since"), _timestamp(until, "--until"), where_fn
    )
    live_options = LiveOptions(
        endpoint=check_endpoint(endpoint, destination),
        requests_per_second=rate,
        headroom=headroom,
        concurrency=concurrency,
        policy=RetryPolicy(max_attempts=max_attempts),
        batching=not no_batch,
        batch_size=batch_size,
        resend_in_doubt=resend_in_doubt,
        force=force,
        timeout=timeout,
    )
    if live:
        check_can_send(destination)
    if check_account:
        _check_account(mapping, live, live_options.endpoint)
    state_path = state or engine.default_state_path(source.spec)
    dead_letter_path = dead_letter or (
        engine.default_dead_letter_path(source.spec) if live else None
    )
    if live:
        check_writable(state_path, "--state")
        if dead_letter_path is not None:
            check_writable(dead_letter_path, "--dead-letter")
    if record is not None:
        make_folder(record, "--record")
    options = ReplayOptions(
        source=source,
        filters=filters,
        live=live,
        live_options=live_options,
        state_path=state_path,
        dead_letter_path=dead_letter_path if live else None,
        resume=resume,
        record_dir=record,
        workers=workers,
        coalesce_identify=coalesce_identify,
        dask=on_dask,
        tracking_plan=plan_gate(plan_file, plan_mode),
    )
    reporter = None
    if progress:
        kind = view.RichProgress if sys.stderr.isatty() else view.PlainProgress
        reporter = kind(source.position, source.total, live=live, describe=source.describe)
    try:
        result = run_replay(destination, options, reporter)
    except ReplayRefused as refused:
        fail(str(refused))
    estimate = None
    if not live:
        estimate = backfill_estimate(
            result.stats,
            destination,
            rate=rate,
            headroom=headroom,
            batching=not no_batch,
            batch_size=batch_size,
        )
    colored = color_choice(color)
    resume_command = _resume_command() if live and result.stopped else None
    emit(
        view.VIEWS[chosen](
            result.stats,
            live=live,
            elapsed=result.elapsed,
            color=colored,
            dead_letter=str(result.dead_letter) if result.dead_letter else None,
            stopped=result.stopped,
            resume=resume_command,
            estimate=estimate,
            coalesced=coalesce_identify,
            inputs=source.names(),
            redactor=result.redactor,
        ),
        chosen,
        color=colored,
    )
    if result.stopped == INTERRUPTED:
        raise typer.Exit(EXIT_INTERRUPTED)
    if result.stopped:
        fail(result.stopped)
    raise typer.Exit(EXIT_FINDINGS if result.stats.failed else EXIT_OK)


def _check_account(mapping: str, live: bool, endpoint: str | None) -> None:
    """--check-account: refuse (exit 2, each difference on stderr) before anything is sent."""
    from cdpctl.account.runs import check_live_account
    from cdpctl.lint import FileReport
    from cdpctl.output.diagnostics import render_text

    if not live:
        fail("--check-account compares the account before a live run; add --live")
    problems = check_live_account(mapping, endpoint=endpoint)
    if problems:
        sys.stderr.write(render_text([FileReport(mapping, problems)]))
        fail("the account does not match its snapshot (see above); nothing was sent")


def _resume_command() -> str:
    """This very command line, continuing where it stopped: `--resume` instead of `--force`."""
    args = [a for a in sys.argv[1:] if a != "--force"]
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(["cdpctl", *args])
