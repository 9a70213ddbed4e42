"""The floor: read each NDJSON line, `orjson.loads` it, `orjson.dumps` it, nothing else.

No Python tool that parses and re-serialises every event can beat this on one core.

    python bench/floor.py EVENTS.ndjson     # prints {"events", "bytes", "elapsed"}
"""

from __future__ import annotations

import json
import sys
import time

import orjson


def main() -> None:
    started = time.perf_counter()
    events = 0
    size = 0
    with open(sys.argv[1], "rb") as handle:
        for line in handle:
            if line.strip():
                size += len(orjson.dumps(orjson.loads(line)))
                events += 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"events": events, "bytes": size, "elapsed": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
