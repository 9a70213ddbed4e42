"""`cdpctl diff OLD NEW EVENTS...` — what a mapping change does to real traffic."""

from __future__ import annotations

import os
from itertools import islice

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    EXIT_FINDINGS,
    EXIT_OK,
    color_choice,
    emit,
    fail,
    format_option,
    load_destination,
    output_format,
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


def command(
    old_mapping: str = typer.Argument(..., metavar="OLD", help="The mapping file before."),
    new_mapping: str = typer.Argument(..., metavar="NEW", help="The mapping file after."),
    events: list[str] = EVENTS_ARGUMENT,
    limit: int | None = typer.Option(None, "--limit", min=1, help="Compare at most N events."),
    show: int = typer.Option(20, "--show", min=0, help="Print the diffs of at most N events."),
    fail_on_change: bool = typer.Option(
        False, "--fail-on-change", help="Exit 1 if any request changed."
    ),
    engine_name: str = ENGINE_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    workers: int = typer.Option(
        os.cpu_count() or 1,
        "--workers",
        "-w",
        min=1,
        max=64,
        help="With --engine dask: processes of the local cluster (default: the machine's cores).",
    ),
    blocksize: str = BLOCKSIZE_OPTION,
    format_flag: str | None = format_option(FORMATS),
    color: str | None = COLOR_OPTION,
) -> None:
    """Render the same events through two mapping files and print per-event request diffs and
    a summary (changed / unchanged / newly matched / no longer matched / invalid under both,
    and which fields changed in how many events) — for reviewing a mapping pull request, or
    what a change does to a month of archives (--engine dask). Only what is sent is compared."""
    from cdpctl.delivery.sources import SourceError
    from cdpctl.output import review as view
    from cdpctl.review import EventDiff, ReviewSummary, collect_changed

    chosen = output_format(format_flag, FORMATS)
    on_dask = dask_options(engine_name, scheduler, workers, blocksize)
    if on_dask is not None and limit is not None:
        fail("--limit reads events in order; use it with --engine local")
    source = archive(events)
    old = load_destination(old_mapping)
    new = load_destination(new_mapping)
    summary = ReviewSummary()
    shown: list[EventDiff] = []
    try:
        if on_dask is not None:
            from cdpctl.delivery import dask_engine

            try:
                shown = dask_engine.diff(old, new, source, on_dask, summary, show)
            except dask_engine.EngineError as error:
                fail(str(error))
        else:
            records = source.records()
            if limit is not None:
                records = islice(records, limit)
            collect_changed(old, new, records, summary, shown, show)
    except SourceError as error:
        fail(str(error))
    colored = color_choice(color)
    emit(view.VIEWS[chosen](summary, shown, color=colored), chosen, color=colored)
    raise typer.Exit(EXIT_FINDINGS if fail_on_change and summary.changed else EXIT_OK)
