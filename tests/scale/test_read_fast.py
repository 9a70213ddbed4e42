"""The fast NDJSON reader (block reads, one split per block, `parse_line`) gives exactly the
records the record-by-record reader gives: the same events (the same Python values, number
types included), the same malformed records with the same message, code, column and line,
for any text and any block size."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdpctl import jsonwire
from cdpctl.delivery import sources
from cdpctl.delivery.locations import Origin
from cdpctl.delivery.projection import ALWAYS, ProjectedDecoder
from cdpctl.delivery.sources import Malformed, RawRecord, Record, event_records, parse

ORIGIN = Origin(0, 0, "events.ndjson")


def reference_lines(text: bytes, limit: int) -> list[RawRecord]:
    """NDJSON lines as `readline` reads them: numbered from 1, blank ones skipped, a line
    whose content is over `limit` bytes marked oversized."""
    records = []
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) > limit:
            records.append(RawRecord(number, b"", "line", True, ORIGIN))
        elif line.strip():
            records.append(RawRecord(number, line.strip(), "line", False, ORIGIN))
    return records


def exact(record: Record | Malformed) -> tuple[object, ...]:
    """A record as a comparable value that tells 1 from 1.0 and -0.0 from 0 (repr does)."""
    if isinstance(record, Record):
        return ("record", record.number, record.raw, repr(record.event), record.unit)
    return ("malformed", record.number, record.raw, record.error, record.code, record.column)


def read_fast(text: bytes) -> list[tuple[object, ...]]:
    return [exact(r) for r in event_records(io.BytesIO(text), ORIGIN)]


def read_reference(text: bytes) -> list[tuple[object, ...]]:
    return [exact(parse(r)) for r in reference_lines(text, sources.MAX_LINE_BYTES)]


# --- generated lines ------------------------------------------------------------------------

_NUMBERS = st.sampled_from(
    [
        b"0",
        b"-0",
        b"-0.0",
        b"25.0",
        b"25.00",
        b"3.5",
        b"1e2",
        b"1E+2",
        b"1e-7",
        b"2.5e1",
        b"9007199254740993",
        b"-9007199254740993",
        b"18446744073709551616",
        b"123456789012345678901234567890",
        b"1e400",
        b"01",
        b"1.",
        b"-",
        b"NaN",
        b"Infinity",
        b"0.1000000000000000055511151231257827",
    ]
)
_STRINGS = st.sampled_from(
    [
        b'"plain"',
        b'"caf\\u00e9"',
        b'"\\ud83d\\ude00"',
        b'"\\ud800"',
        b'"tab\\there"',
        b'"raw\ttab"',
        b'"\\q"',
        '"café"'.encode(),
        b'"\xff"',
        b'"\xed\xa0\x80"',
        b'"a\\"b"',
        b'"{[{["',
        b'"25.0,"',
    ]
)
_SCALARS = st.one_of(_NUMBERS, _STRINGS, st.sampled_from([b"true", b"false", b"null", b"tru"]))
_KEYS = st.sampled_from([b'"type"', b'"userId"', b'"traits"', b'"deadLetter"', b'"event"', b'"x"'])
_TYPES = st.sampled_from(
    [b'"track"', b'"identify"', b'"page"', b'"Track"', b'"nope"', b"1", b"null", b"[]"]
)


def _objects(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    pair = st.tuples(_KEYS, children).map(lambda kv: kv[0] + b":" + kv[1])
    return st.lists(pair, max_size=4).map(lambda pairs: b"{" + b",".join(pairs) + b"}")


_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        _objects(children),
        st.lists(children, max_size=3).map(lambda items: b"[" + b",".join(items) + b"]"),
    ),
    max_leaves=12,
)


@st.composite
def _events(draw: st.DrawFn) -> bytes:
    """An event-like line: a `type` first (an odd one at times), duplicate keys, nested junk."""
    pairs = [b'"type":' + draw(_TYPES)]
    for key, value in draw(st.lists(st.tuples(_KEYS, _VALUES), max_size=5)):
        pairs.append(key + b":" + value)
    if draw(st.booleans()):
        pairs.append(b'"type":' + draw(_TYPES))  # a duplicate: the last one wins
    body = b"{" + b",".join(pairs) + b"}"
    if draw(st.booleans()):
        body = b'{"deadLetter":{"error":"x"},"event":' + body + b"}"
    return body


_JUNK = st.sampled_from(
    [
        b"",
        b"   ",
        b"\r",
        b"[1,2]",
        b'{"type":"track"} {"type":"track"}',
        b'{"type":"track",}',
        b"{" * 60 + b"}" * 60,
        b'{"type":"track","x":' + b"[" * 101 + b"]" * 101 + b"}",
        b'{"type":"track","x":"' + b"[" * 120 + b'"}',
        b'{"deadLetter":1,"event":"not an event"}',
        b"\xef\xbb\xbf" + b'{"type":"track"}',
        b"not json",
    ]
)
_LINES = st.lists(st.one_of(_events(), _JUNK), max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=_LINES,
    ending=st.sampled_from([b"\n", b"\r\n"]),
    last_newline=st.booleans(),
    block=st.integers(min_value=1, max_value=64),
    limit=st.integers(min_value=8, max_value=400),
)
def test_fast_reader_reads_as_the_record_by_record_reader(
    lines: list[bytes], ending: bytes, last_newline: bool, block: int, limit: int
) -> None:
    text = ending.join(lines) + (ending if last_newline else b"")
    if text.lstrip()[:1] == b"[":
        text = b'{"type":"track"}\n' + text  # an archive starting with `[` is a JSON array
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "_BLOCK", block)
        patch.setattr(sources, "MAX_LINE_BYTES", limit)
        assert read_fast(text) == read_reference(text)


def test_a_plain_event_is_read_as_jsonwire_reads_it() -> None:
    line = b'{"type":"track","a":25.0,"b":9007199254740993,"c":-0.0,"d":1e2,"e":"\\u00e9"}'
    (record,) = event_records(io.BytesIO(line + b"\n"), ORIGIN)
    assert isinstance(record, Record)
    expected = jsonwire.loads(line)
    assert repr(record.event) == repr(expected)
    assert type(record.event["a"]) is int and type(record.event["b"]) is float
    assert record == Record(1, line, expected, "line", ORIGIN)  # the same frozen value


def test_lines_over_the_limit_are_skipped_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "_BLOCK", 16)
    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 40)
    event = json.dumps({"type": "track", "event": "ok"}).encode()
    huge = json.dumps({"type": "track", "event": "x" * 200}).encode()
    text = b"\n".join([event, huge, event, huge]) + b"\n\n" + event
    read = list(event_records(io.BytesIO(text), ORIGIN))
    assert [(r.number, type(r).__name__) for r in read] == [
        (1, "Record"),
        (2, "Malformed"),
        (3, "Record"),
        (4, "Malformed"),
        (6, "Record"),
    ]
    assert isinstance(read[1], Malformed)
    assert read[1].error == "larger than 0 MB"  # the limit is 40 bytes here
    assert read_fast(text) == read_reference(text)


def test_scan_counts_brackets_and_flags_numbers() -> None:
    assert jsonwire.scan(b'{"a":[1,{"b":[]}]}') == (4, False)
    assert jsonwire.scan(b'{"a":25.0}')[1] is True
    assert jsonwire.scan(b'{"a":12345678901234567}')[1] is True
    assert jsonwire.scan(b'{"a":"12345678901234567"}')[1] is True  # in a string: walked, harmless
    assert jsonwire.scan(b'{"a":1.5,"b":3}')[1] is False


# --- decoding only the projected keys ---------------------------------------------------------

_PROJECTIONS = st.sets(st.sampled_from(["userId", "traits", "event", "x", "properties"])).map(
    lambda keys: frozenset(keys) | ALWAYS
)


def read_projected(text: bytes, keys: frozenset[str]) -> tuple[list[Record | Malformed], int]:
    decoder = ProjectedDecoder(keys)
    decoder.settle(True)  # always project: what is compared is its exactness, not its speed
    return list(event_records(io.BytesIO(text), ORIGIN, decoder)), decoder.projected


def items(event: dict[str, object], keys: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """An event's keys (those in `keys`) and the repr of their values, in key order: repr
    tells 1 from 1.0 and -0.0 from 0."""
    return sorted((k, repr(v)) for k, v in event.items() if keys is None or k in keys)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, keys=_PROJECTIONS)
def test_projected_reading_holds_exactly_the_whole_readings_keys(
    lines: list[bytes], keys: frozenset[str]
) -> None:
    text = b'{"type":"track"}\n' + b"\n".join(lines) + b"\n"
    projected, _ = read_projected(text, keys)
    whole = [parse(r) for r in reference_lines(text, sources.MAX_LINE_BYTES)]
    assert len(projected) == len(whole)
    for got, expected in zip(projected, whole, strict=True):
        if isinstance(expected, Record):
            assert isinstance(got, Record)
            assert (got.number, got.raw, got.unit) == (expected.number, expected.raw, "line")
            assert items(got.event, keys) == items(expected.event, keys)
            # a line read whole (one the projection cannot serve) holds the whole event
            assert items(got.event) in (items(expected.event, keys), items(expected.event))
        else:
            assert exact(got) == exact(expected)


def test_plain_events_are_projected_and_odd_ones_read_whole() -> None:
    lines = [
        b'{"type":"track","userId":"u1","event":"A","context":{"ip":"1.2.3.4"}}',
        b'{"type":"track","userId":"u2","big":1e400}',  # orjson refuses it: malformed
        b'{"type":"track","userId":"caf\xc3\xa9","skipped":"\xff"}',  # invalid UTF-8
        b'{"type":"track","userId":"u3","n":25.0}',  # an integral float: decoded whole
        b'{"type":"identify","userId":"u4","userId":"u5"}',  # the last one wins
        b'{"type":"page","userId":"u6","messageId":"a3e123","x":[-2.5E+12]}',  # no huge exponent
        b'{"type":"page","userId":"u7","x":{"y":[-2.5E+309]}}',  # Infinity: malformed
    ]
    text = b"\n".join(lines)
    projected, count = read_projected(text, frozenset({"userId"}) | ALWAYS)
    assert count == 3
    assert [type(r).__name__ for r in projected] == [
        "Record",
        "Malformed",
        "Malformed",
        "Record",
        "Record",
        "Record",
        "Malformed",
    ]
    first, _, _, _, last, _, _ = projected
    assert isinstance(first, Record) and first.event == {"type": "track", "userId": "u1"}
    assert isinstance(last, Record) and last.event == {"type": "identify", "userId": "u5"}
    whole = [parse(RawRecord(n, line, "line", False, ORIGIN)) for n, line in enumerate(lines, 1)]
    assert [exact(r) for r in projected if isinstance(r, Malformed)] == [
        exact(r) for r in whole if isinstance(r, Malformed)
    ]


def test_lines_from_a_pipe_are_read_as_they_come() -> None:
    """A producer that has written two lines and is still running (`tail -f … | cdpctl
    replay -`): both are read without waiting for a block to fill or the pipe to close."""
    read_end, write_end = os.pipe()
    watchdog = threading.Timer(10, os.close, [write_end])  # never hang: end the pipe at last
    watchdog.start()
    try:
        os.write(write_end, b'{"type":"track","event":"a"}\n{"type":"track","event":"b"}\n')
        with open(read_end, "rb") as stream:
            records = event_records(stream, ORIGIN)
            started = time.monotonic()
            first, second = next(records), next(records)
            assert time.monotonic() - started < 5  # not held until the watchdog closed it
            assert [r.event["event"] for r in (first, second) if isinstance(r, Record)] == [
                "a",
                "b",
            ]
            watchdog.cancel()
            os.close(write_end)
            assert list(records) == []
    finally:
        watchdog.cancel()
