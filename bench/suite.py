"""Run every benchmark measurement on prepared files and write bench/RESULTS.md.

Called by bench/run.sh (which sets up the venv, the Node packages and the event files) as

    bench/.venv/bin/python bench/suite.py N [N ...]

Throughput runs are repeated (BENCH_REPEAT, default 3) round-robin across the tools so that
noise from other work on the machine hits all of them alike; the report gives best and median.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import sysconfig
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

from measure import Run, measure
from node_mapping import node_mapping
from report import render

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
BIN = BENCH / ".venv" / "bin"
CDPCTL = str(BIN / "cdpctl")
PYTHON = str(BIN / "python")
MAPPING = BENCH / "mapping.yaml"
NODE_MAPPING = DATA / "node-mapping.json"
SANDBOX_KEY = "sandbox-segment-write-key"  # cdpctl/sandbox/providers/segment.py WRITE_KEY
LIVE_EVENTS = 100_000
HELP_RUNS = 25
VALIDATE_FILES = 100
NODE_PACKAGES = ("@segment/actions-core", "@segment/destination-subscriptions", "liquidjs")


def events_file(count: int) -> Path:
    return DATA / f"events-{count}.ndjson"


def replay_flags() -> set[str]:
    """Which of the newer replay options this cdpctl has (`--workers`, `--dry-run`)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    text = subprocess.run(
        [CDPCTL, "replay", "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    return {flag for flag in ("--workers", "--dry-run") if re.search(rf"{flag}\b", text)}


def throughput_commands(events: Path, flags: set[str]) -> dict[str, list[str]]:
    replay = [CDPCTL, "replay", str(events), "-m", str(MAPPING), "--no-progress"]
    replay += ["--format", "json"] + (["--dry-run"] if "--dry-run" in flags else [])
    commands = {}
    if "--workers" in flags:
        commands["cdpctl --workers 1"] = [*replay, "--workers", "1"]
        commands["cdpctl --workers 2"] = [*replay, "--workers", "2"]
    else:
        commands["cdpctl (no --workers flag)"] = replay
    commands["Node actions-core"] = [
        "node",
        str(BENCH / "node" / "transform.js"),
        str(NODE_MAPPING),
        str(events),
    ]
    commands["floor (orjson)"] = [PYTHON, str(BENCH / "floor.py"), str(events)]
    return commands


def summary(run: Run, label: str) -> dict[str, Any]:
    """The tool's own JSON summary: events seen, work done, in-process seconds."""
    if run.exit_code != 0:
        raise SystemExit(f"{label} failed with exit code {run.exit_code}: {run.command}")
    data = json.loads(run.stdout)
    if label.startswith("cdpctl"):
        return {
            "events": data["events_read"],
            # a dry run sends nothing: its work is the requests it planned
            "outputs": data.get("planned_requests", data["requests"]),
            "seconds": data["elapsed_seconds"],
        }
    if label.startswith("Node"):
        return {"events": data["events"], "outputs": data["matched"], "seconds": data["elapsed"]}
    return {"events": data["events"], "outputs": data["events"], "seconds": data["elapsed"]}


def throughput(sizes: list[int], repeat: int, flags: set[str]) -> list[dict[str, Any]]:
    rows = []
    for count in sizes:
        commands = throughput_commands(events_file(count), flags)
        runs: dict[str, list[tuple[Run, dict[str, Any]]]] = {label: [] for label in commands}
        for attempt in range(repeat):
            for label, command in commands.items():
                print(f"  N={count:,} {label} (run {attempt + 1}/{repeat})", flush=True)
                run = measure(command, cwd=str(ROOT))
                info = summary(run, label)
                if info["events"] != count:
                    raise SystemExit(f"{label} saw {info['events']} events, expected {count}")
                runs[label].append((run, info))
        for label, results in runs.items():
            walls = [run.wall for run, _ in results]
            rows.append(
                {
                    "tool": label,
                    "n": count,
                    "best_eps": count / min(walls),
                    "median_eps": count / statistics.median(walls),
                    "inprocess_eps": count / min(info["seconds"] for _, info in results),
                    "outputs": results[0][1]["outputs"],
                    "tree_rss_mb": max(run.tree_rss_kb for run, _ in results) / 1024,
                    "process_rss_mb": max(run.max_process_rss_kb for run, _ in results) / 1024,
                    "walls": walls,
                }
            )
    return rows


def help_time() -> dict[str, float]:
    for _ in range(2):  # warm the page cache
        subprocess.run([CDPCTL, "--help"], stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(HELP_RUNS):
        started = time.perf_counter()
        subprocess.run([CDPCTL, "--help"], stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "runs": HELP_RUNS,
    }


def validate_time(repeat: int) -> dict[str, Any]:
    folder = DATA / "mappings"
    subprocess.run(
        [PYTHON, str(BENCH / "variants.py"), str(MAPPING), str(VALIDATE_FILES), str(folder)],
        check=True,
    )
    walls = []
    for _ in range(repeat):
        run = measure([CDPCTL, "validate", str(folder)], cwd=str(ROOT))
        if run.exit_code != 0:
            raise SystemExit(f"cdpctl validate found problems in {folder}:\n{run.stdout}")
        walls.append(run.wall)
    return {"files": VALIDATE_FILES, "best_s": min(walls), "median_s": statistics.median(walls)}


def start_sandbox() -> tuple[subprocess.Popen[bytes], int]:
    log = DATA / "sandbox.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [CDPCTL, "sandbox", "--port", "0", "--no-rate-limits"], stdout=handle, stderr=handle
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log.read_bytes())
        if found:
            return process, int(found[1])
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the sandbox did not start; see {log}")


def live_replay(count: int, repeat: int) -> dict[str, Any]:
    """Batched live replay of the first `count` events into the local sandbox."""
    limit = min(count, LIVE_EVENTS)
    state, dead = DATA / "live-state.sqlite", DATA / "live-dead-letter.ndjson"
    sandbox, port = start_sandbox()
    env = {**os.environ, "SEGMENT_WRITE_KEY": SANDBOX_KEY}
    results = []
    try:
        for _ in range(repeat):
            for stale in DATA.glob("live-*"):
                stale.unlink()
            command = [
                CDPCTL,
                "replay",
                str(events_file(count)),
                "-m",
                str(MAPPING),
                "--live",
                "--endpoint",
                f"http://127.0.0.1:{port}",
                "--limit",
                str(limit),
                "--state",
                str(state),
                "--dead-letter",
                str(dead),
                "--no-progress",
                "--format",
                "json",
            ]
            run = measure(command, cwd=str(ROOT), env=env)
            data = json.loads(run.stdout)
            if run.exit_code != 0 or data["failed"]:
                raise SystemExit(f"live replay failed ({run.exit_code}): {run.stdout[:2000]}")
            results.append((run, data))
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            sandbox.wait()
    walls = [run.wall for run, _ in results]
    return {
        "events": limit,
        "requests": results[0][1]["requests"],
        "best_eps": limit / min(walls),
        "median_eps": limit / statistics.median(walls),
        "tree_rss_mb": max(run.tree_rss_kb for run, _ in results) / 1024,
        "process_rss_mb": max(run.max_process_rss_kb for run, _ in results) / 1024,
    }


def profile(count: int, flags: set[str]) -> str:
    """cProfile of one single-process dry run; the top 25 lines by cumulative and own time."""
    import pstats
    from io import StringIO

    out = DATA / "replay.prof"
    command = [
        PYTHON,
        "-m",
        "cProfile",
        "-o",
        str(out),
        "-m",
        "cdpctl",
        "replay",
        str(events_file(count)),
        "-m",
        str(MAPPING),
        "--no-progress",
        "--format",
        "json",
    ]
    command += ["--dry-run"] if "--dry-run" in flags else []
    command += ["--workers", "1"] if "--workers" in flags else []
    # Run from bench/data so `-m cdpctl` imports the installed package, not the source tree.
    subprocess.run(command, cwd=str(DATA), stdout=subprocess.DEVNULL, check=False)
    prefixes = sorted({sysconfig.get_paths()[key] + "/" for key in ("purelib", "stdlib")})
    sections = []
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time (tottime)")):
        text = StringIO()
        pstats.Stats(str(out), stream=text).sort_stats(key).print_stats(25)
        body = text.getvalue()
        for prefix in prefixes:
            body = body.replace(prefix, "")
        rows = body.strip().split("\n")
        start = next(i for i, line in enumerate(rows) if line.lstrip().startswith("ncalls"))
        head = [line.strip() for line in rows[1:start] if line.strip()]  # not the date/path
        sections.append((title, head, rows[start:]))
    lines = [
        "# Profile of a cdpctl dry-run replay",
        "",
        f"`python -m cProfile -m cdpctl replay events-{count}.ndjson -m bench/mapping.yaml"
        f" --no-progress --format json{' --workers 1' if '--workers' in flags else ''}`"
        f" — N = {count:,}, cdpctl {git_commit()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
        " UTC. Written by `bench/run.sh`; cProfile roughly doubles the run time, so read the"
        " proportions, not the seconds.",
    ]
    for title, head, table in sections:
        lines += ["", f"## Top 25 by {title}", "", *(f"{h}  " for h in head), "", "```"]
        lines += [*table, "```"]
    return "\n".join(lines) + "\n"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "cdpctl", "pyproject.toml")
    return commit + ("+uncommitted changes" if dirty else "")


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    memory = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    packages = {"cdpctl": f"{version('cdpctl')} ({git_commit()})", "orjson": version("orjson")}
    for name in NODE_PACKAGES:
        manifest = BENCH / "node" / "node_modules" / name / "package.json"
        packages[name] = json.loads(manifest.read_text())["version"]
    return {
        "cpu": model[1].strip() if model else platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": int(memory[1]) / 1024 / 1024 if memory else 0,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "packages": packages,
    }


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000]
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    flags = replay_flags()
    subscriptions, rewrites = node_mapping(str(MAPPING))
    NODE_MAPPING.write_text(json.dumps(subscriptions, indent=1), encoding="utf-8")
    results: dict[str, Any] = {
        "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "sizes": sizes,
        "sizes_mb": [events_file(n).stat().st_size / 1e6 for n in sizes],
        "repeat": repeat,
        "flags": sorted(flags),
        "rewrites": rewrites,
        "load_before": os.getloadavg(),
    }
    print(f"replay options found: {', '.join(sorted(flags)) or 'neither --workers nor --dry-run'}")
    print("throughput (dry run, Node, floor)", flush=True)
    results["throughput"] = throughput(sizes, repeat, flags)
    print("cdpctl --help", flush=True)
    results["help"] = help_time()
    print(f"cdpctl validate x{VALIDATE_FILES}", flush=True)
    results["validate"] = validate_time(repeat)
    print("live replay into the sandbox", flush=True)
    results["live"] = live_replay(sizes[0], repeat)
    results["load_after"] = os.getloadavg()
    (DATA / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (BENCH / "RESULTS.md").write_text(render(results), encoding="utf-8")
    print(f"profile (N={sizes[0]:,})", flush=True)
    (BENCH / "PROFILE.md").write_text(profile(sizes[0], flags), encoding="utf-8")
    print("wrote bench/RESULTS.md and bench/PROFILE.md")


if __name__ == "__main__":
    main()
