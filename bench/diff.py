"""`cdpctl diff` against a dry-run replay of the same archive, and where each spends its time.

    python bench/diff.py [--events 100000] [--repeat 3] [--out bench/DIFF.md]

Compares bench/mapping.yaml with three second files: itself, one where a default changes
(Orders' currency when an order has none: few or no events change) and one where a label
changes (every Product Viewed/Added event changes). Each command runs as a process, round-robin
across the commands so that other work on the machine hits all alike; the table gives the best
wall time of `--repeat` runs as events/s, and diff's rate as a share of the replay's (the issue's
goal: at least 0.8). The split below it is measured in this process on the same archive, as
CPU time: reading and decoding alone, then reading plus each command's judging loop (the
difference is the judging). CPU time is what other work on a shared machine disturbs least, so
the tables give it beside the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402 - bench/ is not a package
from measure import measure  # noqa: E402

from cdpctl.delivery.engine import DryJudge, Filters, filtered  # noqa: E402
from cdpctl.delivery.inputs import Archive, expand  # noqa: E402
from cdpctl.delivery.sources import Malformed, Record  # noqa: E402
from cdpctl.delivery.stats import ReplayStats  # noqa: E402
from cdpctl.pipeline import load_destination  # noqa: E402
from cdpctl.review import ReviewSummary, collect_changed  # noqa: E402

MAPPING = BENCH / "mapping.yaml"
DATA = BENCH / "data"
#: (label, text replaced in bench/mapping.yaml, replacement)
CHANGES = (
    ("the same file", "", ""),
    ("a default changes", '"else": "USD"', '"else": "EUR"'),
    (
        "a label changes",
        '"{{properties.name}} ({{properties.category}})"',
        '"{{properties.name}} - {{properties.category}}"',
    ),
)


def second_files() -> list[tuple[str, Path]]:
    text = MAPPING.read_text()
    files = []
    for index, (label, old, new) in enumerate(CHANGES):
        if not old:
            files.append((label, MAPPING))
            continue
        assert old in text, f"bench/mapping.yaml no longer has {old}"
        path = DATA / f"diff-mapping-{index}.yaml"
        path.write_text(text.replace(old, new))
        files.append((label, path))
    return files


def run_times(
    events: Path, seconds: list[tuple[str, Path]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Best wall time and best CPU time (user + system) of each command, a process each,
    start-up included."""
    cdpctl = [sys.executable, "-m", "cdpctl"]
    replay = [*cdpctl, "replay", str(events), "-m", str(MAPPING), "--dry-run"]
    commands = {
        "replay --dry-run --workers 1": [
            *replay,
            *("--workers", "1", "--no-progress", "--format", "json"),
        ]
    }
    for label, path in seconds:
        commands[f"diff: {label}"] = [
            *(*cdpctl, "diff", str(MAPPING), str(path), str(events)),
            *("--format", "json"),
        ]
    best: dict[str, tuple[float, float]] = {}
    for attempt in range(repeat):
        for label, command in commands.items():
            print(f"  {label} (run {attempt + 1}/{repeat})", flush=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run = measure(command, cwd=str(BENCH.parent))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if run.exit_code != 0:
                raise SystemExit(f"{label} failed ({run.exit_code}): {' '.join(command)}")
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            wall, least = best.get(label, (float("inf"), float("inf")))
            best[label] = (min(wall, run.wall), min(least, cpu))
    return best


def _records(events: Path) -> Iterator[Record | Malformed]:
    return Archive(expand([str(events)])).records()


def split(events: Path, seconds: list[tuple[str, Path]]) -> dict[str, float]:
    """Seconds in this process: reading alone; reading plus each judging loop."""
    times: dict[str, float] = {}
    started = time.process_time()
    for _ in _records(events):
        pass
    times["read and decode"] = time.process_time() - started
    old = load_destination(str(MAPPING))
    judge = DryJudge(old)
    started = time.process_time()
    stats = ReplayStats()
    judge(filtered(_records(events), Filters(), stats), stats)
    times["replay"] = time.process_time() - started
    for label, path in seconds:
        new = load_destination(str(path))
        started = time.process_time()
        collect_changed(old, new, _records(events), ReviewSummary(), [], 20)
        times[f"diff: {label}"] = time.process_time() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "DIFF.md")
    args = parser.parse_args()
    os.environ.setdefault("SEGMENT_WRITE_KEY", "bench-write-key-0000")
    DATA.mkdir(parents=True, exist_ok=True)
    events = DATA / f"events-{args.events}.ndjson"
    if not events.exists():
        generate(args.events, events, 42)
    seconds = second_files()
    best = run_times(events, seconds, args.repeat)
    replay, replay_cpu = best["replay --dry-run --workers 1"]
    lines = [
        "# `cdpctl diff` against a dry-run replay (bench/diff.py)",
        "",
        f"{args.events:,} events, bench/mapping.yaml against a second file; one process each, "
        f"start-up included, best of {args.repeat}; load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| command | wall s | events/s | share of replay's rate | CPU s | share by CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, (wall, cpu) in best.items():
        lines.append(
            f"| {label} | {wall:.2f} | {args.events / wall:,.0f} | {replay / wall:.2f} "
            f"| {cpu:.2f} | {replay_cpu / cpu:.2f} |"
        )
    times = split(events, seconds)
    read = times["read and decode"]
    lines += [
        "",
        "In this process (no start-up), CPU time: reading and decoding alone, and what each "
        "loop adds.",
        "",
        "| loop | CPU s | µs/event | of which judging and comparing, µs/event |",
        "|---|---:|---:|---:|",
    ]
    for label, total in times.items():
        judging = "—" if label == "read and decode" else f"{(total - read) / args.events * 1e6:.1f}"
        lines.append(f"| {label} | {total:.2f} | {total / args.events * 1e6:.1f} | {judging} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
