"""Replay and diff over many archives: the Dask engine prints what the local engine prints.

Real parts only: a `distributed.LocalCluster` (one per module), a scheduler and a worker
started as separate `dask` processes, and an S3-compatible server (moto in server mode) holding
a Segment-layout archive (`segment-logs/SOURCE_ID/RECEIVED_DAY/*.gz`), all on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from archives import mixed_events
from helpers import run_cli

ROOT = Path(__file__).parents[2]
LOOPS = str(ROOT / "examples" / "loops.yaml")
SEGMENT = str(ROOT / "examples" / "segment.yaml")
PLAN = str(ROOT / "tests" / "fixtures" / "plans" / "shop" / "protocols.json")
ENV = {"LOOPS_API_KEY": "loops-test-key-1234", "SEGMENT_WRITE_KEY": "segment-write-key-1234"}
DAY_MS = 86_400_000
FIRST_DAY = 1_714_521_600_000  # 2024-05-01, as Segment names its RECEIVED_DAY folders
FILES = 8
PER_FILE = 250
BLOCKSIZE = "40KB"  # splits the plain file below into several parts


def archive_events(index: int, count: int, *, bad_emails: bool = True) -> list[str]:
    """Lines of one archive: varied events, a few with invalid emails, one malformed line and
    one event of an unknown type — so error groups and their first examples are exercised."""
    lines = []
    for n, event in enumerate(mixed_events(count, seed=100 + index)):
        if bad_emails and n % 41 == 7 and event["type"] == "identify":
            event["traits"]["email"] = f"not-an-email-{index}-{n}"
        lines.append(json.dumps(event))
    lines.insert(count // 2, "{broken")
    lines.insert(count // 3, json.dumps({"type": "identfy", "userId": "u"}))
    return lines


def write_archive(folder: Path) -> Path:
    """8 gzip files (one without a .gz name) and one plain NDJSON file read in parts."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(FILES):
        name = f"events-2024-05-{index + 1:02d}.gz" if index != 3 else "no-suffix.ndjson"
        (folder / name).write_bytes(
            gzip.compress(("\n".join(archive_events(index, PER_FILE)) + "\n").encode())
        )
    plain = archive_events(99, 600, bad_emails=False)
    for n in range(500, 600, 13):  # errors only late in the file: in a later part
        event = json.loads(plain[n])
        if event.get("type") == "identify":
            event["traits"]["email"] = f"late-bad-{n}"
            plain[n] = json.dumps(event)
    (folder / "zz-plain.ndjson").write_text("\n".join(plain) + "\n")
    return folder


TIMING = re.compile(r" · [\d.,]+s · [\d,]+ events/s")


