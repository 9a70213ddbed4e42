"""Budgets for expressions (cdpctl.mapping.budget): an expression that would build far more than
the event it reads is refused for that event — a located CDP409, counted, the run going on —
before the value is built, the same way in every command (one compiled judge); within the
budget, every directive means what it meant before.

The hostile cases are the ones reported against `test-event` and `replay`: a 570 KB note of
repeated `{{properties.note}}` under `@template "e-{{{properties.note}}}"` (the second pass),
`@replace` with the replacement `" $` "` over a 200 KB property, and `@jmespath` `[@,@]` chained
26 times. The command-line tests run cdpctl in a subprocess with its address space capped at
2 GB and a timeout, so a regression fails fast instead of exhausting the machine.
"""

from __future__ import annotations

import json
import pickle
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jmespath
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdpctl import codes
from cdpctl.jsvalues import UNDEFINED
from cdpctl.loading import load_yaml
from cdpctl.mapping import BudgetExceeded, MappingError, compile_mapping
from cdpctl.mapping.budget import (
    MAX_EVENT_BYTES,
    MAX_JMESPATH_WORK,
    MAX_VALUE_CHARS,
    json_size,
)
from cdpctl.mapping.templates import placeholder_text, render
from cdpctl.mappingfile import read_mapping_file
from cdpctl.pipeline import Invalid, Ready, compile_destination, evaluate
from cdpctl.sandbox.providers.segment import WRITE_KEY

