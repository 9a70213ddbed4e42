"""Replay views: live progress (rich bar on a terminal, plain lines otherwise) and the summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

from cdpctl import jsonwire
from cdpctl.delivery.stats import ReplayStats

PLAIN_INTERVAL = 5.0


class PlainProgress:
    """A status line every few seconds on stderr (for CI logs and pipes)."""

    def __init__(
        self, position: Callable[[], int], total: int | None, stream: IO[str] | None = None
    ) -> None:
        self._position = position
        self._total = total
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._last = self._started

    def update(self, stats: ReplayStats, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PLAIN_INTERVAL:
            return
        self._last = now
        self._stream.write(status_line(stats, now - self._started, self._fraction()) + "\n")
        self._stream.flush()

    def _fraction(self) -> float | None:
        if not self._total:
            return None
        return min(1.0, self._position() / self._total)

    def close(self, stats: ReplayStats) -> None:
        self.update(stats, force=True)


class RichProgress:
    """A rich progress bar: events/s, sent, failed, retries, 429s and ETA (by bytes read)."""

    def __init__(self, position: Callable[[], int], total: int | None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._position = position
        self._progress = Progress(
            TextColumn("[bold]replay"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("replay", total=total or None, status="")
        self._started = time.monotonic()
        self._progress.start()

    def update(self, stats: ReplayStats, *, force: bool = False) -> None:
        del force
        elapsed = time.monotonic() - self._started
        self._progress.update(
            self._task, completed=self._position(), status=status_line(stats, elapsed, None)
        )

    def close(self, stats: ReplayStats) -> None:
        self.update(stats)
        self._progress.stop()


def status_line(stats: ReplayStats, elapsed: float, fraction: float | None) -> str:
    rate = stats.events_read / elapsed if elapsed > 0 else 0.0
    sent = stats.delivered
    parts = [
        f"{stats.events_read} events",
        f"{rate:,.0f}/s",
        f"sent {sent}",
        f"failed {stats.failed}",
        f"retries {stats.retries}",
        f"429s {stats.throttled}",
    ]
    if fraction is not None and fraction > 0:
        remaining = elapsed * (1 - fraction) / fraction
        parts.append(f"{fraction:.0%} ETA {remaining:,.0f}s")
    return " · ".join(parts)


SUMMARY_COLUMNS_DRY = ("matched", "no_match", "invalid", "skipped", "would_send")
SUMMARY_COLUMNS_LIVE = (
    "matched",
    "no_match",
    "invalid",
    "delivered",
    "failed",
    "skipped",
    "already_done",
    "in_doubt",
)


def summary_text(
    stats: ReplayStats, *, live: bool, elapsed: float, color: bool, dead_letter: str | None
) -> str:
    from rich.console import Console
    from rich.table import Table

    columns = SUMMARY_COLUMNS_LIVE if live else SUMMARY_COLUMNS_DRY
    table = Table(title=("live replay" if live else "dry run (nothing sent)"), title_justify="left")
    table.add_column("subscription")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for name, counters in stats.subscriptions.items():
        values = counters.as_dict()
        table.add_row(name, *(f"{values[c]:,}" for c in columns))
    console = Console(
        record=True, force_terminal=color, no_color=not color, width=120, file=open_null()
    )
    console.print(table)
    rate = stats.events_read / elapsed if elapsed > 0 else 0
    lines = [
        f"events read {stats.events_read:,} · malformed {stats.malformed:,} · "
        f"filtered out {stats.filtered_out:,} · {elapsed:,.1f}s · {rate:,.0f} events/s",
        f"requests {stats.requests:,} · retries {stats.retries:,} · 429s {stats.throttled:,} · "
        f"network errors {stats.network_errors:,} · {stats.bytes_sent:,} bytes",
    ]
    if stats.error_groups:
        lines.append("first errors, by rule:")
        for (code, message), count in stats.error_groups.most_common(10):
            example = stats.error_examples[(code, message)]
            lines.append(f"  {code} ×{count:,} {message} (first at {example})")
    if dead_letter:
        lines.append(f"dead letters: {dead_letter}")
    return console.export_text(styles=color) + "\n".join(lines) + "\n"


def summary_json(stats: ReplayStats, *, live: bool, elapsed: float, dead_letter: str | None) -> str:
    document: dict[str, Any] = {
        "live": live,
        "elapsed_seconds": round(elapsed, 3),
        **stats.as_dict(),
        "failed": stats.failed,
        "dead_letter": dead_letter,
    }
    return jsonwire.dumps_text(document) + "\n"


def open_null() -> IO[str]:
    import io

    return io.StringIO()
