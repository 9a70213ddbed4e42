"""Streaming event archives: NDJSON (plain or gzip), a JSON array, or stdin — constant memory.

Which format: an archive is a JSON array when its first non-blank byte is `[` and its first
line is not a complete JSON value followed by more lines (then it is NDJSON whose first record
happens to be an array, and that record is reported as malformed). Both formats go through the
same per-record parser and rules: events are parsed as JavaScript does (cdpctl.jsonwire),
invalid UTF-8, NaN and nesting deeper than MAX_DEPTH are malformed records, every record larger
than MAX_LINE_BYTES is skipped to its end without being held in memory, and every record must
be a Segment event (an object with a known `type`).

A malformed record is a value (`Malformed`), not an exception, so a replay goes on and counts
it. A broken archive — corrupt gzip, an I/O error, a JSON array whose structure breaks — raises
`SourceError` saying how far it was read and that the rest was not processed. Dead-letter
records (`{"deadLetter": …, "event": …}`) are unwrapped, so a dead-letter file replays as is.
"""

from __future__ import annotations

import gzip
import io
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar, cast

import orjson

from cdpctl import codes, jsonwire
from cdpctl.delivery.locations import NOWHERE, Location, Origin
from cdpctl.events import EVENT_TYPES, event_problem, json_kind

MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 100  # nesting levels of one event; real events use a handful
_READ = 1 << 16
_BLOCK = 1 << 20  # NDJSON is read in blocks this large and split into lines
_ORJSON_POSITION = re.compile(r": line \d+ column (\d+) \(char \d+\)$")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRUCTURE = re.compile(rb'["\[\]{}]')
_ELEMENT = re.compile(rb'["\[\]{},]')
_NOT_BLANK = re.compile(rb"[^ \t\r\n]")


class SourceError(Exception):
    """The archive itself cannot be read (as opposed to one malformed record in it)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One event's bytes and where it came from: a line number, or an array element (1-based).
    `data` is None for a record too large to keep (`size` says how large it was)."""

    number: int
    data: bytes
    unit: str = "line"
    oversized: bool = False
    origin: Origin = NOWHERE  # the input (file) it was read from

    @property
    def where(self) -> Location:
        return self.origin.at(self.number, self.unit)


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed Segment event."""

    number: int
    raw: bytes
    event: dict[str, Any]
    unit: str = "line"
    origin: Origin = NOWHERE

    @property
    def where(self) -> Location:
        return self.origin.at(self.number, self.unit)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A record that is not a Segment event, and why."""

    number: int
    raw: bytes
    error: str
    unit: str = "line"
    code: str = codes.JSON_SYNTAX
    origin: Origin = NOWHERE
    # The column of a JSON syntax error: part of the location, not of `error`, so one kind of
    # error is one group in a summary whatever column each line breaks at.
    column: int | None = None

    @property
    def where(self) -> Location:
        return self.origin.at(self.number, self.unit, self.column)


def decompressed(stream: IO[bytes]) -> IO[bytes]:
    """The stream, decompressed on the fly when it starts with gzip's magic bytes (whatever
    its name). Closing the result leaves `stream` open."""
    reader: Any = stream
    if not hasattr(reader, "peek"):  # e.g. an fsspec file
        reader = io.BufferedReader(reader)
    if reader.peek(2)[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=reader))
    return cast(IO[bytes], reader)


def splittable(stream: IO[bytes]) -> bool:
    """Whether an archive can be read from any line boundary, as byte ranges: plain NDJSON,
    neither compressed nor a JSON array."""
    stream = decompressed(stream)
    return not isinstance(stream, gzip.GzipFile) and not _is_json_array(_first_line(stream), stream)


def raw_records(stream: IO[bytes], origin: Origin = NOWHERE) -> Iterator[RawRecord]:
    """Split a stream into per-event byte strings without parsing them, in bounded memory."""
    first = _first_line(stream)
    if _is_json_array(first, stream):
        yield from _array_elements(first, stream, origin)
    else:
        yield from _lines(first, stream, origin)


def ndjson_records(stream: IO[bytes], origin: Origin) -> Iterator[RawRecord]:
    """The lines of NDJSON text: a whole file, or a byte range of one that starts a line
    (numbered from the range's first line)."""
    return _lines(_first_line(stream), stream, origin)


