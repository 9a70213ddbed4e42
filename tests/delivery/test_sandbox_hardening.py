"""The sandbox under abuse: bad framing and fault settings get a 400, bursts of connections are
all answered, SIGTERM saves state, shutdown is quick, and a wrong credential says which one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from cdpctl.sandbox.server import HINT_HEADER, Faults, SandboxServer

ROOT = Path(__file__).parents[2]


def raw_exchange(server: SandboxServer, request: bytes) -> bytes:
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3"])
def test_a_bad_content_length_is_answered_400(sandbox: SandboxServer, length: bytes) -> None:
    answer = raw_exchange(
        sandbox,
        b"POST /v1/identify HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}",
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Content-Length must be a whole number of bytes" in answer
    assert httpx.get(sandbox.url + "/_sandbox/state").status_code == 200


def test_a_huge_body_is_refused_413_without_reading_it(sandbox: SandboxServer) -> None:
    answer = raw_exchange(
        sandbox, b"POST /v1/identify HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error_rate": "abc"}, "error_rate must be a number from 0 to 1"),
        ({"error_rate": 1.5}, "error_rate must be a number from 0 to 1"),
        ({"latency_ms": -10}, "latency_ms must be a number from 0 to 60000"),
        (7, "fault settings must be a JSON object"),
        ({"retry_after": 5}, "retry_after must be whole seconds as text"),
        ({"rate_limits": "yes"}, "rate_limits must be true or false"),
        ({"seed": "x"}, "seed must be a whole number"),
        ({"errror_rate": 0.1}, "unknown fault setting(s): errror_rate"),
    ],
)
def test_invalid_fault_settings_are_refused_and_change_nothing(
    sandbox: SandboxServer, body: object, message: str
) -> None:
    before = sandbox.state.faults
    answer = httpx.post(sandbox.url + "/_sandbox/faults", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert sandbox.state.faults == before
    assert httpx.get(sandbox.url + "/_sandbox/state").status_code == 200


def test_500_concurrent_connections_are_all_answered(sandbox: SandboxServer) -> None:
    host, port = sandbox.server_address[:2]
    sockets = [socket.create_connection((host, port), timeout=10) for _ in range(500)]
    try:
        request = b"GET /_sandbox/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for sock in sockets:
            sock.sendall(request)
        statuses = []
        for sock in sockets:
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            statuses.append(data[:12])
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [b"HTTP/1.1 200"] * 500


def test_shutdown_takes_milliseconds() -> None:
    server = SandboxServer(0, faults=Faults(rate_limits=False))
    thread = server.start_background()
    started = time.monotonic()
    server.shutdown()
    thread.join()
    server.server_close()
    assert time.monotonic() - started < 0.1


def test_sigterm_saves_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "cdpctl", "sandbox", "--port", "0", "--state", str(state)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]
    answer = httpx.put(
        url + "/api/v1/contacts/update",
        headers={"Authorization": "Bearer sandbox-loops-key"},
        json={"email": "saved@example.com", "userId": "u-1"},
    )
    assert answer.status_code == 200, answer.text
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert process.returncode == 0
    assert "saved@example.com" in state.read_text()


def test_a_wrong_credential_says_which_ones_the_sandbox_expects() -> None:
    notes: list[str] = []
    server = SandboxServer(0, faults=Faults(rate_limits=False), log=notes.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = httpx.put(
            server.url + "/api/v1/contacts/update",
            headers={"Authorization": "Bearer wrong-key"},
            json={"email": "a@example.com"},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 401
    assert answer.json() == {"success": False, "message": "Invalid API key"}  # Loops' own
    assert "loops: wrong apiKey for the sandbox" in answer.headers[HINT_HEADER]
    assert "sandbox-loops-key" not in answer.headers[HINT_HEADER]
    assert notes and "the sandbox accepts apiKey=sandbox-loops-key" in notes[0]
