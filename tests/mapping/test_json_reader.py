"""One hardened reader for every JSON cdpctl reads from outside (cdpctl.jsonwire.read): bounded
depth, JavaScript's numbers, NaN/Infinity refused, located one-line errors — and a check that no
module parses outside JSON any other way."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl import jsonwire
from cdpctl.sandbox.server import SandboxServer

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "cdpctl"
LOOPS = str(ROOT / "examples" / "loops.yaml")
READER = "cdpctl/jsonwire.py"

# Places that parse JSON without the reader, each with why that is safe.
ALLOWED = {
    ("cdpctl/delivery/sources.py", "orjson.loads"): (
        "finds where an archive's array element ends (the element is then parsed by "
        "sources.parse, which applies the depth bound before jsonwire.loads); parse_line is "
        "jsonwire.loads fused with parse's checks, and hands every line it would not read "
        "exactly as they do to parse (tests/test_read_fast.py)"
    ),
    ("cdpctl/delivery/projection.py", "orjson.loads"): (
        "times orjson against the projected decode on a run's first lines; its result is not used"
    ),
    ("cdpctl/delivery/projection.py", "msgspec.json"): (
        "decodes the keys a dry run reads, after the depth bound and jsonwire's number "
        "checks; a line it cannot read exactly as jsonwire.loads does goes to parse_line's "
        "whole path (tests/test_read_fast.py)"
    ),
    ("cdpctl/delivery/replay.py", "orjson.loads"): (
        "routes archive records to workers; sources.parse bounds depth first, and NaN or "
        "out-of-range numbers are malformed records there"
    ),
    ("cdpctl/jsvalues.py", "json.JSONDecoder"): (
        "JSON.parse inside mapping expressions, on values already read by the reader; the "
        "mapping engine's expression budget bounds it"
    ),
}
PARSERS = {
    ("json", "loads"),
    ("json", "load"),
    ("json", "JSONDecoder"),
    ("orjson", "loads"),
    ("simplejson", "loads"),
    ("ujson", "loads"),
    ("msgspec", "json"),
}


def _parser_uses() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == READER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), relative)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in PARSERS
            ):
                found.append((relative, f"{node.value.id}.{node.attr}", node.lineno))
            elif isinstance(node, ast.ImportFrom) and node.module in {"json", "orjson"}:
                for alias in node.names:
                    if (node.module, alias.name) in PARSERS:
                        found.append((relative, f"{node.module}.{alias.name}", node.lineno))
            elif isinstance(node, ast.Attribute) and node.attr == "raw_decode":
                found.append((relative, "raw_decode", node.lineno))
    return found


def test_no_module_parses_outside_json_past_the_reader() -> None:
    unexpected = [
        f"{path}:{line}: {name}"
        for path, name, line in _parser_uses()
        if (path, name) not in ALLOWED
    ]
    assert not unexpected, "parse outside JSON with cdpctl.jsonwire.read:\n" + "\n".join(unexpected)


def test_every_allowed_place_still_exists() -> None:
    used = {(path, name) for path, name, _ in _parser_uses()}
    assert set(ALLOWED) <= used, set(ALLOWED) - used  # a stale exception widens nothing


# --- the reader -------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
BIG = "1" * 5000


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('{"a":\n  ' + "[" * 101 + "]" * 101 + "}", 2, 102, "nested deeper than 100 levels"),
        (DEEP, 1, 101, "nested deeper than 100 levels"),
        ('{"n": ' + BIG + "}", 1, 7, "number too large: JavaScript reads it as Infinity"),
        ('{"n": NaN}', 1, 7, "NaN is not JSON"),
        ('{"n":\n Infinity}', 2, 2, "Infinity is not JSON"),
        ('{"n": 1,\n "m": }', 2, 7, "invalid JSON"),
    ],
)
def test_reader_errors_are_located(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(jsonwire.JSONInputError) as caught:
        jsonwire.read(text, "in.json")
    error = caught.value
    assert (error.name, error.line, error.column) == ("in.json", line, column)
    assert message in error.message
    assert str(error).startswith(f"in.json:{line}:{column}: CDP109 ")
    assert "\n" not in str(error)


def test_reader_reads_numbers_as_javascript_does() -> None:
    assert jsonwire.read('{"a": 25.0, "b": 9007199254740993, "c": 1e300}', "x") == {
        "a": 25,
        "b": 9007199254740992.0,
        "c": 1e300,
    }
    assert jsonwire.read("1" * 300, "x") == float("1" * 300)
    assert jsonwire.read('"' + "[" * 500 + '"', "x") == "[" * 500  # brackets in strings


def test_reader_locates_within_a_line_of_a_larger_file() -> None:
    with pytest.raises(jsonwire.JSONInputError) as caught:
        jsonwire.read('{"a": NaN}', "f.ndjson", line=7, column=3)
    assert str(caught.value).startswith("f.ndjson:7:9: CDP109 NaN is not JSON")


# --- every command that reads JSON ------------------------------------------------------------

WEBHOOK = {"email": "a@example.com", "event": "delivered", "sg_event_id": "e1", "timestamp": 1}


def _webhook(**changes: object) -> str:
    return json.dumps({**WEBHOOK, **changes})


def _one_located_line(result, where: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert where in result.stderr and message in result.stderr, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        (DEEP, "in.json:2:101: CDP109", "nested deeper than 100 levels"),
        ('{"email": "a@b.c", "n": ' + BIG + "}", "in.json:2:25: CDP109", "number too large"),
        (_webhook(timestamp=0).replace("0}", "NaN}"), "in.json:2:", "NaN is not JSON"),
        (_webhook(timestamp=1e300), "in.json:2:", '"timestamp" is not Unix seconds (1e+300)'),
        (_webhook(timestamp=-1), "in.json:2:", '"timestamp" is not Unix seconds (-1)'),
    ],
)
def test_source_sendgrid_hostile_lines(tmp_path: Path, line: str, where: str, message: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(_webhook() + "\n" + line + "\n", encoding="utf-8")
    result = run_cli(["source", "sendgrid", str(path), "-o", str(tmp_path / "out.ndjson")])
    _one_located_line(result, where, message)
    assert not (tmp_path / "out.ndjson").exists()  # nothing half-written


def test_source_sendgrid_deep_array_file(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text("[\n" + _webhook() + ",\n" + DEEP + "\n]\n", encoding="utf-8")
    result = run_cli(["source", "sendgrid", str(path)])
    _one_located_line(result, "in.json:3:100: CDP109", "nested deeper than 100 levels")


def test_source_sendgrid_array_elements_keep_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    second = _webhook(event="mystery")
    path.write_text("[\n" + _webhook() + ",\n\n" + second + ", 5\n]\n", encoding="utf-8")
    result = run_cli(["source", "sendgrid", str(path)])
    assert result.exit_code == 2
    assert "in.json:5 (" not in result.stderr
    assert "in.json:4: expected a SendGrid webhook event (a JSON object), got int" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("content", "where", "message"),
    [
        ('{"data": {"subscriptions": ' + DEEP + "}}", "export.json:1:126: CDP109", "deeper"),
        ('{"data": {"subscriptions": [], "n": ' + BIG + "}}", "export.json:1:37: CDP109", "large"),
    ],
)
def test_import_segment_hostile_exports(
    tmp_path: Path, content: str, where: str, message: str
) -> None:
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    _one_located_line(run_cli(["import", "segment", str(path)], env={}), where, message)


def test_send_expect_with_a_deep_golden_file(tmp_path: Path) -> None:
    golden = tmp_path / "golden.json"
    golden.write_text('{"requests":\n' + DEEP + "}", encoding="utf-8")
    result = run_cli(["send", LOOPS, "track", "--expect", str(golden)])
    _one_located_line(result, "golden.json:2:100: CDP109", "nested deeper than 100 levels")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "track", "p": ' + DEEP + "}", "nested deeper"),
        ('{"type": "track", "n": ' + BIG + "}", "number too large"),
    ],
)
def test_event_files_of_test_event_and_send(tmp_path: Path, content: str, message: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(content, encoding="utf-8")
    for command in ("test-event", "send"):
        result = run_cli([command, LOOPS, str(event)])
        _one_located_line(result, f"{event}:1:", message)


def test_tracking_plan_files(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"rules": ' + DEEP + "}", encoding="utf-8")
    result = run_cli(["plan", "show", str(plan)])
    _one_located_line(result, f"{plan}:1:", "nested deeper than 100 levels")


@pytest.mark.parametrize("content", [DEEP, '{"providers": NaN}', "[1]", '{"providers": 1}'])
def test_sandbox_state_files(tmp_path: Path, content: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content, encoding="utf-8")
    with pytest.raises(jsonwire.JSONInputError) as caught:
        SandboxServer(0, state_file=state)
    assert str(caught.value).startswith(f"{state}:1:")
