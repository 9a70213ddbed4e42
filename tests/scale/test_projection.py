"""The projection — the top-level event keys a destination's triggers and mappings read — is
sound: judging an event cut down to those keys gives the very verdicts judging the whole event
gives, for the shipped mappings and for generated ones; what it cannot bound is "the whole
event". And a dry run that decodes only those keys reports exactly what one decoding whole
events reports."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdpctl import jsonwire, mapping
from cdpctl.delivery import projection, replay
from cdpctl.delivery.projection import event_keys, mapping_keys, trigger_keys
from cdpctl.loading import load_yaml
from cdpctl.mappingfile import read_mapping_file
from cdpctl.pipeline import Destination, compile_destination, evaluate

ROOT = Path(__file__).parents[2]
MAPPINGS = sorted([*(ROOT / "examples").glob("*.yaml"), ROOT / "bench" / "mapping.yaml"])


def keys_of(node: Any) -> set[str] | None:
    try:
        return mapping_keys(node)
    except projection._Whole:
        return None


# --- what is read ----------------------------------------------------------------------------


def test_paths_templates_and_jmespath_read_their_first_key() -> None:
    read = {
        "a": {"@path": "$.traits.email"},
        "b": {"@template": "{{properties.name}} ({{ context.page.title }})"},
        "c": {"@jmespath": "context.groupId || length(integrations.x)"},
        "d": {"@if": {"exists": {"@path": "$.userId"}, "then": "yes", "else": {"@path": "$.x"}}},
        "e": {"@arrayPath": ["$.products", {"sku": {"@path": "$.sku"}}]},
        "f": {"@case": {"operator": "lower", "value": {"@path": "$.odd key.x"}}},
        "g": "a constant",
        "h": [{"@literal": {"@path": "$.event"}}],
    }
    assert keys_of(read) == {
        "traits",
        "properties",
        "context",
        "integrations",
        "userId",
        "x",
        "products",
        "odd key",
        "event",
    }


@pytest.mark.parametrize(
    "node",
    [
        {"@path": "$."},
        {"@path": ""},
        {"@path": {"@template": "$.{{key}}"}},  # a path computed per event
        {"@template": "{{{traits.bio}}}"},  # its inserted text is expanded again
        {"@template": "{{.}}"},
        {"@liquid": "{{ traits.email }}"},
        {"@transform": {"apply": {"x": {"@path": "$.a"}}, "mapping": {"y": {"@path": "$.x"}}}},
        {"@jmespath": "@"},
        {"@jmespath": "*.email"},
        {"@jmespath": "[*].email"},
        {"@jmespath": "keys(@)"},
        {"@unknown": 1},
    ],
    ids=repr,
)
def test_what_cannot_be_bounded_is_the_whole_event(node: dict[str, Any]) -> None:
    assert keys_of({"field": node}) is None


def test_a_root_directive_is_the_whole_event() -> None:
    assert keys_of({"@path": "$.traits"}) is None
    assert keys_of({"__segment_internal_directive": {"@path": "$."}, "a": 1}) is None


def test_triggers_read_their_fields() -> None:
    assert trigger_keys('type = "track" and event = "Order Completed"') == {"type", "event"}
    assert trigger_keys("properties.total > 10 or traits.email exists") == {
        "properties",
        "traits",
    }
    assert trigger_keys('context.page.path = "/" and userId != null and name = "x"') == {
        "context",
        "userId",
        "name",
    }


def test_event_keys_adds_what_every_record_needs() -> None:
    keys = event_keys(
        [('type = "identify"', {"email": {"@path": "$.traits.email"}})], ["timestamp"]
    )
    assert keys == frozenset({"type", "deadLetter", "traits", "timestamp"})
    assert event_keys([("", {"all": {"@path": "$."}})]) is None


# --- sound on the shipped mappings -----------------------------------------------------------


def destination_for(path: Path) -> Destination:
    text = path.read_text()
    environ = {name: f"test-{name.lower()}" for name in re.findall(r"\$\{([A-Z0-9_]+)\}", text)}
    return compile_destination(read_mapping_file(load_yaml(str(path))), environ)


def fixture_events() -> list[dict[str, Any]]:
    texts = [p.read_text() for p in sorted((ROOT / "sample_events").glob("*.json"))]
    texts += (ROOT / "tests" / "cases" / "output" / "events.ndjson").read_text().splitlines()
    return [jsonwire.loads(text) for text in texts if text.strip()]


def varied(events: list[dict[str, Any]], count: int, seed: int = 7) -> list[dict[str, Any]]:
    """The fixture events with top-level keys dropped, added or set to odd values."""
    rng = random.Random(seed)
    odd: list[Any] = [None, "", 0, 25.0, 2**60, [], {}, {"email": "a@example.com"}, "text", True]
    out = []
    for _ in range(count):
        event = json.loads(json.dumps(rng.choice(events)))
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*event, "extra", "traits", "properties", "context"])
            if key != "type" and rng.random() < 0.3:
                event.pop(key, None)
            elif key != "type":
                event[key] = rng.choice(odd)
        out.append(jsonwire.loads(json.dumps(event)))
    return out


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_judging_the_projection_gives_the_same_verdicts(path: Path) -> None:
    destination = destination_for(path)
    keys = event_keys((s.trigger, s.mapping) for s in destination.subscriptions)
    if keys is None:
        return  # judged on whole events: nothing to compare
    base = fixture_events()
    compared = 0
    for event in base + varied(base, 400):
        cut = {key: value for key, value in event.items() if key in keys}
        for sub in destination.subscriptions:
            # a fresh context each: what a plan caches in it (a looked-up id) stays out
            on_cut = evaluate(sub, cut, destination.context(dry_run=True))
            on_whole = evaluate(sub, event, destination.context(dry_run=True))
            assert repr(on_cut) == repr(on_whole), (sub.name, event)
            compared += 1
    assert compared > 0


# --- sound on generated mappings -------------------------------------------------------------

_KEYS = ["type", "userId", "traits", "properties", "context", "event", "x"]
_SUBPATHS = ["", ".email", ".name", ".a.b", "[0]", ".length"]
_PATHS = st.builds(lambda k, s: k + s, st.sampled_from(_KEYS), st.sampled_from(_SUBPATHS))
_JMESPATH = st.sampled_from(
    [
        "traits.email",
        "context.a || traits.name",
        "length(properties)",
        "x[0]",
        "properties.items[*].sku",
        "x[?a == `1`].b",
        "{a: userId, b: event}",
        "not_null(x, userId)",
        "x | [0]",
        "@",
        "*.email",
        "keys(@)",
    ]
)


def _nodes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
        st.builds(lambda v, t, e: {"@if": {"exists": v, "then": t, "else": e}}, *[children] * 3),
        st.builds(lambda v: {"@case": {"operator": "upper", "value": v}}, children),
        st.builds(lambda v: {"@excludeWhenNull": v}, children),
        st.builds(lambda v: {"@literal": v}, children),
        st.builds(
            lambda a, b: {"@merge": {"objects": [a, b], "direction": "right"}}, *[children] * 2
        ),
        st.builds(lambda p, v: {"@arrayPath": ["$." + p, {"v": v}]}, _PATHS, children),
        st.builds(lambda v: {"@json": {"value": v, "mode": "encode"}}, children),
    )


_LEAVES = st.one_of(
    st.builds(lambda p: {"@path": "$." + p}, _PATHS),
    st.builds(lambda p, q: {"@template": "{{" + p + "}}-{{ " + q + " }}"}, _PATHS, _PATHS),
    st.builds(lambda e: {"@jmespath": e}, _JMESPATH),
    st.sampled_from([{"@path": "$."}, {"@template": "{{{x}}}"}, "constant", 7, None]),
)
_MAPPINGS = st.dictionaries(
    st.sampled_from(["f", "g", "h"]), st.recursive(_LEAVES, _nodes, max_leaves=6), min_size=1
)
_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "a", "{{x}}"])),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "email", "name", "sku"]), children, max_size=3),
    ),
    max_leaves=8,
)
_EVENTS = st.dictionaries(st.sampled_from([*_KEYS, "other", "integrations"]), _VALUES)


def _outcome(apply: Any, event: dict[str, Any]) -> str:
    try:
        return repr(apply(event))
    except mapping.MappingError as error:
        return f"{type(error).__name__}: {error}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=_MAPPINGS, events=st.lists(_EVENTS, min_size=1, max_size=4))
def test_a_mapping_reads_nothing_outside_its_projection(
    node: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    keys = keys_of(node)
    try:
        apply = mapping.compile_mapping(node)
    except mapping.MappingError:
        return  # refused before any event is read
    if keys is None:
        return  # decoded whole: nothing to compare
    for event in events:
        cut = {key: value for key, value in event.items() if key in keys}
        assert _outcome(apply, cut) == _outcome(apply, event)


# --- a dry run on projections reports what one on whole events reports -----------------------


def _generate(count: int, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/generate.py's events: Segment-like, 0.5-2 KB each."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look themselves up
    spec.loader.exec_module(module)
    module.generate(count, out, 5)


def test_a_projected_dry_run_reports_what_a_whole_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", "test-key")
    archive = tmp_path / "events.ndjson"
    _generate(600, archive, monkeypatch)
    with archive.open("ab") as handle:  # odd lines: each is decoded whole, and reported so
        handle.write(b'{"type":"track","event":"Order Completed","properties":{"revenue":1e400}}\n')
        handle.write(b'{"type":"identify","traits":{"email":"\xff"}}\n')
        handle.write(b'{"type":"identify","traits":{"email":"a@example.com"},"x":"\\ud800"}\n')
        handle.write(b'{"deadLetter":{"error":"x"},"event":{"type":"page","name":"Home"}}\n')
        handle.write(b'{"type":"page","name":"Home","type":"nope"}\n')
        handle.write(b'{"type":"track","event":"Product Viewed","properties":{"price":25.0}}\n')
        handle.write(b"[1,2]\nnot json\n\n")
    command = [
        "replay",
        str(archive),
        "-m",
        str(ROOT / "bench" / "mapping.yaml"),
        "--no-progress",
        "-f",
        "json",
        "--workers",
        "1",
    ]
    decoders: list[projection.ProjectedDecoder] = []
    chosen = replay.projected_decoder

    def forced(destination: Destination, options: replay.ReplayOptions) -> Any:
        decoder = chosen(destination, options)
        assert decoder is not None
        decoder.settle(True)  # always project, whatever the timing says
        decoders.append(decoder)
        return decoder

    monkeypatch.setattr(replay, "projected_decoder", forced)
    projected = run_cli(command)
    monkeypatch.setattr(replay, "projected_decoder", lambda destination, options: None)
    whole = run_cli(command)
    assert projected.exit_code == whole.exit_code == 1  # the malformed lines
    summaries = [json.loads(result.stdout) for result in (projected, whole)]
    for summary in summaries:
        summary.pop("elapsed_seconds")
    assert summaries[0] == summaries[1]
    assert summaries[0]["malformed"] == 6
    assert decoders[0].projected > 550  # all but the odd lines
