"""Replay views: live progress (rich bar on a terminal, plain lines otherwise) and the summary."""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from cdpctl import jsonwire
from cdpctl.delivery.estimate import BackfillEstimate
from cdpctl.delivery.stats import ReplayStats

PLAIN_INTERVAL = 5.0


class PlainProgress:
    """A status line every few seconds on stderr (for CI logs and pipes)."""

    def __init__(
        self,
        position: Callable[[], int],
        total: int | None,
        *,
        live: bool,
        stream: IO[str] | None = None,
        describe: Callable[[], str] | None = None,
    ) -> None:
        self._position = position
        self._total = total
        self._live = live
        self._describe = describe
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._last = self._started

    def update(self, stats: ReplayStats, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PLAIN_INTERVAL:
            return
        self._last = now
        line = status_line(stats, now - self._started, self._fraction(), live=self._live)
        where = self._describe() if self._describe else ""
        self._stream.write((f"{where} · {line}" if where else line) + "\n")
        self._stream.flush()

    def _fraction(self) -> float | None:
        if not self._total:
            return None
        return min(1.0, self._position() / self._total)

    def close(self, stats: ReplayStats) -> None:
        self.update(stats, force=True)


class RichProgress:
    """A rich progress bar on stderr: percentage and ETA by bytes read (compressed bytes for
    gzip), events/s and the run's counters."""

    def __init__(
        self,
        position: Callable[[], int],
        total: int | None,
        *,
        live: bool,
        describe: Callable[[], str] | None = None,
    ) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self._position = position
        self._live = live
        self._describe = describe
        self._progress = Progress(
            TextColumn("[bold]replay"),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(stderr=True),
            transient=True,  # the summary follows; no stale bar or blank line left behind
        )
        self._task = self._progress.add_task("replay", total=total or None, status="")
        self._started = time.monotonic()
        self._progress.start()

    def update(self, stats: ReplayStats, *, force: bool = False) -> None:
        del force
        elapsed = time.monotonic() - self._started
        status = status_line(stats, elapsed, None, live=self._live)
        where = self._describe() if self._describe else ""
        self._progress.update(
            self._task,
            completed=self._position(),
            status=f"{where} · {status}" if where else status,
        )

    def close(self, stats: ReplayStats) -> None:
        self.update(stats)
        self._progress.stop()


def status_line(stats: ReplayStats, elapsed: float, fraction: float | None, *, live: bool) -> str:
    """The counters a user watches, named as in the summary table."""
    rate = stats.events_read / elapsed if elapsed > 0 else 0.0
    totals = _totals(stats)
    parts = [f"{stats.events_read:,} events", f"{rate:,.0f}/s"]
    if live:
        parts += [
            f"delivered {totals['delivered']:,}",
            f"failed {totals['failed']:,}",
            f"invalid {totals['invalid']:,}",
            f"retries {stats.retries:,}",
            f"429s {stats.throttled:,}",
        ]
    else:
        parts += [f"would send {totals['would_send']:,}", f"invalid {totals['invalid']:,}"]
    if stats.malformed:
        parts.append(f"malformed {stats.malformed:,}")
    if fraction is not None and fraction > 0:
        remaining = elapsed * (1 - fraction) / fraction
        parts.append(f"{fraction:.0%} ETA {remaining:,.0f}s")
    return " · ".join(parts)


def _totals(stats: ReplayStats) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counters in stats.subscriptions.values():
        for name, value in counters.as_dict().items():
            totals[name] = totals.get(name, 0) + value
    return totals or dict.fromkeys(SUMMARY_COLUMNS_LIVE, 0)


SUMMARY_COLUMNS_DRY = ("matched", "invalid", "skipped", "would_send")
SUMMARY_COLUMNS_LIVE = (
    "matched",
    "invalid",
    "skipped",
    "would_send",
    "delivered",
    "failed",
    "already_done",
    "in_doubt",
)
ALWAYS_SHOWN = ("matched", "would_send", "delivered")
SUMMARY_WIDTH = 80


def summary_text(
    stats: ReplayStats,
    *,
    live: bool,
    elapsed: float,
    color: bool,
    dead_letter: str | None,
    stopped: str | None = None,
    resume: str | None = None,
    estimate: BackfillEstimate | None = None,
    coalesced: bool = False,
) -> str:
    """The summary table (at most 80 columns: names wrap, empty columns are left out) and the
    totals, first errors, dead letters, the backfill estimate of a dry run and, for a stopped
    live run, how to resume it."""
    from rich.table import Table

    totals = _totals(stats)
    columns = [
        c
        for c in (SUMMARY_COLUMNS_LIVE if live else SUMMARY_COLUMNS_DRY)
        if c in ALWAYS_SHOWN or totals.get(c)
    ]
    title = "live replay" if live else "dry run (nothing sent)"
    if stopped:
        title += " — stopped early"
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("subscription", overflow="fold", ratio=1)
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right", no_wrap=True)
    for name, counters in stats.subscriptions.items():
        values = counters.as_dict()
        table.add_row(name, *(f"{values[c]:,}" for c in columns))
    rate = stats.events_read / elapsed if elapsed > 0 else 0
    lines = [
        f"events read {stats.events_read:,} · malformed {stats.malformed:,} · "
        f"filtered out {stats.filtered_out:,} · {elapsed:,.1f}s · {rate:,.0f} events/s",
    ]
    if stats.malformed_before:
        lines.append(
            f"{plural(stats.malformed_before, 'malformed record')} already reported by an "
            "earlier run (see its dead letters):"
        )
        lines.append("  read again, not reported again, and not a failure of this run")
    if live:
        lines.append(
            f"requests {stats.requests:,} · retries {stats.retries:,} · "
            f"429s {stats.throttled:,} · network errors {stats.network_errors:,} · "
            f"{stats.bytes_sent:,} bytes sent"
        )
    else:
        lines.append(_would_send(stats, totals, estimate))
    if coalesced:
        lines.append(
            f"--coalesce-identify: {stats.identifies_merged:,} identify call(s) merged into a "
            "later one of the same user"
        )
    if stats.plan_violating:
        blocked = f", {stats.plan_blocked:,} blocked (not sent)" if stats.plan_blocked else ""
        kinds = ", ".join(
            f"{count:,} {label}" for label, count in stats.plan_violating_events.most_common(5)
        )
        more = len(stats.plan_violating_events) - 5
        if more > 0:
            kinds += f", {more:,} more kind(s)"
        lines.append(
            f"tracking plan: {stats.plan_violating:,} event(s) violate it ({kinds}){blocked}"
        )
    if stats.error_groups:
        lines.append("first errors, by rule:")
        for code, message, count, example in stats.errors()[:10]:
            lines.append(f"  {code} ×{count:,} {message} (first at {example})")
    if dead_letter:
        lines.append(f"dead letters: {dead_letter}")
    if stopped:
        lines.append(f"stopped: {stopped}")
    if resume:
        lines.append(f"resume with: {resume}")
    text = _table_text(table, color) + "\n" + "\n".join(lines) + "\n"
    if estimate is not None:
        text += _estimate_text(estimate, color)
    return text


def plural(count: float, noun: str) -> str:
    """`1 request`, `1,440 requests`, `0.5 requests`."""
    number = f"{count:,}" if isinstance(count, int) else f"{count:,.4g}"
    return f"{number} {noun}" if count == 1 else f"{number} {noun}s"


def _would_send(
    stats: ReplayStats, totals: dict[str, int], estimate: BackfillEstimate | None
) -> str:
    """What a dry run's Ready verdicts would send, said as it is: an event may take several
    requests (a lookup and a write), and batched actions pack events into fewer."""
    requests, sends = stats.planned_requests, totals.get("would_send", 0)
    notes = []
    if sends and requests != sends:
        ratio = requests / sends
        each = f"{int(ratio):,}" if ratio.is_integer() else f"{ratio:,.2g} on average"
        notes.append(f"{each} per event")
    if estimate is not None and any(sub.batch for sub in estimate.subscriptions):
        notes.append("before batching")
    line = f"would send {plural(requests, 'request')}"
    if notes:
        line += f" ({', '.join(notes)})"
    return f"{line} · {plural(stats.planned_bytes, 'byte')}"


def _estimate_text(estimate: BackfillEstimate, color: bool) -> str:
    from rich.table import Table

    share = f"{1 - estimate.headroom:.0%} of {estimate.rate:,.4g}/s, " if estimate.headroom else ""
    title = (
        f"backfill estimate at {plural(estimate.effective_rate, 'request')}/s "
        f"({share}{estimate.rate_source})"
    )
    table = Table(box=None, pad_edge=False)
    table.add_column("subscription", overflow="fold", ratio=1)
    for column in ("events", "requests", "per request", "time"):
        table.add_column(column, justify="right", no_wrap=True)
    for sub in estimate.subscriptions:
        table.add_row(
            sub.name,
            f"{sub.events:,}",
            f"{sub.requests:,}",
            f"≤ {sub.batch:,}" if sub.batch else "1 event",
            duration_text(estimate.seconds(sub.requests)),
        )
    total = (
        f"at least {plural(estimate.requests, 'request')} · {duration_text(estimate.seconds())} "
        "(retries and 429s add to it)"
    )
    return "\n".join([title, _table_text(table, color), total]) + "\n"


def _table_text(table: Any, color: bool) -> str:
    """A rich table as text at most SUMMARY_WIDTH wide, without trailing spaces."""
    from rich.console import Console

    console = Console(
        record=True,
        force_terminal=color,
        no_color=not color,
        width=SUMMARY_WIDTH,
        file=io.StringIO(),
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in console.export_text(styles=color).splitlines())


def duration_text(seconds: float) -> str:
    """`3d 4h`, `2h 05m`, `16m 40s`, `12s`: as precise as planning a backfill needs."""
    total = math.ceil(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def summary_json(
    stats: ReplayStats,
    *,
    live: bool,
    elapsed: float,
    color: bool,
    dead_letter: str | None,
    stopped: str | None = None,
    resume: str | None = None,
    estimate: BackfillEstimate | None = None,
    coalesced: bool = False,
) -> str:
    del color, coalesced  # identifies_merged is always in the document
    document: dict[str, Any] = {
        "live": live,
        "elapsed_seconds": round(elapsed, 3),
        **stats.as_dict(),
        "failed": stats.failed,
        "dead_letter": dead_letter,
        "stopped": stopped,
        "resume": resume,
    }
    if estimate is not None:
        document["estimate"] = {
            "rate": estimate.rate,
            "rate_source": estimate.rate_source,
            "headroom": estimate.headroom,
            "effective_rate": estimate.effective_rate,
            "requests": estimate.requests,
            "seconds": round(estimate.seconds(), 3),
            "subscriptions": {
                sub.name: {
                    "events": sub.events,
                    "requests": sub.requests,
                    "batch": sub.batch,
                    "seconds": round(estimate.seconds(sub.requests), 3),
                }
                for sub in estimate.subscriptions
            },
        }
    return jsonwire.dumps_text(document) + "\n"


VIEWS: dict[str, Callable[..., str]] = {"text": summary_text, "json": summary_json}