ROOT = Path(__file__).parents[2]
HOSTILE_NOTE = "{{properties.note}}" * (570_000 // len("{{properties.note}}"))
DOUBLED_26 = "userId" + ".[@,@]" * 26
ADDRESS_SPACE = 2_000_000_000  # bytes a cdpctl subprocess may map: a blow-up fails fast


def mapped(mapping: dict[str, Any], event: dict[str, Any]) -> Any:
    return compile_mapping(mapping)(event)


def refusal(mapping: dict[str, Any], event: dict[str, Any]) -> BudgetExceeded:
    with pytest.raises(BudgetExceeded) as caught:
        mapped(mapping, event)
    return caught.value


def track(**properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order", "userId": "u1", "properties": properties}


# --- every directive that can grow is refused before it builds --------------------------------


def test_the_template_second_pass_is_refused_before_it_is_joined() -> None:
    started = time.monotonic()
    refused = refusal(
        {"eventName": {"@template": "e-{{{properties.note}}}"}}, track(note=HOSTILE_NOTE)
    )
    assert time.monotonic() - started < 5
    assert (refused.what, refused.field, refused.limit) == ("@template", ("eventName",), 10**6)
    assert str(refused) == (
        "@template at $.eventName would build more than 1,000,000 characters, the budget for "
        f"one value (at least {refused.size:,} characters)"
    )


def test_a_template_repeating_a_large_value_is_refused_in_one_pass_too() -> None:
    template = "{{properties.note}}," * 5
    refused = refusal({"x": {"@template": template}}, track(note="n" * 300_000))
    assert refused.what == "@template" and refused.size == 5 * 300_001


def test_replace_copying_the_text_before_each_match_is_refused() -> None:
    mapping = {
        "eventName": {
            "@replace": {
                "pattern": "a",
                "replacement": " $` ",
                "value": {"@path": "$.properties.note"},
            }
        }
    }
    started = time.monotonic()
    refused = refusal(mapping, track(note="a" * 200_000))
    assert time.monotonic() - started < 5
    assert refused.what == "@replace" and refused.size > MAX_VALUE_CHARS


def test_plain_replace_growing_past_the_budget_is_refused() -> None:
    mapping = {
        "x": {"@replace": {"pattern": "a", "replacement": "bbbbbbbbbb", "value": {"@path": "$.v"}}}
    }
    assert refusal(mapping, {"v": "a" * 200_000}).size == 2_000_000
    assert mapped(mapping, {"v": "a" * 1_000}) == {"x": "b" * 10_000}


def test_jmespath_doubling_is_refused_long_before_two_to_the_26() -> None:
    started = time.monotonic()
    refused = refusal({"eventName": {"@jmespath": DOUBLED_26}}, track())
    assert time.monotonic() - started < 5
    assert (refused.what, refused.kind) == ("@jmespath", "value")


def test_jmespath_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many nodes visited over a long list: the work budget, not the value budget, stops it."""
    monkeypatch.setattr("cdpctl.mapping.jmespath_query.MAX_JMESPATH_WORK", 10_000)
    items = [{"a": 1, "b": 1} for _ in range(5_000)]
    refused = refusal({"x": {"@jmespath": "items[?a == b && b == a]"}}, {"items": items})
    assert refused.kind == "work" and refused.limit == 10_000
    assert str(refused) == (
        "@jmespath at $.x would take more than 10,000 units of work, the budget for one "
        "JMESPath evaluation (a unit per node visited and per character built)"
    )


def test_flatten_repeating_long_prefixes_is_refused() -> None:
    """Each leaf repeats its whole key path: a 100 KB key over 20 leaves is 2 MB of keys."""
    value = {"k" * 100_000: {str(i): i for i in range(20)}}
    refused = refusal(
        {"x": {"@flatten": {"value": {"@path": "$.v"}, "separator": "."}}}, {"v": value}
    )
    assert refused.what == "@flatten"


def test_merge_spreading_a_long_string_is_refused() -> None:
    mapping = {"x": {"@merge": {"objects": [{"@path": "$.s"}], "direction": "right"}}}
    assert refusal(mapping, {"s": "s" * 200_000}).what == "@merge"
    assert mapped(mapping, {"s": "ab"}) == {"x": {"0": "a", "1": "b"}}


def test_array_path_repeating_its_shape_per_item_is_refused() -> None:
    shape = {"label": "a constant label of some length", "id": {"@path": "$.id"}}
    items = [{"id": i} for i in range(50_000)]
    mapping = {"x": {"@arrayPath": ["$.items", shape]}}
    assert refusal(mapping, {"items": items}).what == "@arrayPath"


def test_liquid_output_is_held_to_the_value_budget() -> None:
    mapping = {"x": {"@liquid": "{{ note }}{{ note }}"}}
    assert refusal(mapping, {"note": "n" * 600_000}).what == "@liquid"
    assert mapped(mapping, {"note": "n" * 6}) == {"x": "n" * 12}


def test_json_encode_and_case_are_held_to_the_value_budget() -> None:
    encode = {"x": {"@json": {"mode": "encode", "value": {"@path": "$.v"}}}}
    assert refusal(encode, {"v": ["x" * 1000] * 2_000}).what == "@json"
    upper = {"x": {"@case": {"operator": "upper", "value": {"@path": "$.v"}}}}
    assert refusal(upper, {"v": "\ufb03" * 400_000}).what == "@case"  # "ﬃ" → "FFI"


def test_the_whole_mapped_payload_is_held_to_the_event_budget() -> None:
    mapping = {f"f{i}": {"@path": "$.note"} for i in range(5)}
    refused = refusal(mapping, {"note": "n" * 900_000})
    assert (refused.what, refused.kind, refused.limit) == (
        "the mapped payload",
        "event",
        MAX_EVENT_BYTES,
    )
    assert str(refused) == (
        "the mapped payload would be more than 4,000,000 bytes of JSON, the budget for one "
        f"event (at least {refused.size:,} bytes)"
    )


def test_a_refusal_names_the_field_it_happened_in() -> None:
    mapping = {"traits": {"deep": {"note": {"@template": "{{{properties.note}}}"}}}}
    refused = refusal(mapping, track(note=HOSTILE_NOTE))
    assert refused.field == ("traits", "deep", "note")
    assert " at $.traits.deep.note " in str(refused)


def test_a_refusal_crosses_a_process_boundary_whole() -> None:
    refused = refusal({"eventName": {"@jmespath": DOUBLED_26}}, track())
    again = pickle.loads(pickle.dumps(refused))
    assert isinstance(again, BudgetExceeded) and isinstance(again, MappingError)
    assert (again.what, again.field, again.size, str(again)) == (
        refused.what,
        refused.field,
        refused.size,
        str(refused),
    )


def test_json_size_counts_shared_values_each_time_and_stops_past_the_limit() -> None:
    leaf = "x" * 10
    shared: Any = leaf
    for _ in range(60):  # 2^60 copies: measuring must not walk them all
        shared = [shared, shared]
    started = time.monotonic()
    assert json_size(shared, 1_000) > 1_000
    assert time.monotonic() - started < 1
    # At least the JSON text's length, and over it by a separator per container at most.
    for value in ({"a": [1, "b", None, True, 2.5]}, ["é", {"k": {"l": []}}], "plain", 12345):
        exact = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        assert exact <= json_size(value, 10**6) <= exact + 3
    assert json_size({"a": UNDEFINED, "b": 1}, 100) == len('{"b":1}') + 1


# --- the budgets leave Segment's semantics alone ----------------------------------------------

_TRIPLE = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE = re.compile(r"\{\{([^}]+)\}\}")


def reference_render(template: str, payload: Any) -> str:
    """actions-core's `render`, as the engine wrote it before budgets: re.sub, two passes."""

    def substitute(pattern: re.Pattern[str], text: str) -> str:
        def one(match: re.Match[str]) -> str:
            keys = [key for key in match.group(1).strip().split(".") if key]
            value: Any = payload
            for key in keys:
                value = value.get(key, UNDEFINED) if isinstance(value, dict) else UNDEFINED
            return placeholder_text(value)

        return pattern.sub(one, text)

    return substitute(_DOUBLE, substitute(_TRIPLE, template))


def reference_replace(value: str, pattern: str, replacement: str) -> str:
    """JavaScript's global `String.replace` with a literal pattern and `$&`, `` $` ``, `$'`."""
    out, position, start = [], 0, value.find(pattern)
    while start != -1:
        end = start + len(pattern)
        out.append(value[position:start])
        text = replacement.replace("$$", "\0")
        text = text.replace("$&", "\1").replace("$`", "\2").replace("$'", "\3")
        for char in text:
            out.append(
                {"\0": "$", "\1": value[start:end], "\2": value[:start], "\3": value[end:]}.get(
                    char, char
                )
            )
        position, start = end, value.find(pattern, end)
    out.append(value[position:])
    return "".join(out)


KEYS = st.sampled_from(["a", "b", "note"])
TEXT = st.text(alphabet="ab{}. $`'&x", max_size=12)
SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(template=TEXT, a=TEXT, note=TEXT)
def test_templates_within_the_budget_render_as_before(template: str, a: str, note: str) -> None:
    payload = {"a": a, "note": note}
    expected = reference_render(template, payload)
    assert render(template, payload) == expected
    assert mapped({"x": {"@template": template}}, payload).get("x", "") == expected


@FAST
@given(
    value=TEXT,
    pattern=st.text(alphabet="ab$", min_size=1, max_size=2),
    replacement=st.text(alphabet="ab{}. $`'&x", max_size=10),
)
def test_replace_within_the_budget_replaces_as_before(
    value: str, pattern: str, replacement: str
) -> None:
    mapping = {"x": {"@replace": {"pattern": pattern, "replacement": replacement, "value": value}}}
    if not value:
        return  # an empty value is left out (mapping-kit's own rule)
    assert mapped(mapping, {})["x"] == reference_replace(value, pattern, replacement)


JMES_ATOMS = st.sampled_from(["@", "a", "b", "note", "a[0]", "a[*]", "`1`", "'t'"])


def jmes_expression() -> st.SearchStrategy[str]:
    return st.recursive(
        JMES_ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"{p[0]}.{p[1]}" if p[1][0].isalpha() else p[0]),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
            st.lists(inner, min_size=1, max_size=2).map(
                lambda xs: "{" + ", ".join(f"k{i}: {x}" for i, x in enumerate(xs)) + "}"
            ),
            inner.map(lambda x: f"{x}[]"),
            inner.map(lambda x: f"length({x})"),
            inner.map(lambda x: f"to_string({x})"),
            st.tuples(inner, inner).map(lambda p: f"{p[0]} || {p[1]}"),
            st.tuples(inner, inner).map(lambda p: f"{p[0]} | {p[1]}"),
        ),
        max_leaves=6,
    )


