"""The generated fast path against the ordinary path, on ordinary and on fallback-heavy events.

    python bench/fastpath.py [--events 100000] [--repeat 3] [--out bench/FASTPATH.md]

Judges seeded events (bench/generate.py, seed 42) through bench/mapping.yaml in this process
(reading and parsing included, start-up excluded) with the fast path on and off, and reports
events/s, the share of matched subscription-events the generated functions handed back to
`evaluate` (the fallback rate), whether the counts are equal, and then compares every request
body the generated functions write with the one `evaluate` builds. The fallback-heavy archive is
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
from cdpctl.fastpath import compile_subscription  # noqa: E402
from cdpctl.pipeline import Ready, evaluate, load_destination  # noqa: E402

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


def same_bodies(path: Path) -> tuple[int, int]:
    """(bodies compared, bodies that differ): every request body the generated functions
    write for the archive against the one `evaluate` builds for the same event."""
    destination = load_destination(str(MAPPING))
    functions = []
    for sub in destination.subscriptions:
        ctx = destination.context(dry_run=True)
        fast = compile_subscription(sub, destination.provider.name, ctx, bodies=True)
        if sub.enabled and fast is not None:
            functions.append((sub, fast.function, ctx))
    compared = differ = 0
    for record in filtered(Archive(expand([str(path)])).records(), Filters(), ReplayStats()):
        for sub, function, ctx in functions:
            answer = function(record.event)
            if isinstance(answer, bytes):
                verdict = evaluate(sub, record.event, ctx)
                sent = [r.body() for r in verdict.requests] if isinstance(verdict, Ready) else []
                compared += 1
                differ += sent != [answer]
    return compared, differ


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
    lines += ["", "Request bodies written by the generated functions against `evaluate`'s:", ""]
    for label, path in (("ordinary", plain), ("fallback-heavy", odd)):
        compared, differ = same_bodies(path)
        lines.append(f"- {label}: {compared:,} bodies compared, {differ:,} differ")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
