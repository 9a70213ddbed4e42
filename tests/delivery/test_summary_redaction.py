"""Summaries of replay and send redact whatever they are given, as their last step and over the
whole text: a provider error quoting the credentials (Customer.io's 207 item error holding
`siteId:apiKey`) never shows the key, whole or in part, in text or JSON."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl.delivery.locations import Origin
from cdpctl.delivery.sources import Record
from cdpctl.delivery.stats import ReplayStats
from cdpctl.output import replay as view
from cdpctl.pipeline import load_destination

ROOT = Path(__file__).parents[2]
CUSTOMERIO = str(ROOT / "examples" / "customerio.yaml")
SITE_ID = "site-0a1b2c3d4e5f"
API_KEY = "cio-key-9z8y7x6w5v4u3t2s1r0qponm"  # 29 characters, as in the issue
ENV = {"CUSTOMERIO_SITE_ID": SITE_ID, "CUSTOMERIO_API_KEY": API_KEY}


def assert_no_part_of_the_key(text: str) -> None:
    """Neither credential, nor any 10 characters of the key in a row."""
    assert SITE_ID not in text
    for start in range(len(API_KEY) - 9):
        assert API_KEY[start : start + 10] not in text, API_KEY[start : start + 10]


def _stats_with_unredacted_error() -> ReplayStats:
    stats = ReplayStats()
    record = Record(1, b"{}", {"type": "identify"}, origin=Origin(0, 0, "ev.ndjson"))
    message = f"Customer.io: invalid credentials {SITE_ID}:{API_KEY} (HTTP 401)"
    stats.note_error("CDP501", message, record)
    return stats


@pytest.mark.parametrize("name", ["text", "json"])
def test_the_summary_views_redact_what_they_are_given(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    redactor = load_destination(CUSTOMERIO).redactor()
    text = view.VIEWS[name](
        _stats_with_unredacted_error(),
        live=True,
        elapsed=1.0,
        color=False,
        dead_letter=f"dead-{API_KEY}.ndjson",
        redactor=redactor,
    )
    assert_no_part_of_the_key(text)
    assert "${CUSTOMERIO_SITE_ID}:${CUSTOMERIO_API_KEY}" in text
    # idempotent: the view may be handed text the delivery layer already redacted
    assert redactor.text(text) == text


class _QuotesCredentials(http.server.BaseHTTPRequestHandler):
    """Customer.io answering every batch with a 207 whose item errors quote the credentials."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        count = len(body.get("batch", [])) if isinstance(body, dict) else 1
        errors = [
            {"batch_index": index, "reason": f"unauthorized for {SITE_ID}:{API_KEY}"}
            for index in range(max(count, 1))
        ]
        answer = json.dumps({"errors": errors, "meta": {"error": f"{SITE_ID}:{API_KEY}"}})
        self.send_response(207 if isinstance(body, dict) and "batch" in body else 401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    do_PUT = do_POST

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def customerio() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuotesCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["text", "json"])
def test_replay_and_send_summaries_never_show_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, customerio: str, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    events = tmp_path / "ev.ndjson"
    identify = {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}}
    events.write_text(json.dumps(identify) + "\n", encoding="utf-8")
    live = ["--live", "--endpoint", customerio, "--no-progress", "--force", "--max-attempts", "1"]
    replay = run_cli(["replay", str(events), "-m", CUSTOMERIO, *live, "--format", name], env=ENV)
    assert replay.exit_code == 1, replay.output
    assert "${CUSTOMERIO_SITE_ID}:${CUSTOMERIO_API_KEY}" in replay.stdout
    event = tmp_path / "identify.json"
    event.write_text(json.dumps(identify), encoding="utf-8")
    send = run_cli(
        ["send", CUSTOMERIO, str(event), "--live", "--endpoint", customerio, "-f", name, "-v"],
        env=ENV,
    )
    assert send.exit_code == 1, send.output
    for result in (replay, send):
        assert_no_part_of_the_key(result.stdout + result.stderr)


class _QuotesAtTheCut(http.server.BaseHTTPRequestHandler):
    """A 400 whose answer puts the credentials across every place a text used to be cut: the
    failure reason (300 characters) and the dead letter's answer (2,000)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        secret = f"{SITE_ID}:{API_KEY}"
        answer = ("x" * 280 + secret + "y" * 1680 + secret + "z" * 100).encode()
        self.send_response(400)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST

    def log_message(self, *args: object) -> None:
        del args


def test_a_key_across_a_cut_off_leaves_no_part_in_dead_letters_ledger_or_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts are redacted whole, then cut: not 10 characters of the key in a row survive."""
    import sqlite3

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuotesAtTheCut)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.chdir(tmp_path)
        events = tmp_path / "ev.ndjson"
        identify = {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}}
        events.write_text(json.dumps(identify) + "\n", encoding="utf-8")
        replay = run_cli(
            [
                "replay",
                str(events),
                "-m",
                CUSTOMERIO,
                "--live",
                "--endpoint",
                endpoint,
                "--no-progress",
                "--no-batch",
                "--max-attempts",
                "1",
            ],
            env=ENV,
        )
        event = tmp_path / "identify.json"
        event.write_text(json.dumps(identify), encoding="utf-8")
        send = run_cli(
            ["send", CUSTOMERIO, str(event), "--live", "--endpoint", endpoint, "-v"], env=ENV
        )
    finally:
        server.shutdown()
        server.server_close()
    assert replay.exit_code == 1 and send.exit_code == 1, replay.output + send.output
    dead = (tmp_path / "ev.ndjson.dead-letter.ndjson").read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "ev.ndjson.cdpctl-state.sqlite") as db:
        reasons = " ".join(str(row[0]) for row in db.execute("SELECT reason FROM outcomes"))
    assert "${CUSTOMERIO_API_KEY}" in dead and "${CUSTOMERIO_API_KEY}" in reasons
    for text in (dead, reasons, replay.stdout + replay.stderr, send.stdout + send.stderr):
        assert_no_part_of_the_key(text)
