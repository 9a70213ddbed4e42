"""Dry runs on every core: the parent reads and partitions; worker processes judge their part.

Live runs stay in one process: the provider's rate limit, not the CPU, bounds them, and one
sender keeps one ledger and one pacer. Queues are bounded, so memory stays flat however large
the archive. Workers ignore Ctrl-C: the parent stops them and reports what they counted.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cdpctl.delivery import collector
from cdpctl.delivery.engine import DryJudge, Filters, PlanGate, filtered
from cdpctl.delivery.sources import (
    Malformed,
    RawRecord,
    Record,
    SourceError,
    parse,
    parse_line,
)
from cdpctl.delivery.stats import ReplayStats
from cdpctl.pipeline import Destination

CHUNK_BYTES = 256 * 1024  # raw event bytes per hand-over to a worker
QUEUE_CHUNKS = 4  # chunks buffered per worker
SNAPSHOT_EVERY = 1.0  # seconds between progress snapshots from a worker
INTERRUPT_GRACE = 10.0  # seconds workers get after Ctrl-C to finish their chunks and report


@dataclass(frozen=True, slots=True)
class WorkerJob:
    index: int
    reads: bool = False  # the parent did not parse: count events read and malformed here


def fork_context() -> Any | None:
    """Workers inherit the compiled destination by fork; None where fork is unavailable."""
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


Chunk = list[RawRecord]  # one hand-over to a worker: about CHUNK_BYTES of raw events


def _chunks(inbox: Any) -> Iterable[Chunk]:
    while True:
        chunk = inbox.get()
        if chunk is None:
            return
        yield chunk


def _records(chunk: Chunk) -> list[Record | Malformed]:
    """`parse` of each; NDJSON lines through its fused form, `parse_line`."""
    return [
        parse_line(raw.number, None if raw.oversized else raw.data, raw.origin)
        if raw.unit == "line"
        else parse(raw)
        for raw in chunk
    ]


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a killed parent (kill -9): it would go on sending events that
    a resumed run then sends again. Linux delivers SIGKILL to it when the parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """A worker process ended without reporting; its partition is incomplete."""


def _worker(
    job: WorkerJob,
    destination: Destination,
    plan: PlanGate | None,
    inbox: Any,
    outbox: Any,
    parent: int,
) -> None:
    """A worker's whole life; any failure is reported to the parent as one line, never a
    traceback on the user's terminal."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _work(job, destination, plan, inbox, outbox)
    except BaseException as error:  # reported to the parent, which exits 2
        outbox.put((job.index, "error", f"{type(error).__name__}: {error}"))
        outbox.close()
        outbox.join_thread()  # the message must leave before the process does
        os._exit(1)


def _work(
    job: WorkerJob, destination: Destination, plan: PlanGate | None, inbox: Any, outbox: Any
) -> None:
    with collector.for_a_run():
        _judge_chunks(job, destination, plan, inbox, outbox)


def _judge_chunks(
    job: WorkerJob, destination: Destination, plan: PlanGate | None, inbox: Any, outbox: Any
) -> None:
    stats = ReplayStats()
    judge = DryJudge(destination, plan)
    last = time.monotonic()
    for chunk in _chunks(inbox):
        parsed = _records(chunk)
        if job.reads:  # the parent did not parse: count what was read, and what was malformed
            records = list(filtered(parsed, Filters(), stats))
        else:
            records = [record for record in parsed if isinstance(record, Record)]
        judge(records, stats)
        now = time.monotonic()
        if now - last >= SNAPSHOT_EVERY:
            last = now
            outbox.put((job.index, "progress", stats))
    outbox.put((job.index, "final", stats))


def run_parallel(
    items: Iterable[tuple[int, RawRecord]],
    destination: Destination,
    jobs: list[WorkerJob],
    stats: ReplayStats,
    on_progress: Callable[[ReplayStats], None] | None,
    plan: PlanGate | None = None,
) -> None:
    """Feed `items` — (worker, raw record) — to one process per job and merge their
    statistics into `stats`."""
    workers = len(jobs)
    context = fork_context()
    assert context is not None
    inboxes = [context.Queue(QUEUE_CHUNKS) for _ in range(workers)]
    outbox = context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(job, destination, plan, inboxes[i], outbox, os.getpid()),
            daemon=True,
        )
        for i, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    latest: dict[int, ReplayStats] = {}
    finished: set[int] = set()

    def drain(block: bool) -> None:
        while True:
            try:
                index, kind, payload = outbox.get(block=block, timeout=0.5 if block else None)
            except queue.Empty:
                return
            if kind == "error":
                raise WorkerDied(f"replay worker {index} failed: {payload}")
            latest[index] = payload
            if kind == "final":
                finished.add(index)
            if on_progress is not None:
                on_progress(_merged(stats, latest))
            block = False

    chunks: list[Chunk] = [[] for _ in range(workers)]
    sizes = [0] * workers

    def put(target: int, item: Any) -> None:
        while True:
            try:
                inboxes[target].put(item, timeout=0.5)
                return
            except queue.Full:
                dead = [p.exitcode for p in processes if p.exitcode]
                if dead:
                    raise WorkerDied(f"a replay worker died (exit code {dead[0]})") from None

    def wait_for_finals(deadline: float | None) -> None:
        while len(finished) < workers and (deadline is None or time.monotonic() < deadline):
            drain(block=True)
            if any(not p.is_alive() and p.exitcode for p in processes) and len(finished) < workers:
                dead = [p.exitcode for p in processes if not p.is_alive() and p.exitcode]
                raise WorkerDied(f"a replay worker died (exit code {dead[0]})")

    def hand_over(target: int) -> None:
        put(target, chunks[target])
        chunks[target] = []
        sizes[target] = 0

    unreadable: SourceError | None = None
    try:
        try:
            for target, raw in items:
                chunks[target].append(raw)
                sizes[target] += len(raw.data)
                if sizes[target] >= CHUNK_BYTES:
                    hand_over(target)
                    drain(block=False)
        except SourceError as error:  # the archive ends early: judge what was read, as one
            unreadable = error  # process would, then stop
        for index in range(workers):
            if chunks[index]:
                hand_over(index)
            put(index, None)
        wait_for_finals(None)
        if unreadable is not None:
            raise unreadable
    except KeyboardInterrupt:
        # Ctrl-C: the workers (which ignore it) finish what they hold and report, so the
        # summary counts everything judged so far; a second Ctrl-C stops them at once.
        for inbox in inboxes:
            with contextlib.suppress(queue.Full):
                inbox.put(None, timeout=0.5)
        wait_for_finals(time.monotonic() + INTERRUPT_GRACE)
        raise
    finally:
        if len(finished) < workers:  # interrupted or failed: stop at once, keep what they counted
            for inbox in inboxes:  # chunks no worker will read must not hold up our exit
                inbox.cancel_join_thread()
            for process in processes:
                process.terminate()
            with contextlib.suppress(WorkerDied):
                drain(block=False)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        for snapshot in latest.values():  # workers never read the archive: only their work adds
            stats.merge(snapshot)


def _merged(parent: ReplayStats, latest: dict[int, ReplayStats]) -> ReplayStats:
    view = ReplayStats()
    view.merge(parent)
    for snapshot in latest.values():
        view.merge(snapshot)
    return view
