"""The generated fast path (cdpctl.fastpath) against `evaluate`, the one implementation it
stands in for: every subscription of every fixture mapping, on every fixture event and on
thousands of odd variants of them (nulls, "", missing keys, wrong types, non-object context,
huge and tiny floats, lists). Where the generated function answers, its answer must be
`evaluate`'s — no match, or the very request body — and replays must report the same with
the fast path on and off.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import SEGMENT_MAPPING, run_cli

from cdpctl import jsonwire
from cdpctl.delivery.engine import PlanGate, render_records
from cdpctl.delivery.fast import FastRenderer
from cdpctl.delivery.sources import RawRecord, Record, parse
from cdpctl.delivery.stats import ReplayStats
from cdpctl.fastpath import FALLBACK, compile_subscription, enabled
from cdpctl.loading import load_yaml
from cdpctl.mappingfile import read_mapping_file
from cdpctl.pipeline import Destination, NoMatch, Ready, compile_destination, evaluate
from cdpctl.plans import load_plan

ROOT = Path(__file__).parent.parent
CASES = ROOT / "tests" / "cases" / "fastpath"
PLAN = ROOT / "tests" / "fixtures" / "plans" / "shop" / "protocols.json"
MAPPINGS = sorted(
    [*(ROOT / "examples").glob("*.yaml"), ROOT / "bench" / "mapping.yaml", *CASES.glob("*.yaml")]
)
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    0,
    -1,
    1.5,
    1e300,
    1e-7,
    25.0,
    2**60,
    True,
    False,
    [],
    {},
    ["x", None],
    {"a": None},
    "text",
    "+447911123456",
    "not an email",
    "2024-05-17T09:30:00Z",
)


def base_events() -> list[dict[str, Any]]:
    texts = [p.read_text() for p in sorted((ROOT / "sample_events").glob("*.json"))]
    for name in ("bench-events.ndjson",):
        texts += (CASES / name).read_text().splitlines()
    texts += (ROOT / "tests" / "cases" / "output" / "events.ndjson").read_text().splitlines()
    return [jsonwire.loads(text) for text in texts if text.strip()]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            if len(prefix) < 3:
                found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list) and value and len(prefix) < 4:
        found.append((*prefix, 0))
        found.extend(_paths(value[0], (*prefix, 0)))
    return found


def odd_events(count: int, seed: int = 13) -> list[dict[str, Any]]:
    """Seeded variants of the fixture events: one to three paths set to an odd value or
    removed, plus whole parts (context, traits, properties) of the wrong kind. Each goes
    through JSON text and cdpctl's parser, as an archive line would."""
    rng = random.Random(seed)
    bases = base_events()
    events = []
    for _ in range(count):
        event = json.loads(json.dumps(rng.choice(bases)))
        for _ in range(rng.randint(1, 3)):
            paths = _paths(event)
            if not paths:
                break
            path = rng.choice(paths)
            parent = event
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and rng.random() < 0.2:
                del parent[path[-1]]
            else:
                parent[path[-1]] = rng.choice(ODD_VALUES)
        if rng.random() < 0.1:
            part = rng.choice(("context", "traits", "properties"))
            event[part] = rng.choice(("text", 7, None, [{"a": 1}], True))
        if event.get("type") not in ("identify", "track", "page", "screen", "group", "alias"):
            event["type"] = rng.choice(("identify", "track", "page", "group"))
        events.append(jsonwire.loads(json.dumps(event)))
    return events


def destination_for(path: Path) -> Destination:
    document = load_yaml(str(path))
    file = read_mapping_file(document)
    environ = {name: f"test-{name.lower()}" for name in _env_names(path.read_text())}
    return compile_destination(file, environ)


def _env_names(text: str) -> set[str]:
    import re

    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))


EVENTS = base_events() + odd_events(3000)


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda p: p.stem)
def test_generated_functions_agree_with_evaluate(mapping: Path) -> None:
    destination = destination_for(mapping)
    answers: Counter[str] = Counter()
    for sub in (s for s in destination.subscriptions if s.enabled):
        # Separate contexts, used in the same order: plans may cache (tokens) in theirs.
        slow_ctx = destination.context(dry_run=True)
        fast_ctx = destination.context(dry_run=True)
        fast = compile_subscription(sub, destination.provider.name, fast_ctx, bodies=True)
        if fast is None:
            answers["no function"] += 1
            continue
        for index, event in enumerate(EVENTS):
            expected = evaluate(sub, event, slow_ctx)
            answer = fast.function(event)
            where = f"{mapping.stem}: {sub.name!r}, event {index}: {json.dumps(event)[:300]}"
            if fast.event_type is not None and event.get("type") != fast.event_type:
                assert isinstance(expected, NoMatch), where
            if answer is FALLBACK:
                answers["fallback"] += 1
                assert evaluate(sub, event, fast_ctx) == expected, where
            elif answer is None:
                answers["no match"] += 1
                assert isinstance(expected, NoMatch), where
            elif isinstance(answer, bytes):
                answers["body"] += 1
                assert isinstance(expected, Ready), f"{where}\n{expected}"
                assert [r.body() for r in expected.requests] == [answer], where
            else:
                answers["verdict"] += 1
                assert answer == expected, where
    # The fast path must really answer: most events it sees are answered without evaluate.
    assert answers["no match"] + answers["body"] + answers["verdict"] > answers["fallback"]