@FAST
@given(expression=jmes_expression(), payload=st.dictionaries(KEYS, SMALL_JSON, max_size=3))
def test_jmespath_within_the_budget_answers_as_jmespath_does(
    expression: str, payload: dict[str, Any]
) -> None:
    try:
        expected = jmespath.search(expression, payload)
    except Exception as error:
        with pytest.raises(MappingError):
            try:
                mapped({"x": {"@jmespath": expression}}, payload)
            except BudgetExceeded:
                pytest.fail(f"budget refusal instead of {error!r}")
        return
    got = mapped({"x": {"@jmespath": expression}}, payload)
    assert got == ({} if expected is None else {"x": expected})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    piece=st.text(alphabet="ab{}.", min_size=1, max_size=8),
    times=st.integers(1, 200_000),
    doublings=st.integers(0, 30),
    replacement=st.sampled_from(["$`", "$'", "$&$&", "xyz", " $` $' "]),
    template=st.sampled_from(["{{{a}}}", "{{a}}{{a}}{{a}}", "x{{{a}}}{{a}}", "{{{a}}}{{{a}}}"]),
)
def test_hostile_sizes_give_a_value_within_the_budget_or_the_budget_error(
    piece: str, times: int, doublings: int, replacement: str, template: str
) -> None:
    """Never another exception, never a value over the limit, whatever the sizes."""
    value = (piece * times)[:600_000]
    payload = {"a": value + "{{a}}" * (times % 7)}
    mappings = [
        {"t": {"@template": template}},
        {
            "r": {
                "@replace": {
                    "pattern": piece[0],
                    "replacement": replacement,
                    "value": {"@path": "$.a"},
                }
            }
        },
        {"j": {"@jmespath": "a" + ".[@,@]" * doublings}},
    ]
    for mapping in mappings:
        try:
            result = mapped(mapping, payload)
        except BudgetExceeded as refused:
            assert refused.size > refused.limit
            continue
        ((_, produced),) = result.items() or [(None, "")]
        assert json_size(produced, MAX_VALUE_CHARS) <= MAX_VALUE_CHARS


