"""The live progress line tells the truth: it counts settled events (delivered, failed, in
doubt) against the events accepted for sending, shows those in flight, and reaches 100% only
when every one is settled."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import SEGMENT_MAPPING, run_cli

from cdpctl.sandbox.providers.segment import WRITE_KEY
from cdpctl.sandbox.server import Faults

SETTLED = re.compile(r"settled ([\d,]+) of ([\d,]+) · in flight ([\d,]+)")


def progress_lines(stderr: str) -> list[tuple[int, int, int, str]]:
    found = []
    for line in stderr.splitlines():
        match = SETTLED.search(line)
        if match:
            settled, queued, flying = (int(g.replace(",", "")) for g in match.groups())
            found.append((settled, queued, flying, line))
    return found


def test_live_progress_counts_settled_events_and_ends_at_100_percent(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cdpctl.output.replay.PLAIN_INTERVAL", 0.0)  # a line at every update
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(SEGMENT_MAPPING)
    events = tmp_path / "events.ndjson"
    events.write_text(
        "".join(
            json.dumps({"type": "track", "event": "E", "userId": f"u{n}", "messageId": f"p-{n}"})
            + "\n"
            for n in range(200)
        )
    )
    sandbox.set_faults(Faults(latency_ms=5, rate_limits=False))
    result = run_cli(
        [
            "replay",
            str(events),
            "-m",
            str(mapping),
            "--live",
            "--endpoint",
            sandbox.url,
            "--no-batch",
            "--rate",
            "400",
            "--progress",
            "--format",
            "json",
        ],
        env={"SEGMENT_WRITE_KEY": WRITE_KEY},
    )
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.stderr)
    assert lines, result.stderr
    # while sending: some settled, not all, and the percentage below 100
    middle = [line for line in lines if 0 < line[0] < line[1]]
    assert middle, "the line moves while events are being sent"
    assert all("100%" not in text for *_, text in middle)
    assert any(flying > 0 for _, _, flying, _ in lines)
    settled, queued, flying, last = lines[-1]
    assert settled == queued == 200 and flying == 0
    assert "100%" in last and "delivered 200" in last


def test_an_interrupted_runs_progress_stays_below_100_percent(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdpctl.delivery.stats import ReplayStats
    from cdpctl.output.replay import progress_fraction

    stats = ReplayStats(queued=1413, settled_in_run=325)
    assert progress_fraction(stats, 1.0, live=True) < 0.25  # all read, a quarter settled
    assert progress_fraction(stats, 1.0, live=False) == 1.0  # a dry run: what was read
    stats.settled_in_run = 1413
    assert progress_fraction(stats, 1.0, live=True) == 1.0
