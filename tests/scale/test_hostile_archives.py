"""Hostile event archives: every one gets counted, located findings or one clear error — never a
traceback, never a silent skip, always in bounded memory. NDJSON and JSON arrays follow the
same rules."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SEGMENT_MAPPING, run_cli

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases" / "hostile" / "archives"
MAPPING = SEGMENT_MAPPING
OK_EVENT = {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}}


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "segment.yaml"
    path.write_text(MAPPING)
    return path


def dry_run(archive: Path, mapping: Path, *extra: str) -> tuple[int, dict, str]:
    result = run_cli(
        ["replay", str(archive), "-m", str(mapping), "--no-progress", "-f", "json", *extra]
    )
    assert "Traceback" not in result.output
    assert "internal error" not in result.stderr
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def errors(summary: dict) -> list[str]:
    """Each error group as `CODE message @ file line N` (the file without its folder)."""
    return [
        f"{e['code']} {e['message']} @ {os.path.basename(e['first'])}" for e in summary["errors"]
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("case", "read", "malformed", "message"),
    [
        (
            "ndjson-first-line-array.ndjson",
            2,
            1,
            "CDP110 expected a JSON object (a Segment event), got an array"
            " @ ndjson-first-line-array.ndjson line 1",
        ),
        (
            "array-bad-element.json",
            3,
            1,
            "CDP109 malformed JSON: invalid literal, expected 'true'"
            " @ array-bad-element.json element 2, column 10",
        ),
        ("array-huge-integer.json", 2, 0, None),
        ("ndjson-huge-integer.ndjson", 1, 0, None),
        ("array-nan.json", 2, 1, "CDP109 malformed JSON: unexpected character"),
        ("ndjson-nan.ndjson", 2, 1, "CDP109 malformed JSON: unexpected character"),
        ("array-invalid-utf8.json", 2, 1, "not valid UTF-8"),
        ("ndjson-invalid-utf8.ndjson", 2, 1, "not valid UTF-8"),
        ("binary-junk.ndjson", 2, 1, "binary-junk.ndjson line 1, column 1"),
        (
            "events-without-a-valid-type.ndjson",
            5,
            4,
            'unknown type "identfy" — did you mean "identify"?'
            " @ events-without-a-valid-type.ndjson line 3",
        ),
    ],
)
def test_malformed_records_are_counted_and_located_the_same_in_both_formats(
    mapping: Path, case: str, read: int, malformed: int, message: str | None, workers: str
) -> None:
    code, summary, _ = dry_run(CASES / case, mapping, "--workers", workers)
    assert code == (1 if malformed else 0)
    assert summary["events_read"] == read
    assert summary["malformed"] == malformed
    if message is not None:
        assert any(message in line for line in errors(summary)), errors(summary)
    counted = sum(s["matched"] + s["no_match"] for s in summary["subscriptions"].values())
    assert counted == 3 * (read - malformed), "every good record is judged by every subscription"


def test_every_kind_of_invalid_type_is_named(mapping: Path) -> None:
    _, summary, _ = dry_run(CASES / "events-without-a-valid-type.ndjson", mapping)
    found = errors(summary)
    first = "@ events-without-a-valid-type.ndjson line 1"
    assert any('no "type"' in e and first in e for e in found)
    assert any('unknown type "bogus"' in e for e in found)
    assert any('"type" is a number, not a string' in e for e in found)


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("array-missing-comma.json", "expected ',' or ']' between elements"),
        ("array-not-closed.json", "the archive ends before ']'"),
    ],
)
def test_a_broken_json_array_stops_saying_how_far_it_read(
    mapping: Path, case: str, where: str
) -> None:
    code, summary, stderr = dry_run(CASES / case, mapping, "--workers", "1")
    assert code == 2
    assert "the JSON array is broken at byte" in stderr
    assert where in stderr
    assert "elements after it were not processed" in stderr
    assert summary["stopped"].startswith(str(CASES / case))
    assert summary["events_read"] >= 1, "what came before the break is summarised"


def test_deep_nesting_is_a_malformed_record_in_either_format(tmp_path: Path, mapping: Path) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    ndjson = tmp_path / "deep.ndjson"
    ndjson.write_bytes(deep + b"\n" + json.dumps(OK_EVENT).encode() + b"\n")
    array = tmp_path / "deep.json"
    array.write_bytes(b"[" + json.dumps(OK_EVENT).encode() + b",\n" + deep + b"]")
    for archive, where in ((ndjson, "line 1"), (array, "element 2")):
        code, summary, _ = dry_run(archive, mapping)
        assert code == 1
        assert summary["malformed"] == 1 and summary["events_read"] == 2
        expected = f"nested deeper than 100 levels @ {archive.name} {where}"
        assert any(expected in e for e in errors(summary))


def test_a_gzip_bomb_is_read_in_bounded_memory(tmp_path: Path, mapping: Path) -> None:
    """One 400 MB line inside a 400 KB gzip file: reported as too large, skipped to its end
    while streaming, and the event after it still replays."""
    bomb = tmp_path / "bomb.ndjson.gz"
    block = b"x" * (1 << 20)
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        handle.write(b'{"type":"track","event":"')
        for _ in range(400):
            handle.write(block)
        handle.write(b'"}\n' + json.dumps(OK_EVENT).encode() + b"\n")
    assert bomb.stat().st_size < 1 << 20
    # A fresh parent between the test and the replay: its children's peak is the replay's
    # alone, not that of whatever this test worker ran before.
    measure = (
        "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(f'peak_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', "
        "file=sys.stderr); sys.exit(code)"
    )
    result = subprocess.run(
        [
            *(sys.executable, "-c", measure),
            *(sys.executable, "-m", "cdpctl", "replay", str(bomb), "-m", str(mapping)),
            *("--no-progress", "-f", "json", "--workers", "1"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    peak_kb = int(result.stderr.rsplit("peak_kb=", 1)[1])
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["malformed"] == 1
    assert summary["subscriptions"]["identify"]["would_send"] == 1
    assert any("larger than 8 MB @ bomb.ndjson.gz line 1" in e for e in errors(summary))
    assert peak_kb < 200 * 1024, f"peak RSS {peak_kb // 1024} MB"


def test_oversized_array_element_is_skipped_in_bounded_memory(
    tmp_path: Path, mapping: Path
) -> None:
    archive = tmp_path / "big.json"
    with archive.open("wb") as handle:
        handle.write(b'[{"type":"track","event":"')
        for _ in range(12):
            handle.write(b"y" * (1 << 20))
        handle.write(b'"},\n' + json.dumps(OK_EVENT).encode() + b"]")
    code, summary, _ = dry_run(archive, mapping, "--workers", "1")
    assert code == 1
    assert summary["malformed"] == 1
    assert summary["subscriptions"]["identify"]["would_send"] == 1
    assert any("larger than 8 MB @ big.json element 1" in e for e in errors(summary))


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 4096])
def test_json_array_elements_are_split_exactly_whatever_the_read_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Strings with quotes, backslashes, brackets and commas, nested values, pretty-printed or
    not: each element's bytes come out whole, across every chunk boundary."""
    import io
    import random

    from cdpctl.delivery import sources

    monkeypatch.setattr(sources, "_READ", chunk)
    rng = random.Random(chunk)
    for _ in range(60):
        values = [
            {
                "type": "track",
                "s": "".join(rng.choice('ab"\\[]{},\n ö€') for _ in range(rng.randrange(30))),
                "n": [{"x": [1, {}, ""]}],
            }
            for _ in range(rng.randrange(1, 6))
        ]
        data = json.dumps(
            values, indent=rng.choice([None, 1]), ensure_ascii=rng.choice([True, False])
        ).encode()
        stream = io.BufferedReader(io.BytesIO(data), buffer_size=8)
        found = [json.loads(r.data) for r in sources.raw_records(stream)]
        assert found == values
