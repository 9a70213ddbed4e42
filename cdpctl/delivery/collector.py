"""CPython's cycle collector, tuned for a replay, dry or live.

A replay builds a few short-lived objects per event (the mapped payload, the message, the
counters' keys), which reference counting frees; CPython's cycle collector nonetheless runs
after every 700 net new objects and scans everything young, and in a live run the thousands of
events pending in its lanes again and again. During a run, what start-up built (modules, the
compiled judges) is frozen out of its scans and it runs after GC_ALLOCATIONS net new objects;
the collector took 15–20% of a live replay's CPU and ~10% of a dry run's without this.
Restored when the run ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

GC_ALLOCATIONS = 200_000  # net new objects between two runs of the cycle collector


@contextlib.contextmanager
def for_a_run() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_ALLOCATIONS, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