def comparable(result: Any, fmt: str) -> Any:
    """The output without elapsed time and throughput (the only figures allowed to differ)."""
    assert result.exit_code in (0, 1), result.output
    if fmt == "json":
        document = json.loads(result.stdout)
        document.pop("elapsed_seconds", None)
        return document
    return TIMING.sub("", result.stdout)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An S3-compatible server (moto) with the archive in Segment's layout; the AWS variables
    are set for this process and for the cluster workers started after it."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    variables = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    client = boto3.client("s3")
    client.create_bucket(Bucket="acme-segment")
    folder = write_archive(tmp_path_factory.mktemp("s3-source"))
    for day, path in enumerate(sorted(folder.glob("*.gz"))):
        key = f"segment-logs/src123/{FIRST_DAY + day * DAY_MS}/{path.name}"
        client.put_object(Bucket="acme-segment", Key=key, Body=path.read_bytes())
    try:
        yield "s3://acme-segment/segment-logs/src123"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def cluster(s3: str) -> Iterator[str]:
    """A LocalCluster of two worker processes (they inherit the S3 settings)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def external(s3: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` and `dask worker` as separate processes on 127.0.0.1."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    dask = str(Path(sys.executable).parent / "dask")
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": dict(os.environ)}
    scheduler = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        **common,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, "the dask scheduler did not start"
            assert scheduler.poll() is None, "the dask scheduler exited"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--local-directory",
                    str(folder),
                ],
                **common,
            )
        )
        with Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def replay(*args: str) -> Any:
    return run_cli(["replay", *args, "--no-progress"], env=ENV)


def diff(*args: str) -> Any:
    return run_cli(["diff", *args], env=ENV)


@pytest.fixture(scope="module")
def new_loops(tmp_path_factory: pytest.TempPathFactory) -> str:
    text = Path(LOOPS).read_text()
    text = text.replace(
        'eventName: {"@template": "{{event}}"}', 'eventName: {"@template": "order: {{event}}"}'
    )
    text = text.replace(
        'trigger: type = "identify"', 'trigger: type = "identify" and userId != null'
    )
    path = tmp_path_factory.mktemp("mapping") / "loops-new.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    ("mapping", "extra"),
    [
        (LOOPS, []),
        (SEGMENT, []),
        (LOOPS, ["--coalesce-identify"]),
        (SEGMENT, ["--since", "2024-05-10T00:00:00Z", "--where", 'type != "page"']),
        (SEGMENT, ["--plan", PLAN, "--plan-mode", "block"]),
    ],
    ids=["loops", "segment", "coalesce", "filters", "plan"],
)
def test_dask_replay_prints_the_local_summary(
    archive: Path, cluster: str, mapping: str, extra: list[str], fmt: str
) -> None:
    args = [str(archive), "-m", mapping, "--format", fmt, *extra]
    local = replay(*args, "--workers", "1")
    on_dask = replay(*args, "--engine", "dask", "--scheduler", cluster, "--blocksize", BLOCKSIZE)
    assert comparable(on_dask, fmt) == comparable(local, fmt)
    assert on_dask.exit_code == local.exit_code == 1  # malformed lines are findings
    if fmt == "json":
        report = json.loads(local.stdout)
        assert report["events_read"] == FILES * (PER_FILE + 2) + 602
        firsts = {e["code"]: e["first"] for e in report["errors"]}
        assert firsts["CDP109"] == f"{archive / 'events-2024-05-01.gz'} line 127, column 2"
        assert firsts["CDP110"] == f"{archive / 'events-2024-05-01.gz'} line 84"
        if "--coalesce-identify" in extra:
            assert report["identifies_merged"] > 0
        if "--plan" in extra:
            assert report["plan_blocked"] == report["plan_violating"] > 0


def test_an_error_found_only_in_a_later_part_of_a_split_file_keeps_its_line(
    archive: Path, cluster: str
) -> None:
    plain = archive / "zz-plain.ndjson"
    args = [str(plain), "-m", LOOPS, "--format", "json"]
    local = json.loads(replay(*args).stdout)
    on_dask = replay(*args, "--engine", "dask", "--scheduler", cluster, "--blocksize", "20KB")
    report = json.loads(on_dask.stdout)
    invalid_email = [e for e in report["errors"] if e["code"] == "CDP403"]
    line = int(invalid_email[0]["first"].rsplit(" ", 1)[1])
    assert line > 500  # beyond the first part of the file
    report.pop("elapsed_seconds")
    local.pop("elapsed_seconds")
    assert report == local


def test_local_workers_agree_with_one_worker_on_many_files(archive: Path) -> None:
    args = [str(archive), "-m", LOOPS, "--format", "json", "--coalesce-identify"]
    one = comparable(replay(*args, "--workers", "1"), "json")
    two = comparable(replay(*args, "--workers", "2"), "json")
    assert one == two


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_dask_diff_prints_the_local_diff(
    archive: Path, cluster: str, new_loops: str, fmt: str
) -> None:
    args = [LOOPS, new_loops, str(archive), "--show", "500", "--format", fmt]
    local = diff(*args)
    on_dask = diff(*args, "--engine", "dask", "--scheduler", cluster, "--blocksize", BLOCKSIZE)
    assert local.exit_code == on_dask.exit_code == 0, on_dask.output
    assert on_dask.stdout == local.stdout
    if fmt == "json":
        report = json.loads(local.stdout)
        assert report["summary"]["changed"] > 0 and report["summary"]["no longer matched"] > 0
        assert {d["file"] for d in report["diffs"]} >= {str(archive / "zz-plain.ndjson")}


def test_an_external_scheduler_and_worker_give_the_local_summary(
    archive: Path, external: str, new_loops: str
) -> None:
    args = [str(archive), "-m", LOOPS, "--format", "json"]
    local = replay(*args)
    on_dask = replay(*args, "--engine", "dask", "--scheduler", external, "--blocksize", BLOCKSIZE)
    assert comparable(on_dask, "json") == comparable(local, "json")
    changes = [LOOPS, new_loops, str(archive), "--format", "json"]
    assert diff(*changes, "--engine", "dask", "--scheduler", external).stdout == (
        diff(*changes).stdout
    )


def test_without_a_scheduler_dask_starts_a_local_cluster(archive: Path) -> None:
    args = [str(archive / "zz-plain.ndjson"), "-m", LOOPS, "--format", "json"]
    local = replay(*args)
    on_dask = replay(*args, "--engine", "dask", "--workers", "2", "--blocksize", BLOCKSIZE)
    assert comparable(on_dask, "json") == comparable(local, "json")


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_s3_archive_in_segment_layout(s3: str, cluster: str, archive: Path, engine: str) -> None:
    on_dask = ["--engine", "dask", "--scheduler", cluster] if engine == "dask" else []
    by_folder = replay(s3 + "/", "-m", LOOPS, "--format", "json", *on_dask)
    by_glob = replay(s3 + "/*/*.gz", "-m", LOOPS, "--format", "json", *on_dask)
    report = comparable(by_folder, "json")
    assert report == comparable(by_glob, "json")
    # the same seven gzip files on disk (the S3 copy has no no-suffix.ndjson): same counts
    files = [str(p) for p in sorted(archive.glob("*.gz"))]
    on_disk = comparable(replay(*files, "-m", LOOPS, "--format", "json"), "json")
    assert report["subscriptions"] == on_disk["subscriptions"]
    first = {e["code"]: e["first"] for e in report["errors"]}["CDP109"]
    assert first == f"{s3}/{FIRST_DAY}/events-2024-05-01.gz line 127, column 2"


def test_s3_engines_agree_and_diff_reads_s3(s3: str, cluster: str, new_loops: str) -> None:
    local = replay(s3, "-m", SEGMENT, "--format", "json")
    on_dask = replay(
        s3, "-m", SEGMENT, "--format", "json", "--engine", "dask", "--scheduler", cluster
    )
    assert comparable(local, "json") == comparable(on_dask, "json")
    changes = [LOOPS, new_loops, s3, "--format", "json"]
    assert diff(*changes, "--engine", "dask", "--scheduler", cluster).stdout == (
        diff(*changes).stdout
    )


def test_a_corrupt_archive_stops_both_engines_at_the_same_place(
    tmp_path: Path, cluster: str
) -> None:
    folder = write_archive(tmp_path / "archive")
    broken = folder / "events-2024-05-03.gz"
    broken.write_bytes(broken.read_bytes()[:-200])  # truncated gzip
    args = [str(folder), "-m", LOOPS, "--format", "json"]
    local = replay(*args)
    on_dask = replay(*args, "--engine", "dask", "--scheduler", cluster)
    assert local.exit_code == on_dask.exit_code == 2
    assert f"cannot read {broken}" in local.stderr
    assert on_dask.stderr == local.stderr
    assert comparable_stopped(on_dask) == comparable_stopped(local)


def comparable_stopped(result: Any) -> dict[str, Any]:
    document = json.loads(result.stdout)
    document.pop("elapsed_seconds")
    assert document["stopped"]
    return document


def test_dask_refuses_live_sending_and_says_what_to_do(archive: Path) -> None:
    result = replay(str(archive), "-m", LOOPS, "--engine", "dask", "--live")
    assert result.exit_code == 2
    assert "rate limit" in result.stderr and "one ledger" in result.stderr
    assert "--engine local --live" in result.stderr and "--since/--until" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "dask", "--limit", "5"], "--limit reads events in order"),
        (["--engine", "spark"], "--engine must be one of local, dask"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
        (["--engine", "dask", "--blocksize", "lots"], "--blocksize must be a size"),
    ],
)
def test_engine_usage_errors(archive: Path, args: list[str], message: str) -> None:
    result = replay(str(archive), "-m", LOOPS, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unreachable_scheduler_is_one_line_and_exit_2(archive: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdpctl",
            "replay",
            str(archive),
            "-m",
            LOOPS,
            "--engine",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_dask_cannot_read_stdin() -> None:
    result = run_cli(["replay", "-", "-m", LOOPS, "--engine", "dask"], input="{}\n", env=ENV)
    assert result.exit_code == 2
    assert "cannot read stdin" in result.stderr


def test_without_the_dask_extra_the_engine_names_the_extra(archive: Path) -> None:
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "from cdpctl.cli.main import run\n"
        f"sys.argv = ['cdpctl', 'replay', {str(archive)!r}, '-m', {LOOPS!r}, '--engine', 'dask']\n"
        "run()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **ENV}
    )
    assert result.returncode == 2
    assert "pip install 'cdpctl[dask]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["help", "replay"])
def test_the_default_path_never_imports_dask_or_fsspec(archive: Path, command: str) -> None:
    args = ["--help"]
    if command == "replay":
        args = ["replay", str(archive / "zz-plain.ndjson"), "-m", LOOPS, "--no-progress"]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cdpctl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert command == "help" or "cdpctl.delivery.sources" in imported
    heavy = {name for name in imported if name.split(".")[0] in {"dask", "distributed", "fsspec"}}
    assert not heavy
