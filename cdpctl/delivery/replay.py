"""One replay run, start to finish: hold the ledger, stream, judge or deliver, summarise.

Whatever ends the run — the end of the archive, Ctrl-C, or a dead-letter file that can no
longer be written — the result carries the counters so far, so the user always gets a summary
(and, for a live run, the command that resumes it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cdpctl import jsonwire
from cdpctl.delivery import collector
from cdpctl.delivery.coalesce import coalesced
from cdpctl.delivery.deadletter import DeadLetters
from cdpctl.delivery.engine import (
    DryJudge,
    Filters,
    PlanGate,
    filtered,
    partition_of,
    quick_partition,
)
from cdpctl.delivery.inputs import Archive
from cdpctl.delivery.ledger import Ledger, LedgerBusy, LedgerError, ResumeAmbiguous, hold
from cdpctl.delivery.limits import SharedPacer
from cdpctl.delivery.live import LiveOptions, LiveRun, RunStopped
from cdpctl.delivery.projection import ProjectedDecoder, event_keys
from cdpctl.delivery.recording import open_recorder
from cdpctl.delivery.sources import RawRecord, Record, SourceError
from cdpctl.delivery.stats import ReplayStats
from cdpctl.delivery.workers import WorkerJob, fork_context, run_parallel
from cdpctl.pipeline import Destination
from cdpctl.secrets import Redactor

if TYPE_CHECKING:
    from cdpctl.delivery.dask_engine import DaskOptions

INTERRUPTED = "interrupted"


class ReplayRefused(Exception):
    """The run cannot go ahead (it would risk duplicates or lose data, or its cluster cannot
    be used); the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    source: Archive
    filters: Filters
    live: bool
    live_options: LiveOptions
    state_path: Path
    dead_letter_path: Path | None
    resume: bool = False
    record_dir: Path | None = None
    workers: int = 1  # dry runs only: a live run is one sender
    coalesce_identify: bool = False  # one identify per user (see delivery/coalesce.py)
    dask: DaskOptions | None = None  # dry runs only: judge on a Dask cluster
    tracking_plan: PlanGate | None = None  # --plan: each event checked against it


@dataclass(frozen=True, slots=True)
class ReplayResult:
    stats: ReplayStats
    elapsed: float
    dead_letter: Path | None  # set when the run wrote dead letters
    stopped: str | None = None  # why the run ended early: INTERRUPTED, or what failed
    #: the run's redactor: the destination's secrets and those learnt while sending (tokens)
    redactor: Redactor | None = None


def check_ledger(options: ReplayOptions, ledger: Ledger) -> None:
    """A live run over an existing ledger must say --resume or --force."""
    if options.resume or options.live_options.force:
        return
    rows = ledger.count()
    if rows:
        raise ReplayRefused(
            f"{options.state_path} already records {rows:,} outcome(s) from an earlier run; "
            "pass --resume to continue it (nothing acknowledged is sent twice) or --force to "
            "send everything again"
        )


def run_replay(
    destination: Destination, options: ReplayOptions, progress: Any | None = None
) -> ReplayResult:
    stats = ReplayStats()
    redactor = destination.redactor()
    started = time.monotonic()
    on_progress: Callable[[ReplayStats], None] | None = progress.update if progress else None
    stopped = None
    try:
        if options.live:
            _live(destination, options, stats, on_progress, redactor)
        elif options.dask is not None:
            from cdpctl.delivery import dask_engine

            try:
                dask_engine.replay(
                    destination,
                    options.source,
                    options.filters,
                    options.dask,
                    stats,
                    coalesce_identify=options.coalesce_identify,
                    plan=options.tracking_plan,
                    on_progress=on_progress,
                )
            except dask_engine.EngineError as error:
                raise ReplayRefused(str(error)) from None
        else:
            _dry(destination, options, stats, on_progress)
    except KeyboardInterrupt:
        stopped = INTERRUPTED
    except (RunStopped, SourceError) as error:
        stopped = str(error)
    finally:
        if progress is not None:
            progress.close(stats)
    dead = options.dead_letter_path
    has_dead = dead is not None and dead.exists() and dead.stat().st_size > 0
    elapsed = time.monotonic() - started
    return ReplayResult(stats, elapsed, dead if has_dead else None, stopped, redactor)


