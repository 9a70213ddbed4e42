"""Where a dry run's time goes, per event: splitting, reading (whole or projected), judging.

    python bench/read_profile.py EVENTS.ndjson [-m bench/mapping.yaml] [--repeat 3]

Each stage is timed alone in CPU time (best of --repeat), so other processes on the machine
disturb it less than wall-clock time. "projected" reads through the run's ProjectedDecoder
(cdpctl.delivery.projection) as a dry run does: it times its first records both ways and
keeps the faster; "projected, forced" always decodes the projection, to show what it costs.
The counts say how many records each reader decoded projected (the rest: whole).
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

from cdpctl.delivery import sources
from cdpctl.delivery.engine import Filters, dry_renderer, filtered
from cdpctl.delivery.projection import ProjectedDecoder, event_keys
from cdpctl.delivery.sources import Record, event_records
from cdpctl.delivery.stats import ReplayStats
from cdpctl.pipeline import load_destination


def best(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    """(seconds of CPU, count) of the fastest of `repeat` runs."""
    fastest, count = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        count = run()
        fastest = min(fastest, time.process_time() - started)
    return fastest, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path)
    parser.add_argument("-m", "--mapping", default="bench/mapping.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("SEGMENT_WRITE_KEY", "x")
    destination = load_destination(args.mapping)
    keys = event_keys((s.trigger, s.mapping) for s in destination.subscriptions if s.enabled)
    data = args.events.read_bytes()
    print(f"projection: {sorted(keys) if keys is not None else 'the whole event'}")

    def split() -> int:
        stream = io.BytesIO(data)
        return sum(1 for _ in sources._line_items(sources._first_line(stream), stream))

    last: dict[str, ProjectedDecoder] = {}

    def read(name: str, forced: bool = False) -> Callable[[], int]:
        def run() -> int:
            decoder = None
            if name != "whole" and keys is not None:
                decoder = last[name] = ProjectedDecoder(keys)
                if forced:
                    decoder.settle(True)
            return sum(1 for _ in event_records(io.BytesIO(data), project=decoder))

        return run

    records = [r for r in event_records(io.BytesIO(data)) if isinstance(r, Record)]

    def judge() -> int:
        dry_renderer(destination)(records, ReplayStats())
        return len(records)

    def dry() -> int:
        stats = ReplayStats()
        project = ProjectedDecoder(keys) if keys is not None else None
        read = filtered(event_records(io.BytesIO(data), project=project), Filters(), stats)
        dry_renderer(destination)(read, stats)
        return stats.events_read

    stages: list[tuple[str, Callable[[], int]]] = [
        ("split into lines", split),
        ("read whole (split + decode + checks)", read("whole")),
    ]
    if keys is not None:
        stages += [
            ("read projected", read("projected")),
            ("read projected, forced", read("projected, forced", forced=True)),
        ]
    stages += [("judge (records already read)", judge), ("dry run (read + judge)", dry)]
    for name, run in stages:
        seconds, count = best(args.repeat, run)
        print(f"{name:40s} {seconds / count * 1e6:7.2f} µs/event {count / seconds:>12,.0f}/s")
    total = split()
    for name, decoder in last.items():
        print(
            f"{name}: {decoder.projected:,} of {total:,} records decoded projected, the others"
            f" whole (after its trial: {'projection' if decoder.enabled else 'whole'})"
        )


if __name__ == "__main__":
    main()
