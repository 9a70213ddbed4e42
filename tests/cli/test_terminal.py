"""Terminal-safe text: no control, format or bidi character from an event, a file name, a
provider's answer or an argument reaches the terminal raw, in any command's text view; machine
formats (JSON, SARIF, JUnit, GitHub workflow commands) stay exact."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import given
from hypothesis import strategies as st

from cdpctl.output import terminal
from cdpctl.output.terminal import escape, escape_lines, escape_view
from cdpctl.sandbox.providers.loops import API_KEY

ROOT = Path(__file__).parents[2]
LOOPS = ROOT / "examples" / "loops.yaml"
UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}

# Control sequences an attacker would put in a value: hyperlinks, clear screen, window title,
# a forged line (CR, newline), bidi reordering, C1 controls and invisible characters.
SEQUENCES = {
    "hyperlink": "\x1b]8;;http://127.0.0.1:9/Done\x1b]8;;",
    "clear": "\x1b[2J\x1b[H",
    "title": "\x1b]0;PWNED\x07",
    "carriage-return": "\rFAKE",
    "newline": "\nFAKE.ndjson:1:1: error CDP000 forged",
    "bidi": "\u202eevil\u202c\u2066x\u2069\u200f",
    "c1": "\x9b2J\x9d0;T\x9c\x85",
    "invisible": "\x00\x08\x7f\u200b\ufeff\u2028\u2029\U000e0041",
}
SEQUENCES["all"] = "".join(SEQUENCES.values())


def unsafe(text: str) -> list[str]:
    """Every character a terminal would act on or hide, other than the view's own newlines."""
    return sorted(
        {c for c in text if c != "\n" and unicodedata.category(c) in UNSAFE_CATEGORIES}
        | ({"\ud800"} if re.search("[\ud800-\udfff]", text) else set())
    )


def assert_terminal_safe(result, what: str) -> None:  # type: ignore[no-untyped-def]
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        raw = unsafe(text)
        assert not raw, f"{what}: raw {[hex(ord(c)) for c in raw]} on {name}:\n{text!r}"
        assert not re.search(r"^FAKE", text, re.MULTILINE), f"{what}: forged line on {name}"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (
        f"{what}: {result.stderr}"
    )


# --- the escaping itself ----------------------------------------------------------------------