def _dry(
    destination: Destination,
    options: ReplayOptions,
    stats: ReplayStats,
    on_progress: Callable[[ReplayStats], None] | None,
) -> None:
    if options.workers <= 1 or fork_context() is None:
        project = projected_decoder(destination, options)
        records = filtered(options.source.records(project=project), options.filters, stats)
        if options.coalesce_identify:
            records = coalesced(records, stats)
        with collector.for_a_run():
            judge = DryJudge(destination, options.tracking_plan)
            judge(_ticking(records, stats, on_progress), stats)
        return
    # The parent only routes. Without filters it routes from the raw text and the workers
    # parse; otherwise it parses with plain orjson (routing needs no JavaScript number
    # semantics) to filter and route by the exact userId. Coalescing identifies happens here
    # too, on events parsed as JavaScript does, as the merged traits are sent on as text.
    route_raw = options.filters == Filters() and not options.coalesce_identify
    jobs = [WorkerJob(index, reads=route_raw) for index in range(options.workers)]
    if route_raw:
        items: Iterable[tuple[int, RawRecord]] = (
            (quick_partition(r.data, options.workers), r) for r in options.source.raw()
        )
    else:
        loads = jsonwire.loads if options.coalesce_identify else orjson.loads
        records = filtered(options.source.records(loads), options.filters, stats)
        if options.coalesce_identify:
            records = coalesced(records, stats)
        items = (
            (
                partition_of(r.event, options.workers),
                RawRecord(r.number, r.raw, r.unit, False, r.origin),
            )
            for r in records
        )
    run_parallel(items, destination, jobs, stats, on_progress, options.tracking_plan)


def projected_decoder(destination: Destination, options: ReplayOptions) -> ProjectedDecoder | None:
    """What a dry run reads of each event: the keys its subscriptions' triggers and mappings
    read (cdpctl.delivery.projection), `timestamp` for --since/--until; None — decode every
    event whole — for a tracking plan (it checks the whole event), --coalesce-identify (it
    sends merged events on as text) and --where (its filter is not analysed here)."""
    filters = options.filters
    if options.tracking_plan is not None or options.coalesce_identify or filters.where is not None:
        return None
    extra = ("timestamp",) if filters.since or filters.until else ()
    enabled = ((sub.trigger, sub.mapping) for sub in destination.subscriptions if sub.enabled)
    keys = event_keys(enabled, extra)
    return None if keys is None else ProjectedDecoder(keys)


def _live(
    destination: Destination,
    options: ReplayOptions,
    stats: ReplayStats,
    on_progress: Callable[[ReplayStats], None] | None,
    redactor: Redactor,
) -> None:
    assert options.dead_letter_path is not None
    try:
        lock = hold(options.state_path)
    except (LedgerBusy, LedgerError) as busy:
        raise ReplayRefused(str(busy)) from None
    try:
        try:
            ledger = Ledger(options.state_path)
        except LedgerError as error:
            raise ReplayRefused(str(error)) from None
        dead_letters = DeadLetters(options.dead_letter_path, redactor)
        run = LiveRun(
            destination=destination,
            options=options.live_options,
            ledger=ledger,
            dead_letters=dead_letters,
            pacer=SharedPacer(
                destination.paced_rate(
                    options.live_options.requests_per_second, options.live_options.headroom
                )
            ),
            stats=stats,
            redactor=redactor,
            recorder=open_recorder(options.record_dir),
            on_progress=on_progress,
            plan=options.tracking_plan,
        )
        try:
            try:
                check_ledger(options, ledger)
                run.bind()
            except (LedgerError, ResumeAmbiguous) as error:
                raise ReplayRefused(str(error)) from None
            records = filtered(options.source.records(), options.filters, stats, run.malformed)
            if options.coalesce_identify:
                records = coalesced(records, stats)
            asyncio.run(run.run(records))
        finally:
            ledger.close()
            dead_letters.close()
    finally:
        lock.release()


def _ticking(
    records: Iterable[Record], stats: ReplayStats, on_progress: Callable[[ReplayStats], None] | None
) -> Iterator[Record]:
    for count, record in enumerate(records, start=1):
        if on_progress is not None and count % 4096 == 0:
            on_progress(stats)
        yield record
