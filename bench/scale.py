"""The Dask engine against the local one on the same gzip archives, and its cost per partition.

    python bench/scale.py [--events 240000] [--files 8] [--repeat 3] [--out bench/SCALE.md]

Generates seeded events (bench/generate.py) split into FILES gzip archives under
bench/data/scale/, then replays them dry through bench/mapping.yaml with: the local engine (1
and 2 processes), and the Dask engine on an already running LocalCluster of 1 and 2 worker
processes (`--scheduler`, so cluster start-up is measured apart). Every summary must equal the
local one (elapsed time and throughput aside). Events/s come from the summary's
`elapsed_seconds` (reading, judging and merging; not process start or mapping load); the best
of --repeat runs counts. Overhead per partition: the same PART_EVENTS events as 1 file and as
many small files, on one Dask worker: (time(many) - time(1)) / (many - 1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402 - bench/ is not a package

MAPPING = BENCH / "mapping.yaml"
CDPCTL = [sys.executable, "-m", "cdpctl"]
PART_EVENTS = 20_000
PART_COUNTS = (1, 16, 64, 256)


def split(source: Path, folder: Path, files: int) -> list[Path]:
    """The events of `source` in `files` gzip archives of about equal size, in order."""
    lines = source.read_bytes().splitlines(keepends=True)
    folder.mkdir(parents=True, exist_ok=True)
    per = -(-len(lines) // files)
    paths = []
    for index in range(files):
        path = folder / f"events-{index:04d}.gz"
        path.write_bytes(gzip.compress(b"".join(lines[index * per : (index + 1) * per]), 6))
        paths.append(path)
    return paths


def archive(events: int, files: int) -> Path:
    data = BENCH / "data" / "scale"
    source = data / f"events-{events}.ndjson"
    if not source.exists():
        data.mkdir(parents=True, exist_ok=True)
        generate(events, source, 42)
    folder = data / f"{events}-in-{files}"
    if not folder.exists() or len(list(folder.glob("*.gz"))) != files:
        split(source, folder, files)
    return folder


def replay(folder: Path, *extra: str) -> dict[str, Any]:
    env = {**os.environ, "SEGMENT_WRITE_KEY": "bench-write-key-0000"}
    command = [*CDPCTL, "replay", str(folder), "-m", str(MAPPING), "-f", "json", "--no-progress"]
    started = time.perf_counter()
    done = subprocess.run([*command, *extra], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command + list(extra))} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    report["wall_seconds"] = wall
    return report


def best(folder: Path, repeat: int, *extra: str) -> dict[str, Any]:
    runs = [replay(folder, *extra) for _ in range(repeat)]
    return min(runs, key=lambda r: r["elapsed_seconds"])


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    strip = {"elapsed_seconds", "wall_seconds"}
    return {k: v for k, v in a.items() if k not in strip} == {
        k: v for k, v in b.items() if k not in strip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=240_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "SCALE.md")
    args = parser.parse_args()

    from distributed import LocalCluster

    folder = archive(args.events, args.files)
    rows = []
    reference = None
    for label, extra in (
        ("local, 1 process", ["--workers", "1"]),
        ("local, 2 processes", ["--workers", "2"]),
    ):
        report = best(folder, args.repeat, *extra)
        reference = reference or report
        assert same(report, reference), f"{label}: summary differs from the local engine's"
        rows.append((label, report))
    startup = {}
    for workers in (1, 2):
        started = time.perf_counter()
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster:
            startup[workers] = time.perf_counter() - started
            on = ["--engine", "dask", "--scheduler", cluster.scheduler_address]
            report = best(folder, args.repeat, *on)
            assert reference is not None and same(report, reference), "dask summary differs"
            rows.append((f"dask, {workers} worker{'s' if workers > 1 else ''}", report))
            if workers == 1:
                overhead = per_partition(on, args.repeat)
    own = replay(folder, "--engine", "dask", "--workers", "2")
    assert reference is not None and same(own, reference)

    lines = [
        "# Dask engine vs local engine (bench/scale.py)",
        "",
        f"{args.events:,} events (bench/generate.py, seed 42) in {args.files} gzip files, "
        f"dry run through bench/mapping.yaml; best of {args.repeat}. Machine: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}. "
        "Every summary equal to the local engine's (elapsed time aside).",
        "",
        "| engine | events/s | engine seconds | wall seconds (process) |",
        "|---|---:|---:|---:|",
    ]
    for label, report in rows:
        rate = report["events_read"] / report["elapsed_seconds"]
        lines.append(
            f"| {label} | {rate:,.0f} | {report['elapsed_seconds']:.2f} | "
            f"{report['wall_seconds']:.2f} |"
        )
    lines += [
        "",
        f"Starting a LocalCluster: {startup[1]:.1f} s with 1 worker, {startup[2]:.1f} s with 2; "
        f"`--engine dask --workers 2` without `--scheduler` (start-up included): "
        f"{own['wall_seconds']:.1f} s wall.",
        "",
        f"Overhead per partition ({PART_EVENTS:,} events, 1 Dask worker):",
        "",
        "| files | engine seconds | per extra partition |",
        "|---:|---:|---:|",
    ]
    base = overhead[0][1]
    for count, seconds in overhead:
        extra = f"{(seconds - base) / (count - 1) * 1000:.1f} ms" if count > 1 else "—"
        lines.append(f"| {count} | {seconds:.2f} | {extra} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


def per_partition(on: list[str], repeat: int) -> list[tuple[int, float]]:
    source = BENCH / "data" / "scale" / f"events-{PART_EVENTS}.ndjson"
    if not source.exists():
        generate(PART_EVENTS, source, 7)
    found = []
    for count in PART_COUNTS:
        folder = BENCH / "data" / "scale" / f"{PART_EVENTS}-in-{count}"
        if not folder.exists() or len(list(folder.glob("*.gz"))) != count:
            split(source, folder, count)
        found.append((count, best(folder, repeat, *on)["elapsed_seconds"]))
    return found


if __name__ == "__main__":
    main()
