"""Dry-run replay and diff on a Dask cluster: one partition per file, combined exactly as local.

Partitions: a gzip file (or a JSON array) is one partition, streamed by the worker that judges
it; a plain NDJSON file larger than the block size is read as byte ranges at line boundaries
(`dask.bytes.read_bytes`). Files open through fsspec on the workers, so on a remote cluster
give URLs (`s3://…`) or paths every worker can read; workers use their own cloud credentials.

The mapping file is shipped once per worker (a worker plugin compiles it there, with the
environment variables it references), not once per task. Each partition returns its counters,
the number of lines it read and — for a diff — its first changed events; the client merges them
in reading order (input, then part), numbers the lines of split files, and keeps the earliest
example of each error, so the summary is the one the local engine prints.

Live replay never runs here: provider rate limits cap sends, and one sender keeps one ledger.
Importing this module imports dask and distributed (the `dask` extra).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import dask
import dask.bag
import distributed
from dask.bytes import read_bytes
from distributed import Client, LocalCluster, WorkerPlugin

from cdpctl.delivery import coalesce
from cdpctl.delivery.engine import DryJudge, Filters, PlanGate, filtered
from cdpctl.delivery.inputs import Archive, Input
from cdpctl.delivery.locations import Location, Origin
from cdpctl.delivery.sources import (
    Malformed,
    Record,
    SourceError,
    ndjson_records,
    parse,
    splittable,
)
from cdpctl.delivery.stats import ReplayStats
from cdpctl.mappingfile import MappingFile
from cdpctl.pipeline import Destination, compile_destination
from cdpctl.review import EventDiff, ReviewSummary, collect_changed
from cdpctl.secrets import ENV_REFERENCE

BLOCKSIZE = 64 * 1024 * 1024
CONNECT_TIMEOUT = "10s"


class EngineError(Exception):
    """The cluster cannot be used (unreachable scheduler, no workers); the message says why."""


@dataclass(frozen=True, slots=True)
class DaskOptions:
    scheduler: str | None = None  # address of a running scheduler; None: a LocalCluster
    workers: int = 1  # processes of the LocalCluster
    blocksize: int = BLOCKSIZE  # plain NDJSON files larger than this are read in parts


@dataclass(frozen=True, slots=True)
class Part:
    input: Input
    index: int  # within the input
    block: Any = None  # a Delayed giving the part's bytes; None: the whole input, streamed


@dataclass(slots=True)
class PartResult:
    input: int
    part: int
    lines: int  # newlines read: the parts after this one number their lines from here
    stats: ReplayStats | None = None
    summary: ReviewSummary | None = None
    shown: list[EventDiff] = field(default_factory=list)
    folds: list[tuple[str, coalesce.Fold]] = field(default_factory=list)
    error: str | None = None  # the input could not be read to its end

    def without_folds(self) -> PartResult:
        """What the client needs: the folds go to the shuffle, never to the client."""
        return PartResult(
            self.input, self.part, self.lines, self.stats, self.summary, self.shown, [], self.error
        )


# --- on the workers ------------------------------------------------------------------------


class _Job(WorkerPlugin):
    """A run's mapping file(s) and options, compiled once on each worker."""

    def __init__(
        self,
        files: Sequence[MappingFile],
        environ: Mapping[str, str],
        filters: Filters,
        coalesce_identify: bool,
        show: int,
        plan: PlanGate | None = None,
    ) -> None:
        self.files = tuple(files)
        self.environ = dict(environ)
        self.filters = filters
        self.coalesce_identify = coalesce_identify
        self.show = show
        self.plan = plan
        self.destinations: tuple[Destination, ...] = ()
        self.judge: DryJudge | None = None

    def __repr__(self) -> str:  # never show the environment (it holds secrets)
        return f"<cdpctl job: {', '.join(f.path for f in self.files)}>"

    def setup(self, worker: Any) -> None:
        self.destinations = tuple(compile_destination(f, self.environ) for f in self.files)
        self.judge = DryJudge(self.destinations[0], self.plan)


def _job(name: str) -> _Job:
    plugin = distributed.get_worker().plugins[name]
    assert isinstance(plugin, _Job)
    return plugin


def _records(item: Input, part: int, block: bytes | None) -> Iterator[Record | Malformed]:
    if block is None:
        return item.source().records()
    origin = Origin(item.index, part, item.name)
    return (parse(raw) for raw in ndjson_records(io.BytesIO(block), origin))


def _judge_replay(name: str, item: Input, part: int, block: bytes | None) -> PartResult:
    job = _job(name)
    stats = ReplayStats()
    folds: dict[str, coalesce.Fold] = {}
    error = None
    try:
        records = filtered(_records(item, part, block), job.filters, stats)
        if job.coalesce_identify:
            records = coalesce.folding(records, folds)
        assert job.judge is not None
        job.judge(records, stats)
    except SourceError as failure:
        error = str(failure)
    lines = block.count(b"\n") if block is not None else 0
    return PartResult(item.index, part, lines, stats=stats, folds=list(folds.items()), error=error)


