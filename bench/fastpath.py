"""The generated fast path against the ordinary path, on ordinary and on fallback-heavy events.

    python bench/fastpath.py [--events 100000] [--repeat 3] [--out bench/FASTPATH.md]

Judges seeded events (bench/generate.py, seed 42) through bench/mapping.yaml in this process
(reading and parsing included, start-up excluded) with the fast path on and off, and reports
events/s, the share of matched subscription-events the generated functions handed back to
`evaluate` (the fallback rate), and whether the counts are equal. The fallback-heavy archive is
the same events with a third of them given values that need coercion or fail a check (a
numeric userId, a boolean locale, a string revenue, an object user agent), so that at least
20% of matches take the ordinary path.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402 - bench/ is not a package

from cdpctl.delivery.engine import Filters, filtered, render_records  # noqa: E402
from cdpctl.delivery.fast import FastRenderer  # noqa: E402
from cdpctl.delivery.inputs import Archive, expand  # noqa: E402
from cdpctl.delivery.stats import ReplayStats  # noqa: E402
from cdpctl.pipeline import load_destination  # noqa: E402

MAPPING = BENCH / "mapping.yaml"
DATA = BENCH / "data"
ODD_SHARE = 1 / 3


def _odd(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One value the generated code does not answer for: coercion, or an invalid field."""
    choice = rng.randrange(4)
    if choice == 0 and event.get("userId"):
        event["userId"] = rng.randrange(10**6)
    elif choice == 1:
        event.setdefault("context", {})["locale"] = True
    elif choice == 2 and isinstance(event.get("properties"), dict):
        event["properties"]["revenue"] = f"{rng.random() * 100:.2f}"
    else:
        event.setdefault("context", {})["userAgent"] = {"ua": "odd"}
    return event


def fallback_heavy(source: Path, target: Path) -> Path:
    if not target.exists():
        rng = random.Random(7)
        with source.open("rb") as reading, target.open("wb") as writing:
            for line in reading:
                event = orjson.loads(line)
                if rng.random() < ODD_SHARE:
                    event = _odd(event, rng)
                writing.write(orjson.dumps(event) + b"\n")
    return target


def judge(path: Path, fast: bool) -> tuple[float, ReplayStats, int]:
    destination = load_destination(str(MAPPING))
    stats = ReplayStats()
    records = filtered(Archive(expand([str(path)])).records(), Filters(), stats)
    started = time.perf_counter()
    fallbacks = 0
    if fast:
        renderer = FastRenderer(destination)
        renderer(records, stats)
        fallbacks = renderer.fallbacks
    else:
        render_records(destination, records, stats, ctx=destination.context(dry_run=True))
    return time.perf_counter() - started, stats, fallbacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "FASTPATH.md")
    args = parser.parse_args()
    os.environ.setdefault("SEGMENT_WRITE_KEY", "bench-write-key-0000")
    DATA.mkdir(parents=True, exist_ok=True)
    plain = DATA / f"events-{args.events}.ndjson"
    if not plain.exists():
        generate(args.events, plain, 42)
    odd = fallback_heavy(plain, DATA / f"events-{args.events}-fallback-heavy.ndjson")
    lines = [
        "# Generated fast path (bench/fastpath.py)",
        "",
        f"{args.events:,} events through bench/mapping.yaml in one process (reading and parsing "
        f"included, start-up excluded); best of {args.repeat}.",
        "",
        "| archive | fast path | events/s | fallback rate | counts equal |",
        "|---|---|---:|---:|---|",
    ]
    for label, path in (("ordinary", plain), ("fallback-heavy", odd)):
        results = {}
        for fast in (True, False):
            runs = [judge(path, fast) for _ in range(args.repeat)]
            results[fast] = min(runs, key=lambda run: run[0])
        on, off = results[True], results[False]
        on_stats, off_stats = on[1].as_dict(), off[1].as_dict()
        equal = on_stats == off_stats
        matched = sum(s["matched"] for s in on_stats["subscriptions"].values())
        rate = on[2] / matched if matched else 0.0
        for fast, (seconds, _, _) in ((True, on), (False, off)):
            lines.append(
                f"| {label} | {'on' if fast else 'off'} | {args.events / seconds:,.0f} | "
                f"{f'{rate:.1%}' if fast else '—'} | {'yes' if equal else '**no**'} |"
            )
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
