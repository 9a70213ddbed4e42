"""One replay run, start to finish: guard the ledger, stream, render or deliver, summarise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdpctl import jsonwire
from cdpctl.delivery.deadletter import DeadLetters
from cdpctl.delivery.engine import Filters, LiveOptions, LiveRun, filtered, render_records
from cdpctl.delivery.ledger import Ledger
from cdpctl.delivery.limits import SharedPacer
from cdpctl.delivery.sources import EventSource
from cdpctl.delivery.stats import ReplayStats
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


@dataclass(frozen=True, slots=True)
class ReplayResult:
    stats: ReplayStats
    elapsed: float
    dead_letter: Path | None
    dead_letter_count: int


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
    records = filtered(plan.source.records(), plan.filters, stats, dead_letters)
    on_progress: Callable[[ReplayStats], None] | None = progress.update if progress else None
    try:
        if not plan.live:
            _render_with_progress(destination, records, stats, on_progress)
        else:
            assert dead_letters is not None
            _deliver(destination, plan, records, stats, dead_letters, redactor, on_progress)
    finally:
        if dead_letters is not None:
            dead_letters.close()
        if progress is not None:
            progress.close(stats)
    return ReplayResult(
        stats,
        time.monotonic() - started,
        plan.dead_letter_path,
        dead_letters.count if dead_letters else 0,
    )


def _render_with_progress(
    destination: Destination,
    records: Any,
    stats: ReplayStats,
    on_progress: Callable[[ReplayStats], None] | None,
) -> None:
    if on_progress is None:
        render_records(destination, records, stats)
        return

    def ticking() -> Any:
        for count, record in enumerate(records, start=1):
            if count % 4096 == 0:
                on_progress(stats)
            yield record

    render_records(destination, ticking(), stats)


def _deliver(
    destination: Destination,
    plan: ReplayPlan,
    records: Any,
    stats: ReplayStats,
    dead_letters: DeadLetters,
    redactor: Any,
    on_progress: Callable[[ReplayStats], None] | None,
) -> None:
    rate = (
        plan.live_options.requests_per_second
        or destination.file.rate_limit
        or destination.provider.rate_limit.requests_per_second
    )
    recorder = None
    record_handle = None
    if plan.record_dir is not None:
        plan.record_dir.mkdir(parents=True, exist_ok=True)
        record_handle = open(plan.record_dir / "exchanges.ndjson", "ab")  # noqa: SIM115

        def recorder(entry: dict[str, Any]) -> None:
            record_handle.write(jsonwire.dumps(entry) + b"\n")

    ledger = Ledger(plan.state_path)
    run = LiveRun(
        destination=destination,
        options=plan.live_options,
        ledger=ledger,
        dead_letters=dead_letters,
        pacer=SharedPacer(rate),
        stats=stats,
        redactor=redactor,
        recorder=recorder,
        on_progress=on_progress,
    )
    try:
        asyncio.run(run.run(records))
    finally:
        ledger.close()
        if record_handle is not None:
            record_handle.close()