# --- verdicts: one for evaluate and the dry run's bulk counting --------------------------------

SEGMENT_BUDGET_MAPPING = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: track
    trigger: type = "track"
    action: sendTrack
    defaults: false
    mapping:
      user_id: {"@path": "$.userId"}
      event_name: {"@template": "{{event}}: {{properties.note}} / {{properties.note}}"}
      properties:
        items:
          "@arrayPath":
            - "$.properties.items"
            - label: "a constant label of some length"
              id: {"@path": "$.id"}
"""


def budget_destination(tmp_path: Path, text: str = SEGMENT_BUDGET_MAPPING):
    path = tmp_path / "segment.yaml"
    path.write_text(text)
    file = read_mapping_file(load_yaml(str(path)))
    return compile_destination(file, {"SEGMENT_WRITE_KEY": "test-key"})


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"note": "n" * 600_000, "items": []}, ("event_name",)),
        ({"note": "ok", "items": [{"id": i} for i in range(40_000)]}, ("properties", "items")),
    ],
    ids=["template", "arrayPath"],
)
def test_a_hostile_event_is_refused_by_the_compiled_judge_as_the_dry_run_counts_it(
    tmp_path: Path, properties: dict[str, Any], field: tuple[str, ...]
) -> None:
    destination = budget_destination(tmp_path)
    (sub,) = destination.subscriptions
    hostile = track(**properties)
    verdict = evaluate(sub, hostile, destination.context(dry_run=True))
    assert isinstance(verdict, Invalid)
    (diagnostic,) = verdict.diagnostics
    assert diagnostic.code == codes.EXPRESSION_BUDGET and diagnostic.json_path == field
    # The dry run's bulk counting asks the same judge: the same verdict, not a size.
    assert sub.judge(hostile, destination.context(dry_run=True), True) == verdict
    ordinary = track(note="fine", items=[{"id": 1}])
    assert isinstance(evaluate(sub, ordinary, destination.context(dry_run=True)), Ready)
    sized = sub.judge(ordinary, destination.context(dry_run=True), True)
    assert type(sized) is int or isinstance(sized, Ready)  # Ready when it carries a warning


def test_the_event_budget_is_one_verdict_for_evaluate_and_the_dry_run(
    tmp_path: Path,
) -> None:
    """Five copies of a 900 KB property: each value is the event's own, the payload 4.5 MB."""
    copies = "\n".join(f'        c{i}: {{"@path": "$.properties.note"}}' for i in range(5))
    text = (
        SEGMENT_BUDGET_MAPPING.split("      event_name:")[0]
        + '      event_name: {"@path": "$.event"}\n      properties:\n'
        + copies
    )
    destination = budget_destination(tmp_path, text + "\n")
    (sub,) = destination.subscriptions
    verdict = evaluate(sub, track(note="n" * 900_000), destination.context(dry_run=True))
    assert isinstance(verdict, Invalid)
    (diagnostic,) = verdict.diagnostics
    assert diagnostic.code == codes.EXPRESSION_BUDGET and diagnostic.json_path == ()
    assert diagnostic.message == (
        "refused: the mapped payload would be more than 4,000,000 bytes of JSON, the budget for "
        "one event"
    )
    assert diagnostic.hint is not None
    assert re.fullmatch(
        r"at least 4,50\d,\d{3} bytes; see Budgets in docs/mapping-language\.md", diagnostic.hint
    )
    sized = sub.judge(track(note="n" * 900_000), destination.context(dry_run=True), True)
    assert sized == verdict
    within = evaluate(sub, track(note="n" * 700_000), destination.context(dry_run=True))
    assert codes.EXPRESSION_BUDGET not in {d.code for d in getattr(within, "diagnostics", ())}
    sized = sub.judge(track(note="fine"), destination.context(dry_run=True), True)
    assert type(sized) is int or isinstance(sized, Ready)  # Ready when it carries a warning


