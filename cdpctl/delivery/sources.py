"""Streaming event archives: NDJSON (plain or gzip), a JSON array, or stdin — constant memory.

Each record keeps its line number (for NDJSON) or element index (for arrays) so a malformed one
can be reported precisely; parsing errors are values, not exceptions, so a replay goes on.
Dead-letter records (`{"deadLetter": …, "event": …}`) are unwrapped, so a dead-letter file can
be replayed as it is.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from cdpctl import jsonwire
from cdpctl.delivery.locations import NOWHERE, Location, Origin

MAX_LINE_BYTES = 8 * 1024 * 1024
_ARRAY_CHUNK = 1 << 16


class SourceError(Exception):
    """The archive itself cannot be read (as opposed to one malformed record in it)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One event's bytes and where it came from (line number, or array index + 1)."""

    number: int
    data: bytes
    origin: Origin = NOWHERE


@dataclass(frozen=True, slots=True)
class Record:
    number: int
    raw: bytes
    event: dict[str, Any] | None
    error: str | None = None
    origin: Origin = NOWHERE

    @property
    def location(self) -> Location:
        return self.origin.at(self.number)


def decompressed(stream: IO[bytes]) -> IO[bytes]:
    """The stream, decompressed on the fly when it starts with gzip's magic bytes (whatever
    its name). Closing the result leaves `stream` open."""
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # type: ignore[arg-type]  # any readable binary file
    if stream.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream


def splittable(stream: IO[bytes]) -> bool:
    """Whether an archive can be read from any line boundary, as byte ranges: plain NDJSON,
    neither compressed nor a JSON array."""
    stream = decompressed(stream)
    return not isinstance(stream, gzip.GzipFile) and not _is_json_array(stream)


def _is_json_array(stream: IO[bytes]) -> bool:
    if isinstance(stream, io.BufferedReader | gzip.GzipFile):
        head = stream.peek(64)
        return head.lstrip()[:1] == b"["
    return False


def raw_records(stream: IO[bytes], origin: Origin = NOWHERE) -> Iterator[RawRecord]:
    """Split a stream into per-event byte strings without parsing them."""
    if _is_json_array(stream):
        yield from _array_elements(stream, origin)
        return
    yield from ndjson_records(stream, origin)


def ndjson_records(stream: IO[bytes], origin: Origin = NOWHERE) -> Iterator[RawRecord]:
    """The lines of NDJSON text (a whole file, or a byte range of one that starts a line)."""
    for number, line in enumerate(stream, start=1):
        stripped = line.strip()
        if stripped:
            yield RawRecord(number, stripped, origin)


def parse(record: RawRecord, loads: Callable[[bytes], Any] = jsonwire.loads) -> Record:
    """Decode one record; a malformed or non-object record carries an error message.

    `loads` may be a cheaper parser where the numbers do not matter (routing to a worker)."""
    origin = record.origin
    if len(record.data) > MAX_LINE_BYTES:
        return Record(
            record.number,
            record.data[:200],
            None,
            f"record is larger than {MAX_LINE_BYTES // (1024 * 1024)} MB",
            origin,
        )
    try:
        value = loads(record.data)
    except jsonwire.JSONDecodeError as error:
        return Record(record.number, record.data, None, f"malformed JSON: {error}", origin)
    if not isinstance(value, dict):
        return Record(
            record.number,
            record.data,
            None,
            f"expected a JSON object (a Segment event), got {type(value).__name__}",
            origin,
        )
    if "deadLetter" in value:
        if not isinstance(value.get("event"), dict):
            return Record(
                record.number,
                record.data,
                None,
                "dead-letter record of a line that was never a valid event",
                origin,
            )
        value = value["event"]
    return Record(record.number, record.data, value, origin=origin)


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

    def records(self, loads: Callable[[bytes], Any] = jsonwire.loads) -> Iterator[Record]:
        for raw in self.raw():
            yield parse(raw, loads)

    def raw(self) -> Iterator[RawRecord]:
        """The records' bytes, unparsed. A file that cannot be read to its end (corrupt or
        truncated gzip, I/O error) raises `SourceError` naming how far it got."""
        number = 0
        try:
            with self._open() as raw, decompressed(raw) as stream:
                self._raw = getattr(stream, "fileobj", None) or stream
                for record in raw_records(stream, self.origin):
                    number = record.number
                    yield record
        except (OSError, EOFError, zlib.error) as error:
            where = f" after record {number}" if number else ""
            raise SourceError(f"cannot read {self.spec}{where}: {error}") from None

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


def _array_elements(stream: IO[bytes], origin: Origin) -> Iterator[RawRecord]:
    """Elements of a top-level JSON array, decoded chunk by chunk with raw_decode."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    index = 0
    reader = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
    started = False
    exhausted = False
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if not started:
            if position < len(buffer):
                if buffer[position] != "[":
                    return
                started = True
                position += 1
                continue
        elif position < len(buffer) and buffer[position] == "]":
            return
        if position < len(buffer):
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                if not exhausted and len(buffer) - position < MAX_LINE_BYTES:
                    chunk = reader.read(_ARRAY_CHUNK)
                    if chunk:
                        buffer = buffer[position:] + chunk
                        position = 0
                        continue
                    exhausted = True
                    continue
                index += 1
                yield RawRecord(index, f"<invalid element: {error.msg}>".encode(), origin)
                return
            if end == len(buffer) and not exhausted:
                chunk = reader.read(_ARRAY_CHUNK)  # a value ending the buffer may be cut short
                if chunk:
                    buffer = buffer[position:] + chunk
                    position = 0
                    continue
                exhausted = True
            index += 1
            yield RawRecord(index, orjson.dumps(value), origin)
            position = end
            continue
        if exhausted:
            return
        chunk = reader.read(_ARRAY_CHUNK)
        if not chunk:
            exhausted = True
            continue
        buffer = buffer[position:] + chunk
        position = 0
