"""The backfill estimate: requests and time a live run would take, from dry-run counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from archives import ENV, LOOPS, live, make_events, summary, write_ndjson
from helpers import run_cli

from cdpctl.delivery.estimate import backfill_estimate
from cdpctl.delivery.stats import ReplayStats
from cdpctl.output.replay import duration_text
from cdpctl.pipeline import load_destination

ROOT = Path(__file__).parents[2]
CASES = sorted((Path(__file__).parents[1] / "cases" / "estimate").glob("*.yaml"))


def estimate_of(case: dict[str, Any], options: dict[str, Any]) -> Any:
    destination = load_destination(str(ROOT / "examples" / f"{case['mapping']}.yaml"), ENV)
    stats = ReplayStats()
    for sub in destination.subscriptions:
        stats.sub(sub.name)
    for name, counters in case["counters"].items():
        for field, value in counters.items():
            setattr(stats.sub(name), field, value)
    return backfill_estimate(stats, destination, **options)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    expected = case["expected"]
    estimate = estimate_of(case, case["options"])
    assert estimate.rate == expected["rate"], case["description"]
    assert estimate.rate_source == expected["rate_source"]
    assert {
        s.name: {"events": s.events, "requests": s.requests, "batch": s.batch}
        for s in estimate.subscriptions
    } == expected["subscriptions"]
    assert estimate.requests == expected["requests"]
    assert estimate.seconds() == pytest.approx(expected["seconds"])
    if "unbatched" in case:
        other = estimate_of(case, case["unbatched"]["options"])
        assert other.requests == case["unbatched"]["requests"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (12.2, "13s"),
        (1000, "16m 40s"),
        (7500, "2h 05m"),
        (3 * 86400 + 4 * 3600, "3d 4h"),
    ],
)
def test_durations_read_like_a_plan(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_every_dry_run_summary_has_the_estimate_and_a_live_one_does_not(
    tmp_path: Path, sandbox
) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(30))
    args = ["replay", str(events), "-m", LOOPS, "--no-progress", "--headroom", "0.5"]
    report = summary(run_cli([*args, "-f", "json"], env=ENV))
    estimate = report["estimate"]
    assert estimate["rate"] == 10 and estimate["effective_rate"] == 5
    assert estimate["requests"] == 30 and estimate["seconds"] == 6
    assert estimate["subscriptions"]["Upsert contact"] == {
        "events": 10,
        "requests": 10,
        "batch": None,
        "seconds": 2,
    }
    text = run_cli(args, env=ENV).stdout
    assert "backfill estimate at 5 requests/s (50% of 10/s, the documented Loops limit)" in text
    assert "at least 30 requests · 6s" in text
    # file names are shown whole, however long (the line naming the files read, error examples)
    assert all(
        len(line) <= 80
        for line in text.splitlines()
        if "first at" not in line and not line.startswith("read ")
    )
    sent = summary(live(events, sandbox))
    assert "estimate" not in sent


def test_the_mapping_files_rate_limit_is_the_rate(tmp_path: Path) -> None:
    mapping = tmp_path / "loops.yaml"
    mapping.write_text(
        Path(LOOPS).read_text().replace("  name: Loops", "  rateLimit: 2\n  name: Loops")
    )
    events = write_ndjson(tmp_path / "e.ndjson", make_events(4))
    report = summary(run_cli(["replay", str(events), "-m", str(mapping), "-f", "json"], env=ENV))
    assert report["estimate"]["rate"] == 2
    assert report["estimate"]["rate_source"] == "the mapping file's rateLimit"