# --- the command line: located, counted, bounded ----------------------------------------------

LOOPS_MAPPING = """\
version: 1
destination:
  provider: loops
  settings:
    apiKey: ${{LOOPS_API_KEY}}
subscriptions:
  - name: Note event
    trigger: type = "track"
    action: sendEvent
    mapping:
      eventName: {{"@path": "$.event"}}
      eventProperties:
        note: {expression}
"""
CASES = {
    "template": ('{"@template": "e-{{{properties.note}}}"}', HOSTILE_NOTE),
    "replace": (
        '{"@replace": {"pattern": "a", "replacement": " $` ",'
        ' "value": {"@path": "$.properties.note"}}}',
        "a" * 200_000,
    ),
    # Ordinary userIds double to a few KB; the hostile event's to far more than 1 MB.
    "jmespath": ('{"@jmespath": "userId' + ".[@,@]" * 12 + '"}', None),
}


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def cdpctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cdpctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
    )


def hostile_files(tmp_path: Path, case: str) -> tuple[Path, dict[str, Any]]:
    expression, note = CASES[case]
    mapping = tmp_path / f"{case}.yaml"
    mapping.write_text(LOOPS_MAPPING.format(expression=expression))
    event = track(note=note or "fine")
    if case == "jmespath":
        event["userId"] = "u" * 1_000
    return mapping, event


