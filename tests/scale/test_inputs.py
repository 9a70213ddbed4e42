"""Many inputs for `replay` and `diff`: files, folders, globs and URLs, in a stated order, each
streamed on its own, with the file name in every located finding."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from pathlib import Path

import pytest
from archives import ENV, LOOPS, live, make_events, summary, write_ndjson
from helpers import run_cli

from cdpctl.delivery.inputs import Archive, InputError, expand
from cdpctl.delivery.stats import ReplayStats
from cdpctl.output.replay import PlainProgress


def lines(events: list[dict], *extra: str) -> bytes:
    return ("\n".join([*(json.dumps(e) for e in events), *extra]) + "\n").encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A Segment-like export folder with the clutter real folders have."""
    root = tmp_path / "export"
    (root / "2024-05-02").mkdir(parents=True)
    (root / "2024-05-01").mkdir()
    (root / "2024-05-02" / "b.gz").write_bytes(gzip.compress(lines(make_events(5, start=20))))
    (root / "2024-05-01" / "a.ndjson").write_bytes(lines(make_events(4)))
    (root / "2024-05-01" / "c.jsonl").write_bytes(lines(make_events(3, start=10)))
    (root / "2024-05-01" / ".hidden.ndjson").write_bytes(b"{}\n")
    (root / "2024-05-01" / "a.ndjson.dead-letter.ndjson").write_bytes(b"{}\n")
    (root / "2024-05-01" / "a.ndjson.cdpctl-state.sqlite").write_bytes(b"SQLite")
    (root / "README.md").write_text("not events")
    return root


def names(arguments: list[str]) -> list[str]:
    return [item.name for item in expand(arguments)]


def test_a_folder_is_its_event_files_by_name_recursively(folder: Path) -> None:
    assert names([str(folder)]) == [
        str(folder / "2024-05-01" / "a.ndjson"),
        str(folder / "2024-05-01" / "c.jsonl"),
        str(folder / "2024-05-02" / "b.gz"),
    ]


def test_arguments_keep_their_order_globs_sort_and_a_file_is_read_once(folder: Path) -> None:
    b = str(folder / "2024-05-02" / "b.gz")
    found = names([b, str(folder / "*" / "*.*l"), b, str(folder / "2024-05-01" / "a.ndjson")])
    day = folder / "2024-05-01"
    assert found == [b, str(day / "c.jsonl"), str(day / "a.ndjson")]
    assert [item.index for item in expand([b, str(folder)])] == [0, 1, 2]


def test_file_urls_go_through_fsspec(folder: Path) -> None:
    (item,) = expand([f"file://{folder}/2024-05-02/b.gz"])
    assert item.url and item.name == f"file://{folder}/2024-05-02/b.gz"
    assert item.size == (folder / "2024-05-02" / "b.gz").stat().st_size
    assert sum(1 for _ in item.source().records()) == 5
    assert names([f"file://{folder}/2024-05-01/"]) == [
        f"file://{folder}/2024-05-01/a.ndjson",
        f"file://{folder}/2024-05-01/c.jsonl",
    ]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("{folder}/nothing-*.gz", "no file matches"),
        ("{folder}/missing.ndjson", "no such events file"),
        ("{empty}", "no event files in the folder"),
        ("file://{folder}/missing.gz", "no such events file"),
        ("unknownproto://bucket/key", "cannot read unknownproto://bucket/key"),
    ],
)
def test_an_argument_naming_nothing_is_refused(
    folder: Path, tmp_path: Path, argument: str, message: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    argument = argument.format(folder=folder, empty=empty)
    with pytest.raises(InputError, match=message):
        expand([argument])
    result = run_cli(["replay", argument, "-m", LOOPS], env=ENV)
    assert result.exit_code == 2 and message in result.stderr


def test_stdin_stands_alone(folder: Path) -> None:
    result = run_cli(["replay", "-", str(folder), "-m", LOOPS], input="", env=ENV)
    assert result.exit_code == 2
    assert "`-` (stdin) cannot be combined with other inputs" in result.stderr


def test_gzip_is_found_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    disguised = tmp_path / "events.ndjson"
    disguised.write_bytes(gzip.compress(lines(make_events(6))))
    result = run_cli(["replay", str(disguised), "-m", LOOPS, "-f", "json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert summary(result)["events_read"] == 6


@pytest.mark.parametrize("workers", ["1", "2"])
def test_many_files_count_as_one_archive_and_findings_name_their_file(
    tmp_path: Path, workers: str
) -> None:
    first = write_ndjson(tmp_path / "one.ndjson", make_events(30))
    second = tmp_path / "two.gz"
    bad = dict(make_events(1, start=30)[0], traits={"email": "nope"}, type="identify")
    second.write_bytes(gzip.compress(lines([*make_events(5, start=40), bad], "{broken")))
    together = write_ndjson(tmp_path / "all.ndjson", make_events(30) + make_events(5, start=40))
    args = ["-m", LOOPS, "-f", "json", "--no-progress", "--workers", workers]
    split = summary(run_cli(["replay", str(first), str(second), *args], env=ENV))
    whole = summary(run_cli(["replay", str(together), *args], env=ENV))
    assert split["events_read"] == whole["events_read"] + 2
    assert split["malformed"] == 1
    firsts = {error["code"]: error["first"] for error in split["errors"]}
    assert firsts["CDP109"] == f"{second} line 7, column 2"
    assert firsts["CDP403"] == f"{second} line 6"
    orders, contacts = "Order completed event", "Upsert contact"
    assert (
        split["subscriptions"][orders]["would_send"] == whole["subscriptions"][orders]["would_send"]
    )
    assert split["subscriptions"][contacts]["invalid"] == 1


def test_progress_follows_the_files_and_their_bytes(folder: Path) -> None:
    archive = Archive(expand([str(folder)]))
    stream = io.StringIO()
    progress = PlainProgress(
        archive.position, archive.total, live=False, stream=stream, describe=archive.describe
    )
    seen = []
    for record in archive.records():
        seen.append((archive.describe(), str(record.where)))
    assert seen[0] == (
        "file 1/3 " + str(folder / "2024-05-01" / "a.ndjson"),
        f"{folder / '2024-05-01' / 'a.ndjson'} line 1",
    )
    assert seen[-1][0] == "file 3/3 " + str(folder / "2024-05-02" / "b.gz")
    assert archive.describe() == "3/3 files"
    assert archive.position() == archive.total
    progress.close(ReplayStats())
    assert stream.getvalue().startswith("3/3 files · 0 events")


def test_a_live_replay_of_many_files_keeps_one_ledger_in_the_current_folder(
    tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = write_ndjson(tmp_path / "a.ndjson", make_events(12))
    second = write_ndjson(tmp_path / "b.ndjson", make_events(9, start=12), ("not json",))
    sent = live(first, sandbox, str(second))
    assert sent.exit_code == 1  # the malformed line
    assert summary(sent)["events_read"] == 22
    ledger = tmp_path / "cdpctl-replay.sqlite"
    rows = sqlite3.connect(ledger).execute("SELECT state, COUNT(*) FROM outcomes GROUP BY state")
    assert dict(rows.fetchall()) == {"delivered": 21, "failed": 1}
    dead = [json.loads(line) for line in (tmp_path / "cdpctl-dead-letter.ndjson").open()]
    assert dead[0]["deadLetter"]["reason"].startswith(f"{second} line 10, column 1: malformed JSON")
    again = live(first, sandbox, str(second), "--resume")
    assert summary(again)["subscriptions"]["Upsert contact"]["already_done"] == 7
