"""One replay run, start to finish: guard the ledger, stream, render or deliver, summarise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cdpctl.delivery.deadletter import DeadLetters
from cdpctl.delivery.engine import (
    Filters,
    LiveOptions,
    LiveRun,
    filtered,
    partition_of,
    quick_partition,
    render_records,
)
from cdpctl.delivery.ledger import Ledger
from cdpctl.delivery.limits import SharedPacer
from cdpctl.delivery.recording import open_recorder
from cdpctl.delivery.sources import EventSource, Record
from cdpctl.delivery.stats import ReplayStats
from cdpctl.delivery.workers import WorkerJob, fork_context, run_parallel
from cdpctl.pipeline import Destination


class ReplayRefused(Exception):
    """The run would risk duplicates or lose data; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    source: EventSource
    filters: Filters
    live: bool
    live_options: LiveOptions
    state_path: Path
    dead_letter_path: Path | None
    resume: bool = False
    record_dir: Path | None = None
    workers: int = 1


@dataclass(frozen=True, slots=True)
class ReplayResult:
    stats: ReplayStats
    elapsed: float
    dead_letter: Path | None  # set when the run wrote dead letters


def check_ledger(plan: ReplayPlan) -> None:
    """A live run over an existing ledger must say --resume or --force."""
    if not plan.live or not plan.state_path.exists() or plan.resume or plan.live_options.force:
        return
    ledger = Ledger(plan.state_path)
    try:
        rows = ledger.count()
    finally:
        ledger.close()
    if rows:
        raise ReplayRefused(
            f"{plan.state_path} already records {rows:,} outcome(s) from an earlier run; "
            "pass --resume to continue it (nothing acknowledged is sent twice) or --force to "
            "send everything again"
        )


def run_replay(
    destination: Destination, plan: ReplayPlan, progress: Any | None = None
) -> ReplayResult:
    check_ledger(plan)
    stats = ReplayStats()
    redactor = destination.redactor()
    dead_letters = (
        DeadLetters(plan.dead_letter_path, redactor) if plan.dead_letter_path is not None else None
    )
    started = time.monotonic()
    parallel = plan.workers > 1 and fork_context() is not None
    # With workers the parent only routes (and filters), and the workers parse again. A plain
    # dry run is routed from the raw text; otherwise the parent parses, with plain orjson (it
    # needs no JavaScript number semantics), to filter and to route by the exact userId.
    route_raw = parallel and not plan.live and dead_letters is None and plan.filters == Filters()
    source = plan.source.records(orjson.loads) if parallel else plan.source.records()
    records = filtered(source, plan.filters, stats, dead_letters)
    on_progress: Callable[[ReplayStats], None] | None = progress.update if progress else None
    rate = (
        plan.live_options.requests_per_second
        or destination.file.rate_limit
        or destination.provider.rate_limit.requests_per_second
    )
    try:
        if parallel:
            if plan.live:
                Ledger(plan.state_path).close()  # set up once, before the workers share it
            jobs = [
                WorkerJob(
                    index,
                    plan.live,
                    plan.live_options,
                    plan.state_path,
                    plan.dead_letter_path,
                    plan.record_dir,
                    reads=route_raw,
                )
                for index in range(plan.workers)
            ]
            items = (
                (
                    (quick_partition(r.data, plan.workers), r.number, r.data)
                    for r in plan.source.raw()
                )
                if route_raw
                else ((partition_of(r.event, plan.workers), r.number, r.raw) for r in records)
            )
            run_parallel(items, destination, jobs, SharedPacer(rate), stats, on_progress)
        elif not plan.live:
            render_records(destination, _ticking(records, stats, on_progress), stats)
        else:
            assert dead_letters is not None
            ledger = Ledger(plan.state_path)
            run = LiveRun(
                destination=destination,
                options=plan.live_options,
                ledger=ledger,
                dead_letters=dead_letters,
                pacer=SharedPacer(rate),
                stats=stats,
                redactor=redactor,
                recorder=open_recorder(plan.record_dir),
                on_progress=on_progress,
            )
            try:
                asyncio.run(run.run(records))
            finally:
                ledger.close()
    finally:
        if dead_letters is not None:
            dead_letters.close()
        if progress is not None:
            progress.close(stats)
    has_dead = (
        plan.dead_letter_path is not None
        and plan.dead_letter_path.exists()
        and plan.dead_letter_path.stat().st_size > 0
    )
    return ReplayResult(
        stats, time.monotonic() - started, plan.dead_letter_path if has_dead else None
    )


def _ticking(
    records: Iterable[Record], stats: ReplayStats, on_progress: Callable[[ReplayStats], None] | None
) -> Iterator[Record]:
    for count, record in enumerate(records, start=1):
        if on_progress is not None and count % 4096 == 0:
            on_progress(stats)
        yield record
