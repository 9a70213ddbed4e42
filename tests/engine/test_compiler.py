"""The compiled judge (cdpctl.compiler) against the runtime it is generated over.

The oracle here composes the very runtime pieces directly — the compiled trigger, the compiled
mapping, the framework's clean/coerce/validate step, the action's check and plan — without
generated code. Every subscription of every fixture mapping is judged on every fixture event
and on 2,000 odd variants of them (nulls, "", missing keys, wrong types, non-object
context, huge and tiny floats, lists): `evaluate` must give the oracle's verdict, a `sized`
answer the oracle's one request body size, and the dry run's bulk counts what `tally` counts.
"""

from __future__ import annotations

import ast
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cdpctl import codes, jsonwire, mapping, triggers
from cdpctl.compiler import mapped_keys
from cdpctl.delivery.engine import DryJudge, PlanGate
from cdpctl.delivery.sources import RawRecord, Record, parse
from cdpctl.delivery.stats import ReplayStats
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.loading import load_yaml
from cdpctl.mappingfile import read_mapping_file
from cdpctl.pipeline import (
    CompiledSubscription,
    Destination,
    Invalid,
    NoMatch,
    Ready,
    Verdict,
    compile_destination,
    evaluate,
    planned,
    refused,
)
from cdpctl.plans import load_plan
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import ActionContext
from cdpctl.providers.layouts import compile_layout
from cdpctl.providers.payload import prepare

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases" / "compiler"
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


EVENTS = base_events() + odd_events(2000)


def oracle(sub: CompiledSubscription, event: dict[str, Any], ctx: ActionContext) -> Verdict:
    """The runtime pieces composed by hand: what the generated judge must mean."""
    try:
        if not triggers.compile_trigger(triggers.parse(sub.trigger))(event):
            return NoMatch()
    except triggers.TriggerEvaluationError:
        return NoMatch()
    try:
        mapped = mapping.compile_mapping(sub.mapping)(event)
        if mapping.may_leave_undefined(sub.mapping):
            mapped = mapping.strip_undefined(mapped)
    except mapping.MappingError as error:
        return refused(error)
    if not isinstance(mapped, dict):
        return Invalid((Diagnostic(codes.MAPPING_RUNTIME, "mapping did not produce an object"),))
    payload, problems = prepare(sub.action, mapped, ctx.settings)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        return Invalid((*errors, *(p for p in problems if p not in errors)), payload)
    return planned(sub.action, payload, tuple(problems), ctx)


@pytest.mark.parametrize("mapping_file", MAPPINGS, ids=lambda p: p.stem)
def test_judges_mean_what_the_runtime_means(mapping_file: Path) -> None:
    destination = destination_for(mapping_file)
    answers: Counter[str] = Counter()
    for sub in (s for s in destination.subscriptions if s.enabled):
        # Separate contexts, used in the same order: plans may cache (tokens) in theirs.
        oracle_ctx = destination.context(dry_run=True)
        judge_ctx = destination.context(dry_run=True)
        sized_ctx = destination.context(dry_run=True)
        for index, event in enumerate(EVENTS):
            expected = oracle(sub, event, oracle_ctx)
            where = f"{mapping_file.stem}: {sub.name!r}, event {index}: {json.dumps(event)[:300]}"
            assert evaluate(sub, event, judge_ctx) == expected, where
            if sub.event_type is not None and event.get("type") != sub.event_type:
                assert isinstance(expected, NoMatch), where
            answer = sub.judge(event, sized_ctx, True)
            if answer is None:
                answers["no match"] += 1
                assert isinstance(expected, NoMatch), where
            elif type(answer) is int:
                answers["sized"] += 1
                assert isinstance(expected, Ready) and not expected.warnings, where
                assert [len(r.body()) for r in expected.requests] == [answer], where
            else:
                answers["verdict"] += 1
                assert answer == expected, where
    assert answers["no match"] and answers["sized"] + answers["verdict"], answers


def test_a_sized_answer_is_the_body_the_plan_sends() -> None:
    """An action's declared layout is what its plan sends, byte for byte, and the layout
    compiled for a mapping's fields builds the same body for every payload of that mapping."""
    declared = [
        action.name
        for provider in map(get_provider, provider_names())
        if provider is not None
        for action in provider.actions
        if action.layout is not None
    ]
    assert declared
    for mapping_file in MAPPINGS:
        destination = destination_for(mapping_file)
        ctx = destination.context(dry_run=True)
        for sub in destination.subscriptions:
            if sub.action.layout is None:
                continue
            whole = compile_layout("any payload", sub.action.layout)
            keys = mapped_keys(sub.mapping)
            fields = None if keys is None else frozenset(keys)
            for_mapping = compile_layout("this mapping", sub.action.layout, fields)
            for event in EVENTS:
                verdict = evaluate(sub, event, ctx)
                if isinstance(verdict, Ready):
                    (request,) = verdict.requests
                    assert request.body() == jsonwire.dumps(whole(verdict.payload))
                    assert jsonwire.dumps(for_mapping(verdict.payload)) == request.body()


def test_bulk_counts_equal_tally_over_odd_archive() -> None:
    """The bulk counting of the dry run gives exactly what `tally` gives, including the error
    groups and their first examples."""
    records = _records()
    for mapping_file in MAPPINGS:
        destination = destination_for(mapping_file)
        bulk = ReplayStats()
        DryJudge(destination)(records, bulk)
        assert bulk.as_dict() == _one_by_one(destination, records).as_dict(), mapping_file.name


@pytest.mark.parametrize("block", [False, True], ids=["warn", "block"])
def test_a_tracking_plan_gates_the_dry_run_event_by_event(block: bool) -> None:
    plan = PlanGate(load_plan(PLAN).checker(), block=block)
    records = _records()
    for mapping_file in MAPPINGS:
        destination = destination_for(mapping_file)
        bulk = ReplayStats()
        DryJudge(destination, plan)(records, bulk)
        assert bulk.plan_violating > 0
        expected = _one_by_one(destination, records, plan)
        assert bulk.as_dict() == expected.as_dict(), mapping_file.name


def _one_by_one(
    destination: Destination, records: list[Record], plan: PlanGate | None = None
) -> ReplayStats:
    """Every admitted event's verdicts, each counted by `tally`."""
    stats = ReplayStats()
    ctx = destination.context(dry_run=True)
    for record in records:
        if plan is None or plan.admits(record, stats):
            for sub in destination.subscriptions:
                if sub.enabled:
                    stats.tally(stats.sub(sub.name), evaluate(sub, record.event, ctx), record)
    return stats


def _records() -> list[Record]:
    parsed = [
        parse(RawRecord(number, jsonwire.dumps(event)))
        for number, event in enumerate(EVENTS, start=1)
    ]
    return [r for r in parsed if isinstance(r, Record)]


def test_no_module_imports_another_modules_private_names() -> None:
    """Each meaning is written once, where it is defined: nothing reaches into another
    module's private names (`from cdpctl.x import _y`)."""
    found = []
    for path in sorted((ROOT / "cdpctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("cdpctl")
            ):
                found += [
                    f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert found == []