@pytest.mark.parametrize("case", sorted(CASES))
def test_test_event_reports_a_located_refusal(tmp_path: Path, case: str) -> None:
    mapping, event = hostile_files(tmp_path, case)
    (tmp_path / "event.json").write_text(json.dumps(event))
    started = time.monotonic()
    result = cdpctl("test-event", str(mapping), "event.json", cwd=tmp_path)
    assert time.monotonic() - started < 60
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr
    directive = {"template": "@template", "replace": "@replace", "jmespath": "@jmespath"}[case]
    assert re.search(
        rf"error CDP409 \$\.eventProperties\.note refused: {directive} would build more than "
        r"1,000,000 characters, the budget for one value — at least [\d,]+ characters; see "
        r"Budgets in docs/mapping-language\.md",
        result.stdout,
    ), result.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_dry_replay_refuses_the_hostile_event_and_goes_on(
    tmp_path: Path, case: str, workers: str
) -> None:
    mapping, hostile = hostile_files(tmp_path, case)
    archive = tmp_path / "events.ndjson"
    with archive.open("w") as handle:
        for index in range(6):
            event = hostile if index == 3 else track(note="fine")
            handle.write(json.dumps({**event, "messageId": f"m{index}"}) + "\n")
    started = time.monotonic()
    result = cdpctl(
        "replay", "events.ndjson", "-m", str(mapping), "-w", workers, "-f", "json",
        "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert time.monotonic() - started < 90
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["events_read"] == 6
    assert summary["subscriptions"]["Note event"]["would_send"] == 5
    assert summary["subscriptions"]["Note event"]["invalid"] == 1
    (error,) = summary["errors"]
    assert (error["code"], error["count"], error["first"]) == ("CDP409", 1, "events.ndjson line 4")


def test_the_budgets_are_what_the_docs_say() -> None:
    docs = (ROOT / "docs" / "mapping-language.md").read_text(encoding="utf-8")
    for figure in (MAX_VALUE_CHARS, MAX_EVENT_BYTES, MAX_JMESPATH_WORK):
        assert f"{figure:,}" in docs, figure
    guarantees = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert "## Budgets for expressions" in guarantees


SEGMENT_LIVE_MAPPING = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: track
    trigger: type = "track"
    action: sendTrack
    mapping:
      event_name: {"@template": "e-{{{properties.note}}}"}
"""


def test_a_live_replay_dead_letters_the_refused_event_and_sends_the_rest(
    tmp_path: Path, sandbox
) -> None:
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(SEGMENT_LIVE_MAPPING)
    archive = tmp_path / "events.ndjson"
    with archive.open("w") as handle:
        for index in range(6):
            note = HOSTILE_NOTE if index == 3 else "fine"
            event = {**track(note=note), "messageId": f"m{index}"}
            handle.write(json.dumps(event) + "\n")
    result = run_cli(
        [
            *("replay", str(archive), "-m", str(mapping), "--live", "--endpoint", sandbox.url),
            *("--rate", "1000", "--no-batch", "-f", "json", "--no-progress"),
        ],
        env={"SEGMENT_WRITE_KEY": WRITE_KEY},
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["subscriptions"]["track"]["delivered"] == 5
    assert [(e["code"], e["count"]) for e in summary["errors"]] == [("CDP409", 1)]
    assert sorted(sandbox.state.providers["segment"]["messages"]) == [
        "m0",
        "m1",
        "m2",
        "m4",
        "m5",
    ]
    dead_letters = (tmp_path / "events.ndjson.dead-letter.ndjson").read_text().splitlines()
    (dead,) = (json.loads(line) for line in dead_letters)
    assert dead["event"]["messageId"] == "m3"
    assert "CDP409" in json.dumps(dead["deadLetter"])


def test_refusals_of_different_sizes_are_one_error_group(tmp_path: Path) -> None:
    mapping, _ = hostile_files(tmp_path, "template")
    archive = tmp_path / "events.ndjson"
    with archive.open("w") as handle:
        for index in range(6):
            note = HOSTILE_NOTE[: 200_000 * index] if index % 2 else "fine"
            handle.write(json.dumps({**track(note=note), "messageId": f"m{index}"}) + "\n")
    result = run_cli(
        ["replay", str(archive), "-m", str(mapping), "-w", "1", "-f", "json", "--no-progress"]
    )
    summary = json.loads(result.stdout)
    (error,) = summary["errors"]
    assert (error["code"], error["count"], error["first"]) == ("CDP409", 3, f"{archive} line 2")
    assert error["message"] == (
        "refused: @template would build more than 1,000,000 characters, the budget for one value"
    )