def _first_line(stream: IO[bytes]) -> bytes:
    return stream.readline(MAX_LINE_BYTES + 1)


def _is_json_array(first: bytes, stream: IO[bytes]) -> bool:
    if first.lstrip()[:1] != b"[":
        return False
    if len(first) > MAX_LINE_BYTES or not first.endswith(b"\n"):
        return True  # one long line, or the whole file: a JSON array
    bare = _STRING.sub(b'""', first)
    if bare.count(b"[") + bare.count(b"{") != bare.count(b"]") + bare.count(b"}"):
        return True  # `[` opening a multi-line array
    peek = getattr(stream, "peek", None)
    following = peek(_READ) if peek is not None else b""
    return not _NOT_BLANK.search(following)  # a one-line array file


def _lines(first: bytes, stream: IO[bytes], origin: Origin = NOWHERE) -> Iterator[RawRecord]:
    for number, data in _line_items(first, stream):
        if data is None:
            yield RawRecord(number, b"", "line", True, origin)
        else:
            yield RawRecord(number, data, "line", False, origin)


def _line_items(first: bytes, stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, stripped bytes) of every line that is not blank; None for a line over
    MAX_LINE_BYTES, skipped to its end without being held. After the first line (already read
    by `_first_line`) the stream is read in blocks of _BLOCK bytes, each split in one call: a
    line costs a slice, not a `readline`. Memory holds one block plus one partial line."""
    if len(first) > MAX_LINE_BYTES and not first.endswith(b"\n"):
        line = first
        while line and not line.endswith(b"\n"):  # skip the rest of it, chunk by chunk
            line = stream.readline(_READ)
        yield 1, None
    else:
        stripped = first.strip()
        if stripped:
            yield 1, stripped
    number = 2
    pending: bytes | None = b""  # the start of a line the next block goes on with
    # read1: what is there, up to a block, so a pipe's lines are judged as they come rather
    # than once a whole block has arrived
    read = getattr(stream, "read1", None) or stream.read
    while True:
        block = read(_BLOCK)
        if not block:
            break
        if pending is None:  # inside a line over MAX_LINE_BYTES: drop it up to its end
            cut = block.find(b"\n")
            if cut == -1:
                continue
            block = block[cut + 1 :]
            pending = b""
        lines = (pending + block if pending else block).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if len(line) > MAX_LINE_BYTES:
                yield number, None
            else:
                stripped = line.strip()
                if stripped:
                    yield number, stripped
            number += 1
        if len(pending) > MAX_LINE_BYTES:
            yield number, None
            number += 1
            pending = None
    if pending:
        stripped = pending.strip()
        if stripped:
            yield number, stripped


def _array_elements(first: bytes, stream: IO[bytes], origin: Origin) -> Iterator[RawRecord]:
    """Elements of a top-level JSON array, found by their brackets and strings (not parsed
    here: each element goes through the same parser as an NDJSON line)."""
    for element in _ArrayReader(first, stream).elements():
        yield RawRecord(element.number, element.data, "element", element.oversized, origin)


class _ArrayReader:
    """Scans a JSON array's structure chunk by chunk; `start` marks the first byte still
    needed, so memory holds one element (at most MAX_LINE_BYTES) plus one chunk."""

    def __init__(self, first: bytes, stream: IO[bytes]) -> None:
        self.buffer = first
        self.stream = stream
        self.start = 0
        self.consumed = 0  # archive bytes dropped from the front of the buffer
        self.shift = 0  # how far the last `_more` moved positions back
        self.eof = False

    def _more(self) -> bool:
        """Append a chunk, dropping what is before `start`: positions then move back by
        `shift`."""
        if self.eof:
            return False
        chunk = self.stream.read(_READ)
        if not chunk:
            self.eof = True
            return False
        dropped = self.start
        self.buffer = self.buffer[dropped:] + chunk
        self.consumed += dropped
        self.start = 0
        self.shift = dropped
        return True

    def _search(self, pattern: re.Pattern[bytes], at: int) -> tuple[re.Match[bytes] | None, int]:
        """The next match at or after `at`, reading on as needed; also returns `at` shifted to
        the current buffer."""
        while True:
            found = pattern.search(self.buffer, at)
            if found is not None:
                return found, at
            size = len(self.buffer)
            if not self._more():
                return None, size
            at = size - self.shift

    def _broken(self, index: int, at: int, what: str) -> SourceError:
        return SourceError(
            f"the JSON array is broken at byte {self.consumed + at} (after element {index}): "
            f"{what}; elements after it were not processed"
        )

    def elements(self) -> Iterator[RawRecord]:
        found, _ = self._search(_NOT_BLANK, 0)
        if found is None or found.group() != b"[":
            raise self._broken(0, found.start() if found else 0, "expected '['")
        at = found.end()
        index = 0
        while True:
            found, at = self._search(_NOT_BLANK, at)
            if found is None:
                raise self._broken(index, at, "the archive ends before ']'")
            char = found.group()
            at = found.start()
            if char == b"]":
                after, _ = self._search(_NOT_BLANK, at + 1)
                if after is not None:
                    raise self._broken(index, after.start(), "more data after the closing ']'")
                return
            if index:
                if char != b",":
                    raise self._broken(index, at, "expected ',' or ']' between elements")
                found, at = self._search(_NOT_BLANK, at + 1)
                if found is None:
                    raise self._broken(index, at, "the archive ends before ']'")
                at = found.start()
            index += 1
            self.start = at
            end, oversized = self._element_end(index, at)
            if oversized:
                yield RawRecord(index, b"", "element", oversized=True)
            else:
                yield RawRecord(index, self.buffer[self.start : end].strip(), "element")
            self.start = end
            at = end

    def _string_end(self, index: int, at: int, oversized: bool) -> tuple[int, bool]:
        """The position after the string opening at `at`, scanning each byte once however
        long the string is (a string over MAX_LINE_BYTES is dropped as it is scanned)."""
        scan = at + 1
        while True:
            quote = self.buffer.find(b'"', scan)
            if quote == -1:
                if len(self.buffer) - self.start > MAX_LINE_BYTES:
                    oversized = True
                    self.start = max(self.start, len(self.buffer) - 1)
                scan = max(at + 1, len(self.buffer) - 1)  # a backslash may end the buffer
                if not self._more():
                    raise self._broken(index - 1, at, f"element {index} has an open string")
                scan -= self.shift
                at -= self.shift
                continue
            backslashes = 0
            while quote - 1 - backslashes >= 0 and self.buffer[quote - 1 - backslashes] == 0x5C:
                backslashes += 1
            if backslashes % 2 == 0:
                return quote + 1, oversized
            scan = quote + 1

    def _object_end(self, at: int) -> int | None:
        """Fast path for an object element: orjson parses from the element's start and stops
        where the element ends ("unexpected content after document"), so the structure is
        found in C. None when that does not work out (a malformed, too deep or huge element):
        the caller then scans the bytes itself."""
        while True:
            try:
                orjson.loads(memoryview(self.buffer)[at:])
            except orjson.JSONDecodeError as error:
                message = str(error)
                if message.startswith("unexpected content after document"):
                    return at + _byte_offset(self.buffer, at, error.pos)
                if not message.startswith("unexpected end of data"):
                    return None
                if len(self.buffer) - self.start > MAX_LINE_BYTES or not self._more():
                    return None
                at -= self.shift
                continue
            return len(self.buffer)

    def _element_end(self, index: int, at: int) -> tuple[int, bool]:
        """Where the element at `at` (== self.start) ends. An element over MAX_LINE_BYTES is
        dropped while it is scanned."""
        if self.buffer[at : at + 1] == b"{":
            end = self._object_end(at)
            if end is not None:
                return end, False
            at = self.start
        depth = 0
        oversized = False
        while True:
            found, at = self._search(_ELEMENT if depth == 0 else _STRUCTURE, at)
            if found is None:
                raise self._broken(index - 1, at, f"element {index} is not closed")
            char = found.group()
            at = found.start()
            if char == b'"':
                at, oversized = self._string_end(index, at, oversized)
            elif char in (b"[", b"{"):
                depth += 1
                at += 1
            elif depth == 0:  # `,` or `]` after a scalar element
                return at, oversized
            else:
                depth -= 1
                at += 1
                if depth == 0:
                    return at, oversized
            if at - self.start > MAX_LINE_BYTES:
                oversized = True
                self.start = at


def _byte_offset(buffer: bytes, start: int, chars: int) -> int:
    """Bytes taken by the first `chars` characters of UTF-8 `buffer[start:]` (orjson reports
    positions in characters)."""
    window = buffer[start : start + 4 * chars]
    if window.isascii():
        return chars
    return len(window.decode("utf-8", "replace")[:chars].encode())


def parse(record: RawRecord, loads: Callable[[bytes], Any] = jsonwire.loads) -> Record | Malformed:
    """Decode one record; a malformed or non-event record becomes `Malformed` with why.

    `loads` may be a cheaper parser where the numbers do not matter (routing to a worker)."""
    data = record.data
    number, unit, origin = record.number, record.unit, record.origin
    if record.oversized:
        limit = MAX_LINE_BYTES // (1024 * 1024)
        return Malformed(number, b"", f"larger than {limit} MB", unit, origin=origin)
    if _too_deep(data):
        deep = f"nested deeper than {MAX_DEPTH} levels"
        return Malformed(number, data, deep, unit, origin=origin)
    try:
        value = loads(data)
    except jsonwire.JSONDecodeError as error:
        message, column = _syntax_message(error)
        return Malformed(number, data, message, unit, origin=origin, column=column)
    if not isinstance(value, dict):
        return Malformed(
            number,
            data,
            f"expected a JSON object (a Segment event), got {json_kind(value)}",
            unit,
            codes.INVALID_EVENT,
            origin,
        )
    if "deadLetter" in value:
        if not isinstance(value.get("event"), dict):
            return Malformed(
                number,
                data,
                "dead-letter record of a line that was never a valid event",
                unit,
                origin=origin,
            )
        value = value["event"]
    problem = event_problem(value)
    if problem is not None:
        return Malformed(number, data, problem, unit, codes.INVALID_EVENT, origin)
    return Record(number, data, value, unit, origin)


def event_records(
    stream: IO[bytes], origin: Origin = NOWHERE, project: Project | None = None
) -> Iterator[Record | Malformed]:
    """`parse` of each of `raw_records(stream, origin)`, with NDJSON lines read the fast way:
    `parse_line`, on the bytes as they are split (no RawRecord in between)."""
    first = _first_line(stream)
    if _is_json_array(first, stream):
        for raw in _array_elements(first, stream, origin):
            yield parse(raw)
        return
    for number, data in _line_items(first, stream):
        yield parse_line(
            number, data, origin, project.decode if project and project.enabled else None
        )


_EVENT_TYPES = frozenset(EVENT_TYPES)


class Project(Protocol):
    """Decodes only the keys a run reads (cdpctl.delivery.projection). `decode` gives, for a
    line and its `jsonwire.bare` form, those keys as `jsonwire.loads` gives them, or None where
    it cannot serve the line exactly. `enabled` False: it has settled on decoding whole."""

    enabled: bool

    def decode(self, data: bytes, bare: bytes) -> dict[str, Any] | None: ...


def parse_line(
    number: int,
    data: bytes | None,
    origin: Origin = NOWHERE,
    project: Callable[[bytes, bytes], dict[str, Any] | None] | None = None,
) -> Record | Malformed:
    """`parse(RawRecord(number, data, "line", …))`, with the common case fused: one pass of
    cheap checks (`jsonwire.bare`), one decode — of the keys `project` decodes, else whole by
    orjson — and the record built without the frozen dataclass's per-field guard. Anything
    not a plain event — a malformed line, one with many brackets, a dead letter, a non-event
    — goes through `parse` itself, so every message, code, column and count is the one
    `parse` gives. `data` None is a line over MAX_LINE_BYTES."""
    if data is None:
        return parse(RawRecord(number, b"", "line", True, origin))
    bare = jsonwire.bare(data)
    if bare.count(b"{") <= MAX_DEPTH:
        walk = jsonwire.needs_js_numbers(data, bare)
        value = project(data, bare) if project is not None and not walk else None
        if value is None:
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                value = None
        if type(value) is dict and "deadLetter" not in value:
            kind = value.get("type")
            if type(kind) is str and kind in _EVENT_TYPES:
                event = jsonwire.js_numbers(value) if walk else value
                return _record(number, data, event, origin)
    return parse(RawRecord(number, data, "line", False, origin))


_new = object.__new__
_set_number = vars(Record)["number"].__set__
_set_raw = vars(Record)["raw"].__set__
_set_event = vars(Record)["event"].__set__
_set_unit = vars(Record)["unit"].__set__
_set_origin = vars(Record)["origin"].__set__


def _record(number: int, raw: bytes, event: dict[str, Any], origin: Origin) -> Record:
    """`Record(number, raw, event, "line", origin)`, a third of the cost: a frozen
    dataclass's `__init__` sets each field through `object.__setattr__`; the slots are set
    directly here. The value is the same (equal, frozen from here on)."""
    record = _new(Record)
    _set_number(record, number)
    _set_raw(record, raw)
    _set_event(record, event)
    _set_unit(record, "line")
    _set_origin(record, origin)
    return record


def _syntax_message(error: jsonwire.JSONDecodeError) -> tuple[str, int | None]:
    """`malformed JSON: unexpected character` and its column (the record's own line is the
    location, and orjson's `line 1 column 12 (char 11)` becomes its column)."""
    message = str(error)
    found = _ORJSON_POSITION.search(message)
    if found is None:
        return f"malformed JSON: {message}", None
    return f"malformed JSON: {message[: found.start()]}", int(found.group(1))


def _too_deep(data: bytes) -> bool:
    """Nesting deeper than MAX_DEPTH. Cheap for ordinary events: only texts with that many
    brackets at all are scanned (outside strings)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    for found in _STRUCTURE.finditer(_STRING.sub(b'""', data)):
        char = found.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


_Read = TypeVar("_Read", RawRecord, Record | Malformed)


class EventSource:
    """Records of an archive plus how far through it we are (bytes), for progress and ETA.

    `spec` names it in errors; `opener` gives its bytes when it is not a local path or `-`
    (e.g. an fsspec URL); `origin` is stamped on every record."""

    def __init__(
        self,
        spec: str,
        *,
        origin: Origin | None = None,
        opener: Callable[[], IO[bytes]] | None = None,
        size: int | None = None,
    ) -> None:
        self.spec = spec
        self.origin = origin or Origin(name="stdin" if spec == "-" else spec)
        self._opener = opener
        self.total = size
        if size is None and opener is None and spec != "-":
            self.total = Path(spec).stat().st_size
        self._raw: IO[bytes] | None = None

    def records(
        self, loads: Callable[[bytes], Any] = jsonwire.loads, project: Project | None = None
    ) -> Iterator[Record | Malformed]:
        """Every record, parsed; `project` (see `parse_line`) decodes only what a run reads."""
        if loads is not jsonwire.loads:
            for raw in self.raw():
                yield parse(raw, loads)
            return
        yield from self._read(partial(event_records, project=project))

    def raw(self) -> Iterator[RawRecord]:
        """The records' bytes, unparsed. A file that cannot be read to its end (corrupt or
        truncated gzip, I/O error) raises `SourceError` naming how far it got."""
        return self._read(raw_records)

    def _read(self, split: Callable[[IO[bytes], Origin], Iterator[_Read]]) -> Iterator[_Read]:
        last: _Read | None = None
        try:
            with self._open() as raw, decompressed(raw) as stream:
                self._raw = getattr(stream, "fileobj", None) or stream
                for record in split(stream, self.origin):
                    last = record
                    yield record
        except (OSError, EOFError, zlib.error) as error:
            after = f" after {last.unit} {last.number}" if last else ""
            raise SourceError(
                f"cannot read {self.spec}{after}: {error}; the rest was not processed"
            ) from None
        except SourceError as error:
            raise SourceError(f"{self.spec}: {error}") from None

    def _open(self) -> IO[bytes]:
        if self._opener is not None:
            return self._opener()
        return sys.stdin.buffer if self.spec == "-" else open(self.spec, "rb")

    def position(self) -> int:
        raw = self._raw
        try:
            return raw.tell() if raw is not None and not raw.closed else 0
        except (OSError, ValueError):
            return 0
