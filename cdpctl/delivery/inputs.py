"""Which archives a replay or diff reads: files, folders, globs and fsspec URLs, in order.

`expand` turns the command-line arguments into an ordered list of inputs: each argument in
the order given; a folder or a glob as the files it holds, sorted by name; the same file named
twice is read once. Literal before pattern: an argument that names an existing file or folder
is that file or folder, even when its name holds glob characters (`ev[1].ndjson`); it is a
pattern only when nothing of that name exists. A folder means the files under it
(recursively) whose names end in .gz, .ndjson, .jsonl or .json — not hidden files, nor
dead-letter files a live replay wrote next to its archive (pass those by name to replay them).
URLs (`s3://…`, `gs://…`, `file://…`) go through fsspec, imported only when one is given;
`s3://` needs the `s3` extra.

Each input is streamed on its own (gzip detected by its magic bytes, not its name), and every
record carries the input's name and position, so errors read "events-2024-05-01.gz line 17".
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from cdpctl import jsonwire
from cdpctl.delivery.locations import Origin
from cdpctl.delivery.sources import EventSource, Malformed, Project, RawRecord, Record

EVENT_SUFFIXES = (".gz", ".ndjson", ".jsonl", ".json")
DEAD_LETTER_SUFFIX = ".dead-letter.ndjson"
_GLOB_CHARS = frozenset("*?[")


class InputError(Exception):
    """An argument names nothing readable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Input:
    index: int  # position in the expanded list: the order records are read and reported in
    name: str  # as shown in messages: the path as found, or the URL
    path: str  # what is opened: the absolute path, the URL, or `-`
    size: int | None  # bytes (compressed, for gzip); None for stdin
    url: bool = False  # opened through fsspec

    @property
    def origin(self) -> Origin:
        return Origin(self.index, 0, self.name)

    def source(self) -> EventSource:
        if self.path == "-":
            return EventSource("-", origin=self.origin)
        return EventSource(self.name, origin=self.origin, opener=self.open, size=self.size)

    def open(self) -> IO[bytes]:
        """The raw bytes (still compressed, if the file is)."""
        return open_url(self.path) if self.url else open(self.path, "rb")


def is_url(argument: str) -> bool:
    return "://" in argument


def expand(arguments: Sequence[str]) -> tuple[Input, ...]:
    """The inputs the arguments name, in order. Raises InputError naming the first argument
    that matches nothing."""
    if "-" in arguments and len(arguments) > 1:
        raise InputError("`-` (stdin) cannot be combined with other inputs")
    found: dict[str, tuple[int | None, bool]] = {}
    for argument in arguments:
        if argument == "-":
            found["-"] = (None, False)
            continue
        listing = _remote(argument) if is_url(argument) else _local(argument)
        for name, size in listing:
            found.setdefault(name, (size, is_url(argument)))
    return tuple(
        Input(index, "stdin", "-", None)
        if name == "-"
        else Input(index, name, name if url else os.path.abspath(name), size, url)
        for index, (name, (size, url)) in enumerate(found.items())
    )


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return (
        not base.startswith(".")
        and base.endswith(EVENT_SUFFIXES)
        and not base.endswith(DEAD_LETTER_SUFFIX)
    )


def _local(argument: str) -> list[tuple[str, int]]:
    if _GLOB_CHARS & set(argument) and not os.path.exists(argument):
        names = sorted(n for n in glob.glob(argument, recursive=True) if os.path.isfile(n))
        if not names:
            raise InputError(f"no file matches {argument}")
        return [(name, os.path.getsize(name)) for name in names]
    if os.path.isdir(argument):
        names = sorted(
            os.path.join(folder, base)
            for folder, _, files in os.walk(argument)
            for base in files
            if _wanted(base)
        )
        if not names:
            raise InputError(f"no event files in the folder {argument} ({_SUFFIX_LIST})")
        return [(name, os.path.getsize(name)) for name in names]
    if not os.path.isfile(argument):
        raise InputError(f"no such events file: {argument}")
    return [(argument, os.path.getsize(argument))]


_SUFFIX_LIST = ", ".join(EVENT_SUFFIXES)


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise InputError(
            f"reading {url} needs fsspec: pip install 'cdpctl[s3]' (s3:// and other URLs)"
        ) from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        hint = " (pip install 'cdpctl[s3]')" if url.startswith(("s3://", "s3a://")) else ""
        raise InputError(f"cannot read {url}: {error}{hint}") from None


def _remote(argument: str) -> list[tuple[str, int | None]]:
    fs, path = _filesystem(argument)
    try:
        if _GLOB_CHARS & set(path) and not fs.exists(path):
            entries = fs.glob(path, detail=True)
            if not entries:
                raise InputError(f"no file matches {argument}")
        elif fs.isdir(path):
            entries = {k: v for k, v in fs.find(path, detail=True).items() if _wanted(k)}
            if not entries:
                raise InputError(f"no event files under {argument} ({_SUFFIX_LIST})")
        else:
            entries = {path: fs.info(path)}
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"no such events file: {argument}") from None
    except Exception as error:  # remote filesystems raise their own kinds; say which, no trace
        raise InputError(f"cannot list {argument}: {type(error).__name__}: {error}") from None
    return [
        (fs.unstrip_protocol(name), info.get("size"))
        for name, info in sorted(entries.items())
        if info.get("type", "file") == "file"
    ]


def open_url(url: str) -> IO[bytes]:
    """An fsspec URL as a binary stream, read lazily (no local copy)."""
    fs, path = _filesystem(url)
    return cast(IO[bytes], fs.open(path, "rb"))


class Archive:
    """The inputs read one after another as one stream of records, with how far through
    them the run is (bytes, for progress and ETA) and which file it is in."""

    def __init__(self, inputs: Sequence[Input]) -> None:
        self.inputs = tuple(inputs)
        sizes = [i.size for i in self.inputs]
        self.total: int | None = None if None in sizes else sum(s or 0 for s in sizes)
        self._done = 0  # bytes of the inputs already read
        self._files_done = 0
        self._current: EventSource | None = None
        self._current_name = ""

    @property
    def spec(self) -> str:
        """The one local file this archive is, else `-` (stdin, URLs or many inputs): what the
        default ledger and dead-letter paths are named after."""
        if len(self.inputs) == 1 and self.inputs[0].path != "-" and not self.inputs[0].url:
            return self.inputs[0].name
        return "-"

    def raw(self) -> Iterator[RawRecord]:
        for item in self.inputs:
            source = item.source()
            self._current, self._current_name = source, item.name
            yield from source.raw()
            self.finished(item)

    def records(
        self, loads: Callable[[bytes], Any] = jsonwire.loads, project: Project | None = None
    ) -> Iterator[Record | Malformed]:
        for item in self.inputs:
            source = item.source()
            self._current, self._current_name = source, item.name
            yield from source.records(loads, project)
            self.finished(item)

    def finished(self, item: Input) -> None:
        """One input is read to its end (the Dask engine reports its inputs this way)."""
        self._done += item.size or 0
        self._files_done += 1
        self._current = None

    def position(self) -> int:
        current = self._current
        return self._done + (current.position() if current is not None else 0)

    def names(self) -> tuple[str, ...]:
        """The inputs' names, in the order they are read (what a summary says was read)."""
        return tuple(item.name for item in self.inputs)

    def describe(self) -> str:
        """Which file the run is in, for progress lines ("" for a single input)."""
        count = len(self.inputs)
        if count <= 1:
            return ""
        if self._current is not None:
            return f"file {self._files_done + 1}/{count} {self._current_name}"
        return f"{self._files_done}/{count} files"
