"""Render bench/data/results.json (written by suite.py) as bench/RESULTS.md.

python bench/report.py [results.json]    # re-render without re-measuring
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TARGET_NODE = 2.0  # cdpctl dry-run events/s ≥ 2× Node's
TARGET_FLOOR = 3.0  # … and at most 3× slower than the floor
TARGET_RSS_MB = 150
TARGET_HELP_MS = 150


def number(value: float) -> str:
    return f"{value:,.0f}"


def is_cdpctl(row: dict[str, Any]) -> bool:
    return str(row["tool"]).startswith("cdpctl")


def reference(rows: list[dict[str, Any]], n: int, prefix: str) -> dict[str, Any]:
    return next(r for r in rows if r["n"] == n and str(r["tool"]).startswith(prefix))


def throughput_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| N | tool | events/s (best) | events/s (median) | events/s in-process | "
        "cdpctl / Node | cdpctl / floor | peak RSS, tree (MB) | largest process (MB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        node = reference(rows, row["n"], "Node")
        floor = reference(rows, row["n"], "floor")
        versus_node = versus_floor = ""
        if is_cdpctl(row):
            versus_node = f"{row['best_eps'] / node['best_eps']:.2f}×"
            versus_floor = (
                f"{row['best_eps'] / floor['best_eps']:.2f}× "
                f"({floor['best_eps'] / row['best_eps']:.1f}× slower)"
            )
        lines.append(
            f"| {row['n']:,} | {row['tool']} | {number(row['best_eps'])} | "
            f"{number(row['median_eps'])} | {number(row['inprocess_eps'])} | {versus_node} | "
            f"{versus_floor} | {row['tree_rss_mb']:.0f} | {row['process_rss_mb']:.0f} |"
        )
    return lines


def targets(results: dict[str, Any]) -> list[str]:
    rows = results["throughput"]
    largest = max(results["sizes"])
    smallest = min(results["sizes"])
    lines = ["| target (issue 5) | measured | met |", "|---|---|---|"]

    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    for row in (r for r in rows if is_cdpctl(r) and r["n"] == largest):
        node = reference(rows, largest, "Node")
        floor = reference(rows, largest, "floor")
        ratio = row["best_eps"] / node["best_eps"]
        slower = floor["best_eps"] / row["best_eps"]
        small = next(r for r in rows if r["tool"] == row["tool"] and r["n"] == smallest)
        lines += [
            f"| {row['tool']}, N = {largest:,}: ≥ {TARGET_NODE:g}× Node | {ratio:.2f}× | "
            f"{verdict(ratio >= TARGET_NODE)} |",
            f"| {row['tool']}, N = {largest:,}: ≤ {TARGET_FLOOR:g}× slower than the floor | "
            f"{slower:.1f}× slower | {verdict(slower <= TARGET_FLOOR)} |",
            f"| {row['tool']}: peak RSS ≤ {TARGET_RSS_MB} MB, flat with N | "
            f"{small['tree_rss_mb']:.0f} MB at {smallest:,} → {row['tree_rss_mb']:.0f} MB at "
            f"{largest:,} | {verdict(row['tree_rss_mb'] <= TARGET_RSS_MB)} |",
        ]
    help_ms = results["help"]["median_ms"]
    lines.append(
        f"| `cdpctl --help` ≤ {TARGET_HELP_MS} ms median | {help_ms:.0f} ms | "
        f"{verdict(help_ms <= TARGET_HELP_MS)} |"
    )
    return lines


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    help_time, validate, live = results["help"], results["validate"], results["live"]
    sizes = ", ".join(
        f"{n:,} ({mb:,.0f} MB)" for n, mb in zip(results["sizes"], results["sizes_mb"], strict=True)
    )
    workers = "--workers" in results["flags"]
    lines = [
        "# Benchmark results",
        "",
        'Written by `bench/run.sh` (see README, "Benchmark"); do not edit by hand.',
        "",
        f"- date: {results['date']}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']:.1f} GiB RAM,"
        f" Linux {machine['kernel']}",
        f"- Python {machine['python']}, Node {machine['node']}",
        "- packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        f"- events: N = {sizes}; seeded (`bench/generate.py`, seed 42), identify/page/track"
        " mix, 0.5–2 KB each",
        f"- each throughput figure: {results['repeat']} runs, round-robin across the tools;"
        " load average before/after: "
        + " / ".join(f"{a[0]:.2f}" for a in (results["load_before"], results["load_after"])),
        "",
        "## Throughput (dry run) and memory",
        "",
        "events/s = N ÷ wall time of the whole command (start-up included); in-process = N ÷ the"
        " time the tool itself reports (start-up and imports excluded). Ratios use the best"
        " events/s. Peak RSS is the sum over the process and its workers, sampled every 20 ms.",
        "",
        *throughput_table(results["throughput"]),
        "",
    ]
    if not workers:
        lines += [
            "`cdpctl replay` had no `--workers` option when this ran, so cdpctl ran as one"
            " process (there is no 1- vs 2-worker figure).",
            "",
        ]
    if "--dry-run" not in results["flags"]:
        lines += [
            "`cdpctl replay` had no `--dry-run` flag when this ran; a dry run is its"
            " default, so the command ran without it.",
            "",
        ]
    lines += [
        "## Start-up, lint and live delivery",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| `cdpctl --help`, wall time, {help_time['runs']} runs | median"
        f" {help_time['median_ms']:.0f} ms (min {help_time['min_ms']:.0f}, max"
        f" {help_time['max_ms']:.0f}) |",
        f"| `cdpctl validate` of {validate['files']} mapping files (one command) | best"
        f" {validate['best_s']:.2f} s, median {validate['median_s']:.2f} s"
        f" ({validate['best_s'] * 1000 / validate['files']:.1f} ms a file) |",
        f"| live replay (`--live`, default workers and batching) of {live['events']:,} events"
        f" into `cdpctl sandbox --no-rate-limits` ({live['requests']:,} requests) |"
        f" best {number(live['best_eps'])} events/s, median {number(live['median_eps'])};"
        f" peak RSS {live['tree_rss_mb']:.0f} MB (largest process"
        f" {live['process_rss_mb']:.0f} MB) |",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "## What each side does",
        "",
        "- **cdpctl**: `cdpctl replay FILE -m bench/mapping.yaml --no-progress --format json"
        + (" --dry-run" if "--dry-run" in results["flags"] else "")
        + (" --workers 1|2" if workers else "")
        + "`: parse, match each subscription's FQL trigger, map, validate the payload against the"
        " action's fields, build the provider request and serialise its body.",
        "- **Node actions-core** (`bench/node/transform.js`): per line `JSON.parse`,"
        " `validate(parseFql(trigger), event)` per subscription (parsed once), `transform(mapping,"
        " event)` for each match (which, as in Segment's runtime, re-validates the mapping on"
        " every call), `JSON.stringify` of the result; no payload validation, no request"
        " building. Same matches as cdpctl (the *outputs* agree, see below).",
        "- **floor** (`bench/floor.py`): read each line, `orjson.loads`, `orjson.dumps`; one"
        " process.",
        "",
        "Outputs (cdpctl requests / Node matched transforms / floor lines) at each N: "
        + "; ".join(f"{r['tool']} N={r['n']:,}: {r['outputs']:,}" for r in results["throughput"])
        + ".",
        "",
        "### `@jmespath` given to Node as mapping-kit",
        "",
        "actions-core has no `@jmespath`; `bench/node_mapping.py` rewrites each expression of"
        " `bench/mapping.yaml` to its closest mapping-kit equivalent:",
        "",
        "| `@jmespath` | mapping-kit given to Node |",
        "|---|---|",
        *(f"| `{expr}` | `{json.dumps(repl)}` |" for expr, repl in results["rewrites"].items()),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data/results.json"
    results = json.loads(source.read_text(encoding="utf-8"))
    (Path(__file__).parent / "RESULTS.md").write_text(render(results), encoding="utf-8")


if __name__ == "__main__":
    main()
