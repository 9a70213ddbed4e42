"""Replay on every core: the parent reads, filters and partitions; worker processes render or
deliver their partition.

Events are partitioned by a hash of userId (else anonymousId), so one user's events stay in
order within one worker. Workers share the destination's pacer (shared memory), the ledger
(SQLite in WAL mode) and the dead-letter file (unbuffered appends). Queues are bounded, so
memory stays flat however large the archive.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import time
from array import array
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cdpctl.delivery.deadletter import DeadLetters
from cdpctl.delivery.engine import Filters, LiveOptions, LiveRun, filtered, render_records
from cdpctl.delivery.ledger import Ledger
from cdpctl.delivery.limits import SharedPacer
from cdpctl.delivery.recording import open_recorder
from cdpctl.delivery.sources import RawRecord, Record, parse
from cdpctl.delivery.stats import ReplayStats
from cdpctl.pipeline import Destination

CHUNK_BYTES = 256 * 1024  # raw event bytes per hand-over to a worker
QUEUE_CHUNKS = 4  # chunks buffered per worker
SNAPSHOT_EVERY = 1.0  # seconds between progress snapshots from a worker


@dataclass(frozen=True, slots=True)
class WorkerJob:
    index: int
    live: bool
    live_options: LiveOptions
    state_path: Any
    dead_letter_path: Any
    record_dir: Any
    reads: bool = False  # the parent did not parse: count events read and malformed here


def fork_context() -> Any | None:
    """Workers inherit the compiled destination by fork; None where fork is unavailable."""
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


Chunk = tuple[array, bytes]  # line numbers, and the lines joined by newlines


def _chunks(inbox: Any) -> Iterable[Chunk]:
    while True:
        chunk = inbox.get()
        if chunk is None:
            return
        yield chunk


def _records(chunk: Chunk) -> list[Record]:
    numbers, data = chunk
    return [
        parse(RawRecord(number, raw))
        for number, raw in zip(numbers, data.split(b"\n"), strict=True)
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
    pacer: SharedPacer,
    inbox: Any,
    outbox: Any,
    parent: int,
) -> None:
    """A worker's whole life; any failure is reported to the parent as one line, never a
    traceback on the user's terminal."""
    _die_with_parent(parent)
    try:
        _work(job, destination, pacer, inbox, outbox)
    except BaseException as error:  # reported to the parent, which exits 2
        outbox.put((job.index, "error", f"{type(error).__name__}: {error}"))
        outbox.close()
        outbox.join_thread()  # the message must leave before the process does
        os._exit(1)


def _work(
    job: WorkerJob, destination: Destination, pacer: SharedPacer, inbox: Any, outbox: Any
) -> None:
    stats = ReplayStats()
    last = time.monotonic()

    def report(final: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if final or now - last >= SNAPSHOT_EVERY:
            last = now
            outbox.put((job.index, "final" if final else "progress", stats))

    if not job.live:
        for chunk in _chunks(inbox):
            records = _records(chunk)
            if job.reads:
                records = list(filtered(records, Filters(), stats, None))
            render_records(destination, records, stats)
            report()
        report(final=True)
        return
    redactor = destination.redactor()
    dead_letters = DeadLetters(job.dead_letter_path, redactor)
    ledger = Ledger(job.state_path, create=False)
    recorder = open_recorder(job.record_dir)
    run = LiveRun(
        destination=destination,
        options=job.live_options,
        ledger=ledger,
        dead_letters=dead_letters,
        pacer=pacer,
        stats=stats,
        redactor=redactor,
        recorder=recorder,
        on_progress=lambda _: report(),
    )

    async def incoming() -> AsyncIterator[Record]:
        loop = asyncio.get_running_loop()
        while True:
            chunk = await loop.run_in_executor(None, inbox.get)
            if chunk is None:
                return
            for record in _records(chunk):
                yield record

    try:
        asyncio.run(run.run(incoming()))
    finally:
        ledger.close()
        dead_letters.close()
        report(final=True)


def run_parallel(
    items: Iterable[tuple[int, int, bytes]],
    destination: Destination,
    jobs: list[WorkerJob],
    pacer: SharedPacer,
    stats: ReplayStats,
    on_progress: Callable[[ReplayStats], None] | None,
) -> None:
    """Feed `items` — (worker, line number, raw event) — to one process per job and merge their
    statistics into `stats`."""
    workers = len(jobs)
    context = fork_context()
    assert context is not None
    inboxes = [context.Queue(QUEUE_CHUNKS) for _ in range(workers)]
    outbox = context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(job, destination, pacer, inboxes[i], outbox, os.getpid()),
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

    numbers = [array("Q") for _ in range(workers)]
    lines: list[list[bytes]] = [[] for _ in range(workers)]
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

    def hand_over(target: int) -> None:
        put(target, (numbers[target], b"\n".join(lines[target])))
        numbers[target] = array("Q")
        lines[target] = []
        sizes[target] = 0

    try:
        for target, number, raw in items:
            numbers[target].append(number)
            lines[target].append(raw)
            sizes[target] += len(raw)
            if sizes[target] >= CHUNK_BYTES:
                hand_over(target)
                drain(block=False)
        for index in range(workers):
            if lines[index]:
                hand_over(index)
            put(index, None)
        while len(finished) < workers:
            drain(block=True)
            if any(not p.is_alive() and p.exitcode for p in processes) and len(finished) < workers:
                dead = [p.exitcode for p in processes if not p.is_alive() and p.exitcode]
                raise WorkerDied(f"a replay worker died (exit code {dead[0]})")
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    for snapshot in latest.values():  # workers never read the archive: only their work adds
        stats.merge(snapshot)


def _merged(parent: ReplayStats, latest: dict[int, ReplayStats]) -> ReplayStats:
    view = ReplayStats()
    view.merge(parent)
    for snapshot in latest.values():
        view.merge(snapshot)
    return view