@pytest.mark.parametrize("mapping", ["segment", "bench"])
def test_ordinary_events_never_fall_back(mapping: str) -> None:
    path = (
        ROOT / "bench" / "mapping.yaml"
        if mapping == "bench"
        else ROOT / "examples" / "segment.yaml"
    )
    destination = destination_for(path)
    ctx = destination.context(dry_run=True)
    bodies = 0
    for sub in destination.subscriptions:
        fast = compile_subscription(sub, destination.provider.name, ctx, bodies=True)
        assert fast is not None
        for event in base_events():
            answer = fast.function(event)
            assert answer is not FALLBACK, (sub.name, event)
            bodies += isinstance(answer, bytes)
    assert bodies > 20


def test_counts_equal_tally_over_odd_archive() -> None:
    """The bulk counting of the fast renderer gives exactly what `tally` gives, including
    the error groups and their first examples."""
    for mapping in MAPPINGS:
        destination = destination_for(mapping)
        records = [
            parse(RawRecord(number, jsonwire.dumps(event)))
            for number, event in enumerate(EVENTS, start=1)
        ]
        records = [r for r in records if isinstance(r, Record)]
        slow = ReplayStats()
        ctx = destination.context(dry_run=True)
        for record in records:
            for sub in destination.subscriptions:
                if sub.enabled:
                    slow.tally(slow.sub(sub.name), evaluate(sub, record.event, ctx), record)
        fast = ReplayStats()
        FastRenderer(destination)(records, fast)
        assert fast.as_dict() == slow.as_dict(), mapping.name


@pytest.mark.parametrize("block", [False, True], ids=["warn", "block"])
def test_a_tracking_plan_gates_the_fast_path_as_it_gates_evaluate(block: bool) -> None:
    plan = PlanGate(load_plan(PLAN).checker(), block=block)
    records = [
        parse(RawRecord(number, jsonwire.dumps(event)))
        for number, event in enumerate(EVENTS, start=1)
    ]
    records = [r for r in records if isinstance(r, Record)]
    for mapping in MAPPINGS:
        destination = destination_for(mapping)
        slow = ReplayStats()
        render_records(destination, records, slow, plan)
        fast = ReplayStats()
        FastRenderer(destination, plan)(records, fast)
        assert fast.plan_violating > 0
        assert fast.as_dict() == slow.as_dict(), mapping.name


@pytest.mark.parametrize("workers", ["1", "2"])
def test_replay_reports_the_same_with_the_fast_path_on_and_off(
    workers: str, tmp_path: Path
) -> None:
    archive = tmp_path / "events.ndjson"
    lines = [json.dumps(event) for event in EVENTS[:1500]]
    lines[7] = "{not json"
    archive.write_text("\n".join(lines) + "\n")
    witness = tmp_path / "witness.yaml"
    witness.write_text(SEGMENT_MAPPING)
    flags = ["--dry-run", "--no-progress", "--format", "json", "--workers", workers]
    for mapping in [*MAPPINGS, witness]:
        env = {name: "x" for name in _env_names(mapping.read_text())}
        outputs = []
        for switch in ("1", "0"):
            result = run_cli(
                ["replay", str(archive), "-m", str(mapping), *flags],
                env={**env, "CDPCTL_FASTPATH": switch},
            )
            assert result.exit_code in (0, 1), result.stdout + result.stderr
            report = json.loads(result.stdout)
            report.pop("elapsed_seconds")
            outputs.append(report)
        assert outputs[0] == outputs[1], mapping.name


def test_switch() -> None:
    assert enabled({})
    assert enabled({"CDPCTL_FASTPATH": "1"})
    assert not enabled({"CDPCTL_FASTPATH": "0"})
    assert not enabled({"CDPCTL_FASTPATH": "off"})
