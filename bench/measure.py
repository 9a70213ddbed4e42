"""Run a command and report its wall time and peak memory, workers included.

Peak memory is sampled every 20 ms as the sum of the resident sets of the process and all its
descendants (from /proc, so worker processes count), next to `ru_maxrss` from wait4(), which
is the largest single process of the tree. Summed RSS counts pages shared between forked
workers once per worker, so it errs high.

    python bench/measure.py -- CMD [ARG ...]     # prints one JSON line
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
SAMPLE_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Run:
    command: list[str]
    wall: float
    exit_code: int
    tree_rss_kb: int
    max_process_rss_kb: int
    stdout: str


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (via /proc/PID/task/TID/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                queue.extend(int(child) for child in children.split())
        except OSError:
            continue
    return found


def tree_rss_kb(pid: int) -> int:
    total = 0
    for member in descendants(pid):
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(
    command: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None
) -> Run:
    """Run `command` to the end (stdout captured, stderr passed through)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        command=command,
        wall=wall,
        exit_code=process.returncode,
        tree_rss_kb=max(peak, usage.ru_maxrss),
        max_process_rss_kb=usage.ru_maxrss,
        stdout=output.decode(errors="replace"),
    )


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit("usage: measure.py -- CMD [ARG ...]")
    run = measure(args)
    print(json.dumps({key: value for key, value in asdict(run).items() if key != "stdout"}))
    raise SystemExit(run.exit_code)


if __name__ == "__main__":
    main()