def _judge_review(name: str, item: Input, part: int, block: bytes | None) -> PartResult:
    job = _job(name)
    old, new = job.destinations
    summary = ReviewSummary()
    shown: list[EventDiff] = []
    error = None
    try:
        collect_changed(old, new, _records(item, part, block), summary, shown, job.show)
    except SourceError as failure:
        error = str(failure)
    lines = block.count(b"\n") if block is not None else 0
    return PartResult(item.index, part, lines, summary=summary, shown=shown, error=error)


def _folds(result: PartResult) -> list[tuple[str, coalesce.Fold]]:
    return result.folds


def _judge_identifies(
    groups: list[tuple[str, list[tuple[str, coalesce.Fold]]]], name: str
) -> list[ReplayStats]:
    """One shuffle partition: each user's folds merged into one identify, then judged."""
    job = _job(name)
    stats = ReplayStats()
    merged = []
    for _, items in groups:
        fold = items[0][1]
        for _, other in items[1:]:
            fold = coalesce.merge(fold, other)
        merged.append(fold)
    assert job.judge is not None
    job.judge(coalesce.finish(merged, stats), stats)
    return [stats]


# --- on the client -------------------------------------------------------------------------


@contextlib.contextmanager
def connect(options: DaskOptions) -> Iterator[Client]:
    """A client of the given scheduler, or of a LocalCluster of `workers` processes (one
    thread each: judging events is CPU-bound Python)."""
    cluster = None
    try:
        if options.scheduler:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        else:
            cluster = LocalCluster(
                n_workers=options.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # the HTTP server always runs: a free port
                silence_logs=logging.ERROR,
            )
            client = Client(cluster, set_as_default=False)
    except (OSError, TimeoutError) as error:
        where = options.scheduler or "a local cluster"
        raise EngineError(f"cannot reach the Dask scheduler at {where}: {error}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _registered(client: Client, job: _Job) -> Iterator[str]:
    name = f"cdpctl-{uuid.uuid4().hex}"
    client.register_plugin(job, name=name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):  # the cluster may already be gone
            client.unregister_worker_plugin(name)


def partitions(inputs: Sequence[Input], blocksize: int) -> list[Part]:
    """One part per input; a plain NDJSON file larger than `blocksize` as byte ranges."""
    found: list[Part] = []
    for item in inputs:
        if item.path == "-":
            raise EngineError("--engine dask cannot read stdin; give files, folders or URLs")
        if item.size is not None and item.size > blocksize and _splittable(item):
            _, blocks = read_bytes(
                item.path, delimiter=b"\n", blocksize=blocksize, sample=False, compression=None
            )
            found.extend(Part(item, index, block) for index, block in enumerate(blocks[0]))
        else:
            found.append(Part(item, 0))
    return found


def _splittable(item: Input) -> bool:
    try:
        with item.open() as raw:
            return splittable(raw)
    except OSError as error:
        raise SourceError(f"cannot read {item.name}: {error}") from None


def referenced_environ(file: MappingFile) -> dict[str, str]:
    """The environment variables the mapping file's settings reference (and only those)."""
    names = {
        match.group(1)
        for value in file.settings.values()
        if isinstance(value, str)
        for match in ENV_REFERENCE.finditer(value)
    }
    return {name: os.environ[name] for name in sorted(names) if name in os.environ}


def replay(
    destination: Destination,
    archive: Archive,
    filters: Filters,
    options: DaskOptions,
    stats: ReplayStats,
    *,
    coalesce_identify: bool = False,
    plan: PlanGate | None = None,
    on_progress: Callable[[ReplayStats], None] | None = None,
) -> None:
    """A dry run of `archive` on the cluster, counted into `stats` as the local engine would.
    Raises SourceError (after counting what came before it) when an input cannot be read."""
    if filters.limit is not None:
        raise EngineError("--limit reads events in order; use it with --engine local")
    job = _Job(
        [destination.file],
        referenced_environ(destination.file),
        filters,
        coalesce_identify,
        0,
        plan,
    )
    for sub in destination.subscriptions:  # listed in file order, as the local engine does
        if sub.enabled:
            stats.sub(sub.name)
    with connect(options) as client, _registered(client, job) as name:
        parts = partitions(archive.inputs, options.blocksize)
        judged = [
            dask.delayed(_judge_replay, pure=False)(name, p.input, p.index, p.block) for p in parts
        ]
        tasks = [dask.delayed(PartResult.without_folds)(j) for j in judged]
        identifies = []
        if coalesce_identify:
            shuffled = (
                dask.bag.from_delayed([dask.delayed(_folds)(j) for j in judged])
                .groupby(itemgetter(0), shuffle="tasks")
                .map_partitions(_judge_identifies, name)
            )
            identifies = shuffled.to_delayed()
        results, extra = _gather(client, tasks, identifies, parts, archive, on_progress, stats)
    offsets = _offsets(results)

    def add(result: PartResult, target: ReplayStats) -> None:
        assert result.stats is not None
        target.merge(_relocated(result.stats, offsets))

    error = _merge_in_order(results, stats, add)
    if error is not None:
        raise SourceError(error)
    for found in extra:
        stats.merge(_relocated(found[0], offsets))


def diff(
    old: Destination,
    new: Destination,
    archive: Archive,
    options: DaskOptions,
    summary: ReviewSummary,
    show: int,
) -> list[EventDiff]:
    """`cdpctl diff` on the cluster: counts into `summary`; returns the first `show` changed
    events in reading order. Raises SourceError when an input cannot be read."""
    files = [old.file, new.file]
    environ = {**referenced_environ(old.file), **referenced_environ(new.file)}
    job = _Job(files, environ, Filters(), False, show)
    with connect(options) as client, _registered(client, job) as name:
        parts = partitions(archive.inputs, options.blocksize)
        tasks = [
            dask.delayed(_judge_review, pure=False)(name, p.input, p.index, p.block) for p in parts
        ]
        results, _ = _gather(client, tasks, [], parts, archive, None, None)
    offsets = _offsets(results)
    shown: list[EventDiff] = []

    def add(result: PartResult, target: ReviewSummary) -> None:
        assert result.summary is not None
        target.merge(result.summary)
        before = offsets.get((result.input, result.part), 0)
        shown.extend(_relocated_diff(d, before) for d in result.shown)

    error = _merge_in_order(results, summary, add)
    if error is not None:
        raise SourceError(error)
    return sorted(shown, key=lambda d: d.location)[:show]


def _gather(
    client: Client,
    tasks: list[Any],
    extra: list[Any],
    parts: list[Part],
    archive: Archive,
    on_progress: Callable[[ReplayStats], None] | None,
    stats: ReplayStats | None,
) -> tuple[list[PartResult], list[Any]]:
    """Run the tasks; report progress as parts finish (an input is done when all its parts
    are). On Ctrl-C, cancel the rest and keep what finished; on a failed task, say which
    input it was reading."""
    futures = client.compute([*tasks, *extra])
    part_futures = futures[: len(tasks)]
    extra_futures = futures[len(tasks) :]
    waiting = {item.index: 0 for item in archive.inputs}
    for part in parts:
        waiting[part.input.index] += 1
    by_index = {item.index: item for item in archive.inputs}
    results: list[PartResult] = []
    snapshot = ReplayStats()
    if stats is not None:
        snapshot.merge(stats)
    try:
        for future in distributed.as_completed(part_futures, loop=client.loop):
            try:
                result = future.result()
            except Exception as error:
                part = parts[part_futures.index(future)]
                raise SourceError(
                    f"cannot read {part.input.name}: {type(error).__name__}: {error}"
                ) from None
            results.append(result)
            waiting[result.input] -= 1
            if waiting[result.input] == 0:
                archive.finished(by_index[result.input])
            if on_progress is not None and result.stats is not None:
                snapshot.merge(result.stats)
                on_progress(snapshot)
        extras = client.gather(extra_futures) if extra_futures else []
    except BaseException:
        client.cancel(futures)
        raise
    return results, extras


def _offsets(results: Sequence[PartResult]) -> dict[tuple[int, int], int]:
    """Lines before each part of a split input."""
    offsets: dict[tuple[int, int], int] = {}
    running: dict[int, int] = {}
    for result in sorted(results, key=lambda r: (r.input, r.part)):
        offsets[(result.input, result.part)] = running.get(result.input, 0)
        running[result.input] = running.get(result.input, 0) + result.lines
    return offsets


def _merge_in_order(
    results: Sequence[PartResult], target: Any, add: Callable[[PartResult, Any], None]
) -> str | None:
    """Merge the parts in reading order, stopping after the first that could not be read to
    its end — as the local engine stops there. Returns that part's error."""
    for result in sorted(results, key=lambda r: (r.input, r.part)):
        add(result, target)
        if result.error is not None:
            return result.error
    return None


def _relocated(stats: ReplayStats, offsets: Mapping[tuple[int, int], int]) -> ReplayStats:
    """`stats` with its error examples numbered by line of the whole input."""
    stats.error_examples = {
        group: (_line_of_input(where, offsets), message)
        for group, (where, message) in stats.error_examples.items()
    }
    return stats


def _line_of_input(where: Location, offsets: Mapping[tuple[int, int], int]) -> Location:
    if where.part == 0:
        return where
    return where.shifted(offsets.get((where.input, where.part), 0))


def _relocated_diff(event_diff: EventDiff, before: int) -> EventDiff:
    where = event_diff.location
    if where.part == 0:
        return event_diff
    return EventDiff(where.shifted(before), event_diff.message_id, event_diff.subscriptions)