def test_every_control_and_format_character_is_escaped() -> None:
    """The hand-written class of unsafe characters covers Unicode's categories in full."""
    missed = [
        hex(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in UNSAFE_CATEGORIES and escape(chr(code)) == chr(code)
    ]
    assert not missed


@given(st.text())
def test_escaped_text_is_one_printable_line(text: str) -> None:
    escaped = escape(text)
    assert not unsafe(escaped) and "\n" not in escaped
    assert escape(escaped) == escaped  # idempotent: escaping twice changes nothing
    if not unsafe(text) and "\n" not in text:
        assert escaped == text  # ordinary text is left alone


@given(st.lists(st.sampled_from([*SEQUENCES.values(), "plain", "\n", "é", "€", "\x1b[31m"])))
def test_views_keep_their_lines_and_only_colour_codes(parts: list[str]) -> None:
    text = "".join(parts)
    lines = escape_lines(text)
    assert lines.count("\n") == text.count("\n") and not unsafe(lines)
    sgr = re.compile("\x1b\\[[0-9;]*m")
    coloured = escape_view(text, colour=True)
    assert len(sgr.findall(coloured)) >= text.count("\x1b[31m")  # cdpctl's colours stay
    assert not unsafe(sgr.sub("", coloured))  # and nothing else
    assert not unsafe(escape_view(text, colour=False))


def test_the_rich_console_escapes_what_it_renders_and_keeps_styles() -> None:
    import io

    from rich.text import Text

    console = terminal.console(
        record=True, force_terminal=True, color_system="standard", file=io.StringIO()
    )
    console.print(Text("a\x1b]0;T\x07b [link=http://x]c[/link]", style="red"))
    out = console.export_text(styles=True)
    assert "a\\x1b]0;T" in out and "b [link=http://x]c[/link]" in out  # rich drops the BEL
    assert "\x1b[31m" in out and "\x1b]" not in out and "\x07" not in out


# --- every command's text view ----------------------------------------------------------------


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A provider that refuses everything with its answer full of control sequences."""

    sequence = ""
    count = 0

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        type(self).count += 1
        if self.count % 2:
            body = json.dumps({"success": False, "message": "bad" + self.sequence}).encode()
            kind = "application/json"
        else:
            body = ("refused" + self.sequence).encode("utf-8", "surrogatepass")
            kind = "text/plain"
        self.send_response(400)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def hostile_provider(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Hostile,), {"sequence": request.param, "count": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _yaml(text: str) -> str:
    """`text` as a YAML double-quoted scalar, every character outside printable ASCII escaped."""
    return (
        '"'
        + "".join(c if " " <= c <= "~" and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
        + '"'
    )


def _files(folder: Path, seq: str) -> dict[str, Path]:
    """Mapping, event, archive, export, webhook and plan files whose names and contents carry
    the control sequence `seq`."""
    named = seq.replace("\x00", "").replace("/", "")
    mapping_text = LOOPS.read_text(encoding="utf-8").replace(
        "name: Order completed event", "name: " + _yaml("Order completed" + seq)
    )
    mapping = folder / f"map{named}.yaml"
    mapping.write_text(mapping_text, encoding="utf-8")
    changed = folder / f"new{named}.yaml"
    changed.write_text(
        mapping_text.replace('{"@template": "{{event}}"}', '{"@template": "{{event}}!"}')
        + "      bad: {"
        + _yaml("@pa" + seq + "th")
        + ": 1}\n",
        encoding="utf-8",
    )
    unmatched = {"type": "track", "event": "Order" + seq + "Done", "userId": "u" + seq}
    matched = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1" + seq,
        "properties": {"order_id": "o" + seq, "total": 3},
    }
    files = {"mapping": mapping, "changed": changed}
    for key, event in (("unmatched", unmatched), ("matched", matched)):
        files[key] = folder / f"{key}{named}.json"
        files[key].write_text(json.dumps(event), encoding="utf-8")
    archive = folder / f"ev{named}\nFAKE.ndjson"
    archive.write_text(
        "\n".join(
            [
                json.dumps(matched),
                json.dumps(unmatched),
                json.dumps({"type": "tr" + seq + "ack", "event": "x"}),
                '{"type": "track", "event": "' + seq.replace("\x00", "") + '"',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    files["archive"] = archive
    export = folder / f"export{named}.json"
    export.write_text(
        json.dumps(
            {
                "subscriptions": [
                    {
                        "name": "S" + seq,
                        "actionSlug": "sendEvent",
                        "trigger": 'type = "track" and event = "' + seq + '"',
                        "settings": {"eventName": {"@path": "$.event" + seq}},
                    },
                    {"name": "T" + seq, "actionSlug": "nope" + seq, "trigger": "type = " + seq},
                ],
                "destination": {"settings": {"apiKey": "k" + seq, "other" + seq: seq}},
            }
        ),
        encoding="utf-8",
    )
    files["export"] = export
    webhook = folder / f"hook{named}.json"
    good = {"email": "a@b.c", "event": "delivered", "sg_event_id": "e" + seq, "timestamp": 1}
    webhook.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "event": "ev" + seq}) + "\n",
        encoding="utf-8",
    )
    files["webhook"] = webhook
    bad_hook = folder / f"badhook{named}.json"
    bad_hook.write_text(json.dumps({**good, "timestamp": "t" + seq}) + "\n", encoding="utf-8")
    files["bad_hook"] = bad_hook
    plan = folder / f"plan{named}.json"
    plan.write_text(
        json.dumps(
            {
                "data": {
                    "rules": [
                        {
                            "key": "Order" + seq,
                            "type": "TRACK",
                            "version": 1,
                            "jsonSchema": {
                                "type": "object",
                                "properties": {
                                    "properties": {
                                        "type": "object",
                                        "properties": {"p" + seq: {"enum": ["v" + seq]}},
                                        "required": ["p" + seq],
                                    }
                                },
                            },
                        }
                    ]
                }
            }
        ),
        encoding="utf-8",
    )
    files["plan"] = plan
    return files


def _commands(files: dict[str, Path], seq: str, live: str, hostile: str) -> list[list[str]]:
    f = {key: str(path) for key, path in files.items()}
    arg = seq.replace("\x00", "")
    live_send = ["send", f["mapping"], f["matched"], "--live", "--endpoint"]
    live_replay = ["replay", f["archive"], "-m", f["mapping"], "--live", "--endpoint"]
    return [
        ["validate", f["mapping"], f["changed"]],
        ["validate", f["changed"], "--plan", f["plan"]],
        ["test-event", f["mapping"], f["unmatched"]],
        ["test-event", f["mapping"], f["matched"], "--plan", f["plan"]],
        ["send", f["mapping"], f["unmatched"]],
        ["send", f["mapping"], f["matched"]],
        ["send", f["mapping"], f["matched"], "--live", "--endpoint", live, "-v"],
        [*live_send, hostile, "--max-attempts", "1"],
        ["replay", f["archive"], "-m", f["mapping"], "--no-progress"],
        ["replay", f["archive"], "-m", f["mapping"], "--plan", f["plan"], "-w", "1"],
        [*live_replay, hostile, "--max-attempts", "1", "--no-progress"],
        ["diff", f["mapping"], f["changed"], f["archive"]],
        ["import", "segment", f["export"], "-p", "loops", "-o", f["export"] + ".yaml"],
        ["import", "segment", f["archive"]],
        ["source", "sendgrid", f["webhook"], "-o", f["webhook"] + ".out"],
        ["source", "sendgrid", f["bad_hook"]],
        ["plan", "show", f["plan"]],
        ["providers"],
        ["actions", "lo" + arg + "ops"],
        ["fields", "loops", "send" + arg],
        ["init", "lo" + arg],
        ["schema", "--action", "loops." + arg],
        ["replay", "no" + arg + ".ndjson", "-m", f["mapping"]],
        ["validate", "--format", "x" + arg],
        ["send", f["mapping"], f["matched"], "--max-attempts", arg],
    ]


@pytest.mark.parametrize(
    ("seq", "hostile_provider"),
    [(seq, seq) for seq in SEQUENCES.values()],
    ids=list(SEQUENCES),
    indirect=["hostile_provider"],
)
def test_no_command_writes_a_raw_control_character(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox,  # type: ignore[no-untyped-def]
    seq: str,
    hostile_provider: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # ledgers and dead letters of live runs land here
    files = _files(tmp_path, seq)
    env = {"NO_COLOR": "1", "LOOPS_API_KEY": API_KEY}
    shown = 0
    for args in _commands(files, seq, sandbox.url, hostile_provider):
        result = run_cli([*args, "--force"] if "--live" in args else args, env=env)
        assert_terminal_safe(result, " ".join(args))
        visible = escape(seq.replace("\x00", ""))[:8]
        shown += visible in result.stdout + result.stderr
    assert shown >= 10  # the hostile values did reach the views, escaped


def test_the_process_guards_its_streams_before_any_parsing(tmp_path: Path) -> None:
    """Errors click reports before a command runs (an unknown command or option) and the
    process-level error paths go through the same guard."""
    seq = SEQUENCES["all"].replace("\x00", "")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    for args in (["nosuch" + seq], ["--bad" + seq], ["validate", "--bad" + seq]):
        result = subprocess.run(
            [sys.executable, "-m", "cdpctl", *args],
            capture_output=True,
            text=True,
            errors="surrogateescape",
            env=env,
            timeout=120,
        )
        assert result.returncode == 2
        assert_terminal_safe(result, " ".join(args))


def test_colour_keeps_only_cdpctls_own_colour_codes(tmp_path: Path) -> None:
    files = _files(tmp_path, SEQUENCES["all"])
    result = run_cli(
        ["validate", str(files["changed"]), "--color", "always"], env={"LOOPS_API_KEY": API_KEY}
    )
    assert "\x1b[31m" in result.stdout  # the severity's colour
    without_colour = re.sub("\x1b\\[[0-9;]*m", "", result.stdout)
    assert "\x1b" not in without_colour and not unsafe(without_colour)


# --- machine formats stay exact ---------------------------------------------------------------


def test_json_output_keeps_the_values_exactly(tmp_path: Path) -> None:
    seq = SEQUENCES["all"]
    files = _files(tmp_path, seq)
    result = run_cli(["test-event", str(files["mapping"]), str(files["unmatched"]), "-f", "json"])
    assert json.loads(result.stdout)["event"]["event"] == "Order" + seq + "Done"
    result = run_cli(["validate", str(files["changed"]), "-f", "json"])
    messages = [e["message"] for f in json.loads(result.stdout)["files"] for e in f["errors"]]
    assert any("@pa" + seq + "th" in message for message in messages)


def test_github_annotations_keep_one_line_per_finding(tmp_path: Path) -> None:
    files = _files(tmp_path, SEQUENCES["newline"] + "\r")
    result = run_cli(["validate", str(files["changed"]), "-f", "github"])
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations and len(annotations) == result.stdout.count("\n") - 1
    assert all("%0A" in line for line in annotations if "forged" in line)


def test_the_sandbox_log_escapes_request_paths(tmp_path: Path) -> None:
    """`cdpctl sandbox` logs refused requests with their path: a path carrying control
    sequences is shown escaped."""
    import socket

    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "cdpctl", "sandbox", "--port", "0", "--no-rate-limits"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = int(first.rsplit(":", 1)[1])
        # not every sequence: http.server splits a request line at any Unicode whitespace
        seq = SEQUENCES["title"] + SEQUENCES["clear"] + "\u202eevil\x9b2J"
        path = "/api/v1/events/send?x=" + seq.encode("utf-8").decode("latin-1")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".encode("latin-1")
            )
            assert connection.recv(65536).startswith(b"HTTP/1.")
    finally:
        process.terminate()  # the sandbox this test started, by its own handle
        out, err = process.communicate(timeout=60)
    assert "401 for POST /api/v1/events/send?x=" in err, err
    assert "\\x1b]0;PWNED" in err
    for name, text in (("stdout", first + out), ("stderr", err)):
        assert not unsafe(text), f"raw control characters on the sandbox's {name}: {text!r}"
