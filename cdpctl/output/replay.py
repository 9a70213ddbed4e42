"""Replay views: live progress (rich bar on a terminal, plain lines otherwise) and the summary."""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from cdpctl import jsonwire
from cdpctl.delivery.estimate import BackfillEstimate
from cdpctl.delivery.stats import ReplayStats
from cdpctl.output import terminal
from cdpctl.output.terminal import escape
from cdpctl.secrets import Redactor

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
        line = status_line(stats, now - self._started, self._fraction(stats), live=self._live)
        where = escape(self._describe()) if self._describe else ""
        self._stream.write((f"{where} · {line}" if where else line) + "\n")
        self._stream.flush()

    def _fraction(self, stats: ReplayStats) -> float | None:
        if not self._total:
            return None
        return progress_fraction(stats, min(1.0, self._position() / self._total), live=self._live)

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
            TextColumn("{task.fields[status]}", markup=False),
            console=terminal.console(stderr=True),
            transient=True,  # the summary follows; no stale bar or blank line left behind
        )
        self._total = total
        self._task = self._progress.add_task("replay", total=total or None, status="")
        self._started = time.monotonic()
        self._progress.start()

    def update(self, stats: ReplayStats, *, force: bool = False) -> None:
        del force
        elapsed = time.monotonic() - self._started
        status = status_line(stats, elapsed, None, live=self._live)
        where = escape(self._describe()) if self._describe else ""
        completed = self._position()
        if self._total:  # live: the bar counts settled events, not bytes read
            read = min(1.0, completed / self._total)
            completed = round(progress_fraction(stats, read, live=self._live) * self._total)
        self._progress.update(
            self._task,
            completed=completed,
            status=f"{where} · {status}" if where else status,
        )

    def close(self, stats: ReplayStats) -> None:
        self.update(stats)
        self._progress.stop()


def progress_fraction(stats: ReplayStats, read: float, *, live: bool) -> float:
    """How far a run is: the share of the input read; for a live run, times the share of the
    events accepted for sending that are settled, so 100% means every event is settled."""
    if not live or not stats.queued:
        return read
    return read * min(1.0, stats.settled_in_run / stats.queued)


def status_line(stats: ReplayStats, elapsed: float, fraction: float | None, *, live: bool) -> str:
    """The counters a user watches, named as in the summary table."""
    rate = stats.events_read / elapsed if elapsed > 0 else 0.0
    totals = _totals(stats)
    parts = [f"{stats.events_read:,} events read", f"{rate:,.0f}/s"]
    if live:
        parts += [
            f"settled {stats.settled_in_run:,} of {stats.queued:,}",
            f"in flight {stats.in_flight:,}",
            f"delivered {totals['delivered']:,}",
            f"failed {totals['failed']:,}",
            f"in doubt {totals['in_doubt']:,}",
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
    inputs: Sequence[str] = (),
    redactor: Redactor | None = None,
) -> str:
    """The summary table (at most 80 columns: names wrap, empty columns are left out) and the
    totals, first errors, dead letters, the backfill estimate of a dry run and, for a stopped
    live run, how to resume it. The last step is the redactor, over the whole text: a provider
    error quoting a credential shows its ${NAME}, whatever the delivery layer did to it."""
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
        table.add_row(escape(name), *(f"{values[c]:,}" for c in columns))
    rate = stats.events_read / elapsed if elapsed > 0 else 0
    lines = [read_line(inputs)] if inputs else []
    lines += [
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
        if stats.throttle_wait:
            lines.append(
                f"waited {duration_text(stats.throttle_wait)} in all for the provider's rate "
                "limit (429 and Retry-After answers)"
            )
        unsent = stats.queued - stats.settled_in_run
        if stopped and unsent > 0:
            lines.append(
                f"not sent yet: {unsent:,} event(s) (--resume sends them; nothing of them "
                "reached the provider)"
            )
        if totals.get("in_doubt"):
            lines.extend(_in_doubt_lines(stats, totals["in_doubt"]))
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
            lines.append(f"  {code} ×{count:,} {escape(message)} (first at {escape(str(example))})")
    if dead_letter:
        lines.append(f"dead letters: {escape(dead_letter)}")
    if stopped:
        lines.append(f"stopped: {escape(stopped)}")
    if resume:
        lines.append(f"resume with: {escape(resume)}")
    text = _table_text(table, color) + "\n" + "\n".join(lines) + "\n"
    if estimate is not None:
        text += _estimate_text(estimate, color)
    return redactor.text(text) if redactor is not None else text


MAX_NAMED_INPUTS = 5


def read_line(inputs: Sequence[str]) -> str:
    """`read ev[1].ndjson` / `read 12 files: a.gz, b.gz, … and 7 more`: which files the run read,
    so a name taken for a pattern would show."""
    names = [escape(name) for name in inputs]
    if len(names) == 1:
        return f"read {names[0]}"
    shown = ", ".join(names[:MAX_NAMED_INPUTS])
    more = len(names) - MAX_NAMED_INPUTS
    return f"read {len(names):,} files: {shown}" + (f" … and {more:,} more" if more > 0 else "")


def _in_doubt_lines(stats: ReplayStats, count: int) -> list[str]:
    lines = [
        f"in doubt: {count:,} event(s) were sent but never answered whole; the provider may "
        "have acted on them, so they were not sent again (the ledger lists them all; "
        "--resume --resend-in-doubt sends them again):"
    ]
    lines += [
        f"  {escape(str(where))} messageId {escape(message_id)}"
        for where, message_id in stats.in_doubt_events
    ]
    if count > len(stats.in_doubt_events):
        lines.append(f"  … and {count - len(stats.in_doubt_events):,} more")
    return lines


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
            escape(sub.name),
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
    console = terminal.console(
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
    inputs: Sequence[str] = (),
    redactor: Redactor | None = None,
) -> str:
    """The summary as one JSON document; every string in it redacted (the last step)."""
    del color, coalesced  # identifies_merged is always in the document
    document: dict[str, Any] = {
        "live": live,
        "inputs": list(inputs),
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
    if redactor is not None:
        document = redactor.value(document)
    return jsonwire.dumps_text(document) + "\n"


VIEWS: dict[str, Callable[..., str]] = {"text": summary_text, "json": summary_json}
