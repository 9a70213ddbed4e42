"""--coalesce-identify: one identify per user, traits merged in time order, counted."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from archives import ENV, LOOPS, make_events, summary, write_ndjson
from helpers import run_cli

from cdpctl.delivery import coalesce
from cdpctl.delivery.locations import Origin
from cdpctl.delivery.sources import Record
from cdpctl.delivery.stats import ReplayStats

CASES = sorted((Path(__file__).parents[1] / "cases" / "coalesce").glob("*.yaml"))
ORIGIN = Origin(0, 0, "events.ndjson")


def records(events: list[dict]) -> list[Record]:
    return [
        Record(n, json.dumps(e).encode(), e, origin=ORIGIN) for n, e in enumerate(events, start=1)
    ]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    stats = ReplayStats()
    out = list(coalesce.coalesced(records(case["events"]), stats))
    assert [r.event for r in out] == case["expected"], case["description"]
    assert stats.identifies_merged == case["merged"]
    for record in out:  # the text sent on to worker processes is the merged event
        assert json.loads(record.raw) == record.event


def test_any_grouping_of_folds_gives_the_same_identifies() -> None:
    """`merge` is associative and commutative: the Dask engine folds parts separately, then
    merges the folds in whatever order the shuffle delivers them."""
    rng = random.Random(3)
    events = [
        {
            "type": "identify",
            "userId": f"u{rng.randrange(5)}",
            "timestamp": f"2024-05-{rng.randrange(1, 4):02d}T00:00:00Z",
            "traits": {rng.choice("abcdef"): rng.randrange(100) for _ in range(3)},
        }
        for _ in range(200)
    ]
    expected = [r.event for r in coalesce.coalesced(records(events), ReplayStats())]
    for _ in range(5):
        folds = [(coalesce.user_key(r.event), coalesce.fold_of(r)) for r in records(events)]
        rng.shuffle(folds)
        parts: list[dict[str, coalesce.Fold]] = [{}, {}, {}]
        for key, fold in folds:
            assert key is not None
            coalesce.add(rng.choice(parts), key, fold)
        combined: dict[str, coalesce.Fold] = {}
        for part in rng.sample(parts, 3):
            for key, fold in part.items():
                coalesce.add(combined, key, fold)
        stats = ReplayStats()
        assert [r.event for r in coalesce.finish(combined.values(), stats)] == expected
        assert stats.identifies_merged == 200 - len(expected)


def test_the_summary_counts_what_was_merged(tmp_path: Path) -> None:
    events = write_ndjson(tmp_path / "e.ndjson", make_events(111))  # 37 users, 37 identifies
    args = ["replay", str(events), "-m", LOOPS, "--no-progress", "--coalesce-identify"]
    text = run_cli([*args, "--workers", "1"], env=ENV)
    assert "--coalesce-identify: 0 identify call(s) merged" in text.stdout
    doubled = write_ndjson(tmp_path / "d.ndjson", make_events(222))  # 74 identifies
    report = summary(run_cli(["replay", str(doubled), *args[2:], "-f", "json"], env=ENV))
    assert report["identifies_merged"] == 37
    assert report["subscriptions"]["Upsert contact"]["would_send"] == 37
    assert report["subscriptions"]["Order completed event"]["would_send"] == 148
    plain = summary(run_cli(["replay", str(doubled), "-m", LOOPS, "-f", "json"], env=ENV))
    assert plain["identifies_merged"] == 0
    assert plain["subscriptions"]["Upsert contact"]["would_send"] == 74
