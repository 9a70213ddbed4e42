"""The sandbox's faults after processing (late, trickling, huge, reset and cut answers, odd
tokens, partial batches), their scope (only_path, limit), receipts per event, and
`cdpctl sandbox show` — with plain httpx and socket clients against the real server."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdpctl.sandbox.providers import customerio, dotdigital, loops, segment, sendgrid, sfmc
from cdpctl.sandbox.server import HUGE_TOKEN_BYTES, Faults, SandboxServer
from tests.helpers import run_cli

ROOT = Path(__file__).parents[2]
WATCHDOG_SECONDS = 60
# One client for the whole module: a new httpx client costs ~100 ms (its TLS context).
HTTP = httpx.Client(timeout=5)
SEGMENT_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{segment.WRITE_KEY}:".encode()).decode()
}
CIO_AUTH = {
    "Authorization": "Basic "
    + base64.b64encode(f"{customerio.SITE_ID}:{customerio.API_KEY}".encode()).decode()
}
LOOPS_AUTH = {"Authorization": f"Bearer {loops.API_KEY}"}
SENDGRID_AUTH = {"Authorization": f"Bearer {sendgrid.API_KEY}"}


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Fails a test that would hang (every client call also has its own timeout)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"watchdog: the test ran for more than {WATCHDOG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def set_faults(server: SandboxServer, **settings: Any) -> dict[str, Any]:
    answer = HTTP.post(server.url + "/_sandbox/faults", json=settings, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def receipts(server: SandboxServer) -> dict[str, dict[str, int]]:
    return HTTP.get(server.url + "/_sandbox/receipts", timeout=5).json()


def track(message_id: str, **extra: Any) -> dict[str, Any]:
    return {"userId": "u-1", "event": "Order Completed", "messageId": message_id, **extra}


def post_track(
    server: SandboxServer, message_id: str, timeout: float = 5, **extra: Any
) -> httpx.Response:
    return HTTP.post(
        server.url + "/v1/track",
        json=track(message_id, **extra),
        headers=SEGMENT_AUTH,
        timeout=timeout,
    )


def raw_request(server: SandboxServer, path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n"
        f"Authorization: {SEGMENT_AUTH['Authorization']}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data


def connect(server: SandboxServer) -> socket.socket:
    host, port = server.server_address[:2]
    return socket.create_connection((str(host), int(port)), timeout=10)


def read_all(sock: socket.socket) -> tuple[bytes, list[tuple[float, bytes]]]:
    """Everything until the server closes, with each chunk's arrival time."""
    chunks: list[tuple[float, bytes]] = []
    try:
        while chunk := sock.recv(65536):
            chunks.append((time.monotonic(), chunk))
    except ConnectionResetError:
        pass
    return b"".join(chunk for _, chunk in chunks), chunks


def split_answer(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    return status, headers, body


# --- the interface ------------------------------------------------------------------------


def test_the_fault_settings_and_their_defaults_are_the_documented_interface(
    sandbox: SandboxServer,
) -> None:
    assert set_faults(sandbox) == {
        "latency_ms": 0.0,
        "error_rate": 0.0,
        "throttle_rate": 0.0,
        "reset_rate": 0.0,
        "retry_after": "1",
        "rate_limits": True,
        "seed": None,
        "late_rate": 0.0,
        "late_ms": 12000.0,
        "trickle_rate": 0.0,
        "trickle_ms": 2000.0,
        "huge_rate": 0.0,
        "huge_bytes": 800_000_000,
        "reset_after_rate": 0.0,
        "truncate_rate": 0.0,
        "partial_rate": 0.0,
        "token": "normal",
        "only_path": None,
        "limit": None,
    }
    state = HTTP.get(sandbox.url + "/_sandbox/state", timeout=5).json()
    assert state["receipts"] == {e.name: {} for e in sandbox.state.emulators}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"late_rate": 2}, "late_rate must be a number from 0 to 1"),
        ({"late_ms": -1}, "late_ms must be a number from 0 to 600000"),
        ({"trickle_ms": "fast"}, "trickle_ms must be a number from 0 to 60000"),
        ({"huge_bytes": 1.5}, "huge_bytes must be a whole number of bytes"),
        ({"partial_rate": True}, "partial_rate must be a number from 0 to 1"),
        ({"late_rate": 0.6, "truncate_rate": 0.6}, "must add up to at most 1 (got 1.2)"),
        ({"token": "odd"}, 'token must be one of "normal", "non-ascii"'),
        ({"only_path": ""}, "only_path must be non-empty text or null"),
        ({"limit": -1}, "limit must be a whole number from 0, or null"),
        ({"limit": "1"}, "limit must be a whole number from 0, or null"),
    ],
)
def test_invalid_new_fault_settings_are_refused_with_the_field_named(
    sandbox: SandboxServer, body: dict[str, Any], message: str
) -> None:
    answer = HTTP.post(sandbox.url + "/_sandbox/faults", json=body, timeout=5)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert sandbox.state.faults == Faults(rate_limits=False)


FIELDS = list(Faults.__dataclass_fields__)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["normal", "crlf", "huge", "http-date", "/v1/batch", "12"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
KEYS = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8), st.integers())


@settings(max_examples=400, deadline=None, database=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_from_dict_returns_faults_or_a_value_error_naming_the_field(data: dict[Any, Any]) -> None:
    try:
        faults = Faults.from_dict(data)
    except ValueError as error:
        text = str(error)
        named = [str(key) for key in data if str(key) in text]
        assert named, (data, text)
    else:
        assert isinstance(faults, Faults)
        assert {k: v for k, v in asdict(faults).items() if k in data} == data


# --- faults after processing --------------------------------------------------------------


def test_a_late_answer_arrives_after_late_ms_and_the_write_counts_once(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, late_rate=1, late_ms=200)
    started = time.monotonic()
    answer = post_track(sandbox, "m-late")
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.2
    assert receipts(sandbox)["segment"] == {"m-late": 1}
    assert sandbox.state.stats["late"] == 1


def test_a_client_that_times_out_on_a_late_answer_still_delivered(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, late_rate=1, late_ms=500)
    with pytest.raises(httpx.ReadTimeout):
        post_track(sandbox, "m-timeout", timeout=0.1)
    set_faults(sandbox)
    assert post_track(sandbox, "m-timeout").status_code == 200  # the retry a client makes
    assert receipts(sandbox)["segment"] == {"m-timeout": 2}  # sent twice, visibly
    assert sandbox.state.providers["segment"]["duplicates"] == 1


def test_a_trickled_answer_sends_headers_then_one_byte_every_trickle_ms(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, trickle_rate=1, trickle_ms=50)
    with connect(sandbox) as sock:
        started = time.monotonic()
        sock.sendall(raw_request(sandbox, "/v1/track", track("m-trickle")))
        answer, chunks = read_all(sock)
    status, headers, body = split_answer(answer)
    assert status == "HTTP/1.1 200 OK"
    assert body == b'{"success":true}' and headers["content-length"] == str(len(body))
    assert chunks[0][0] - started < 0.2  # the head comes at once
    assert chunks[-1][0] - started >= 0.05 * len(body) * 0.9
    assert len(chunks) >= len(body) // 2  # the body arrives in small pieces, over time
    assert receipts(sandbox)["segment"] == {"m-trickle": 1}


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def test_a_huge_answer_streams_huge_bytes_with_flat_memory(sandbox: SandboxServer) -> None:
    size = 64 * 1024 * 1024
    set_faults(sandbox, huge_rate=1, huge_bytes=size)
    before = rss_bytes()
    peak, total, first, last = before, 0, b"", b""  # first: the body's first 40 bytes
    with HTTP.stream(
        "POST",
        sandbox.url + "/v1/track",
        json=track("m-huge"),
        headers=SEGMENT_AUTH,
        timeout=30,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-length"] == str(size)
        for chunk in answer.iter_raw():
            first = (first + chunk[:40])[:40]
            last = chunk[-2:]
            total += len(chunk)
            peak = max(peak, rss_bytes())
    assert total == size
    assert first.startswith(b'{"sandbox":"huge answer","padding":"xxx') and last == b'"}'
    assert peak - before < 16 * 1024 * 1024, "the answer was held in memory"
    assert receipts(sandbox)["segment"] == {"m-huge": 1}


def test_a_client_leaving_a_huge_answer_early_stops_it_quietly(sandbox: SandboxServer) -> None:
    set_faults(sandbox, huge_rate=1, huge_bytes=500 * 1024 * 1024)
    with connect(sandbox) as sock:
        sock.sendall(raw_request(sandbox, "/v1/track", track("m-left")))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    set_faults(sandbox)
    assert post_track(sandbox, "m-after").status_code == 200


def test_reset_after_processing_closes_without_a_status_line_and_counts_the_write(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, reset_after_rate=1)
    with connect(sandbox) as sock:
        sock.sendall(raw_request(sandbox, "/v1/track", track("m-reset")))
        answer, _ = read_all(sock)
    assert answer == b""
    assert receipts(sandbox)["segment"] == {"m-reset": 1}
    assert "m-reset" in sandbox.state.providers["segment"]["messages"]
    assert sandbox.state.stats["resets_after"] == 1


def test_a_truncated_answer_sends_less_than_its_content_length(sandbox: SandboxServer) -> None:
    set_faults(sandbox, truncate_rate=1)
    with connect(sandbox) as sock:
        sock.sendall(raw_request(sandbox, "/v1/track", track("m-cut")))
        answer, _ = read_all(sock)
    status, headers, body = split_answer(answer)
    assert status == "HTTP/1.1 200 OK"
    assert 0 < len(body) < int(headers["content-length"])
    assert b'{"success":true}'.startswith(body)
    assert receipts(sandbox)["segment"] == {"m-cut": 1}
    with pytest.raises(httpx.RemoteProtocolError):  # what an HTTP client sees
        post_track(sandbox, "m-cut-2")


def test_a_truncated_answer_without_a_body_gets_one_to_cut(sandbox: SandboxServer) -> None:
    sandbox.state.providers["sendgrid"]  # Mail Send answers 202 with no body
    set_faults(sandbox, truncate_rate=1)
    mail = {
        "from": {"email": "shop@example.com"},
        "personalizations": [{"to": [{"email": "ann@example.com"}]}],
        "template_id": "d-1",
    }
    with pytest.raises(httpx.RemoteProtocolError):
        HTTP.post(sandbox.url + "/v3/mail/send", json=mail, headers=SENDGRID_AUTH, timeout=5)
    (key,) = receipts(sandbox)["sendgrid"]
    assert key.startswith("mail/send ann@example.com #")


# --- odd tokens ---------------------------------------------------------------------------


def token_answer(server: SandboxServer) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": sfmc.CLIENT_ID,
        "client_secret": sfmc.CLIENT_SECRET,
    }
    return HTTP.post(server.url + "/v2/token", data=form, timeout=10)


def test_a_normal_token_works(sandbox: SandboxServer) -> None:
    token = token_answer(sandbox).json()["access_token"]
    answer = HTTP.post(
        sandbox.url + "/contacts/v1/contacts",
        json={"contactKey": "c-1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert receipts(sandbox)["sfmc"] == {"contacts c-1": 1}


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("non-ascii", lambda body: "€" in body["access_token"]),
        ("crlf", lambda body: body["access_token"].endswith("\r\nX-Injected: 1")),
        ("empty", lambda body: body["access_token"] == ""),
        ("missing", lambda body: "access_token" not in body and body["token_type"] == "Bearer"),
        ("huge", lambda body: len(body["access_token"]) == HUGE_TOKEN_BYTES),
    ],
)
def test_odd_tokens(sandbox: SandboxServer, kind: str, check: Any) -> None:
    set_faults(sandbox, token=kind)
    answer = token_answer(sandbox)
    assert answer.status_code == 200
    assert "x-injected" not in answer.headers
    assert check(answer.json())
    assert sandbox.state.stats["odd_tokens"] == 1


def test_a_token_answer_that_is_not_json(sandbox: SandboxServer) -> None:
    set_faults(sandbox, token="not-json")
    answer = token_answer(sandbox)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


# --- partial batches ----------------------------------------------------------------------


def person(n: int) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "event",
        "identifiers": {"id": f"u-{n}"},
        "name": "Order Completed",
        "id": f"01HZEVENT{n:04d}",
    }


def test_partial_refuses_valid_batch_items_retryably_in_customerios_207_shape(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, partial_rate=0.5, seed=3)
    batch = [person(n) for n in range(20)] + [{"type": "person", "action": "fly"}]
    answer = HTTP.post(
        sandbox.url + "/api/v2/batch", json={"batch": batch}, headers=CIO_AUTH, timeout=5
    )
    assert answer.status_code == 207
    errors = {error["batch_index"]: error for error in answer.json()["errors"]}
    assert errors.pop(20)["field"] == "action"  # the invalid item, as before
    refused = set(errors)
    assert 0 < len(refused) < 20
    assert all(error["reason"] == "temporarily_unavailable" for error in errors.values())
    got = receipts(sandbox)["customerio"]
    assert got == {f"event 01HZEVENT{n:04d}": 1 for n in range(20) if n not in refused}
    people = sandbox.state.providers["customerio"]["people"].values()
    assert {p["id"] for p in people} == {f"u-{n}" for n in range(20) if n not in refused}
    assert sandbox.state.stats["partial_refused"] == len(refused) + 1
    set_faults(sandbox)  # the retry of the refused items
    again = [person(n) for n in sorted(refused)]
    answer = HTTP.post(
        sandbox.url + "/api/v2/batch", json={"batch": again}, headers=CIO_AUTH, timeout=5
    )
    assert answer.status_code == 200
    assert receipts(sandbox)["customerio"] == {f"event 01HZEVENT{n:04d}": 1 for n in range(20)}


# --- scope and reproducibility ------------------------------------------------------------


def test_only_path_and_limit_fail_exactly_the_first_matching_request(
    sandbox: SandboxServer,
) -> None:
    set_faults(sandbox, error_rate=1, only_path="/v1/batch", limit=1)
    assert post_track(sandbox, "m-1").status_code == 200  # another path: no fault
    batch = {"batch": [{"type": "track", **track("m-2")}]}
    first = HTTP.post(sandbox.url + "/v1/batch", json=batch, headers=SEGMENT_AUTH, timeout=5)
    second = HTTP.post(sandbox.url + "/v1/batch", json=batch, headers=SEGMENT_AUTH, timeout=5)
    assert (first.status_code, second.status_code) == (503, 200)
    assert receipts(sandbox)["segment"] == {"m-1": 1, "m-2": 1}


def test_limit_applies_to_post_processing_faults_too(sandbox: SandboxServer) -> None:
    set_faults(sandbox, reset_after_rate=1, limit=1)
    with pytest.raises(httpx.TransportError):
        post_track(sandbox, "m-once")
    assert post_track(sandbox, "m-once").status_code == 200
    assert receipts(sandbox)["segment"] == {"m-once": 2}


def test_a_seed_reproduces_the_schedule(sandbox: SandboxServer) -> None:
    def run() -> list[int]:
        set_faults(sandbox, error_rate=0.3, truncate_rate=0.3, seed=11)
        outcomes = []
        for n in range(30):
            try:
                outcomes.append(post_track(sandbox, f"s-{n}").status_code)
            except httpx.RemoteProtocolError:
                outcomes.append(0)
        return outcomes

    first = run()
    assert run() == first
    assert {0, 200, 503} <= set(first)


# --- receipts per provider ----------------------------------------------------------------


def test_a_repeated_message_id_counts_two_receipts(sandbox: SandboxServer) -> None:
    batch = {"batch": [{"type": "track", **track("m-dup")}, {"type": "identify", "userId": "u"}]}
    HTTP.post(sandbox.url + "/v1/batch", json=batch, headers=SEGMENT_AUTH, timeout=5)
    post_track(sandbox, "m-dup")
    got = receipts(sandbox)["segment"]
    assert got.pop("m-dup") == 2
    ((key, count),) = got.items()  # the message without a messageId: keyed by its digest
    assert key.startswith("(no messageId) #") and count == 1


def test_a_repeated_loops_idempotency_key_is_answered_409_and_counted_once(
    sandbox: SandboxServer,
) -> None:
    event = {"email": "ann@example.com", "eventName": "signup"}
    headers = {**LOOPS_AUTH, "Idempotency-Key": "evt-1"}
    url = sandbox.url + "/api/v1/events/send"
    first = HTTP.post(url, json=event, headers=headers, timeout=5)
    second = HTTP.post(url, json=event, headers=headers, timeout=5)
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["success"] is False
    assert receipts(sandbox)["loops"] == {"events/send key=evt-1": 1}
    assert len(sandbox.state.providers["loops"]["events"]) == 1
    too_long = {**LOOPS_AUTH, "Idempotency-Key": "k" * 101}
    assert HTTP.post(url, json=event, headers=too_long, timeout=5).status_code == 400
    plain = HTTP.post(url, json=event, headers=LOOPS_AUTH, timeout=5)
    assert plain.status_code == 200
    keys = sorted(receipts(sandbox)["loops"])
    assert keys[0].startswith("events/send email=ann@example.com signup #")


def test_receipt_keys_of_upserts_and_rows(sandbox: SandboxServer) -> None:
    contact = {"email": "Ann@Example.com", "userId": "u-1"}
    HTTP.put(sandbox.url + "/api/v1/contacts/update", json=contact, headers=LOOPS_AUTH)
    HTTP.put(
        sandbox.url + "/v3/marketing/contacts",
        json={"contacts": [{"email": "Bo@Example.com"}, {"external_id": "x-9"}]},
        headers=SENDGRID_AUTH,
    )
    token = token_answer(sandbox).json()["access_token"]
    rows = [{"keys": {"Contact Key": "c-1"}, "values": {"Plan": "gold"}}]
    answer = HTTP.post(
        sandbox.url + "/hub/v1/dataevents/key:segment_identify/rowset",
        json=rows,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    got = receipts(sandbox)
    assert got["loops"] == {"contacts/update userId=u-1": 1}
    assert got["sendgrid"] == {
        "contacts/upsert bo@example.com": 1,
        "contacts/upsert external_id:x-9": 1,
    }
    assert got["sfmc"] == {'rows key:segment_identify [["contact key","c-1"]]': 1}


def test_receipts_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    server = SandboxServer(0, faults=Faults(rate_limits=False), state_file=state)
    server.start_background()
    try:
        post_track(server, "m-kept")
    finally:
        server.shutdown()
        server.save()
        server.server_close()
    again = SandboxServer(0, faults=Faults(rate_limits=False), state_file=state)
    try:
        assert again.state.receipts["segment"] == {"m-kept": 1}
    finally:
        again.server_close()


# --- no traceback -------------------------------------------------------------------------


def test_disconnects_and_binary_bodies_never_print_a_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cdpctl", "sandbox", "--port", "0", "--no-rate-limits"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        host, port = url.removeprefix("http://").split(":")
        address = (host, int(port))

        def exchange(data: bytes, *, read: bool = True, reset: bool = False) -> bytes:
            with socket.create_connection(address, timeout=10) as sock:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                sock.sendall(data)
                return read_all(sock)[0] if read else b""

        binary = b"\xff\xfe\x00\x9c\x1b[31m" * 40
        answer = exchange(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: "
            + SEGMENT_AUTH["Authorization"].encode()
            + b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(binary)}\r\n\r\n".encode()
            + binary
        )
        assert answer.startswith(b"HTTP/1.1 400") and b"Invalid JSON" in answer
        for method, path in (
            ("POST", "/_sandbox/faults"),
            ("POST", "/v2/token"),
            ("PUT", "/api/v1/contacts/update"),
            ("POST", "/api/v2/batch"),
        ):
            answer = exchange(
                f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Content-Length: {len(binary)}\r\n\r\n".encode()
                + binary
            )
            assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 401"), (path, answer[:200])
        # A body shorter than its Content-Length, then a reset.
        exchange(b"POST /v1/track HTTP/1.1\r\nContent-Length: 900\r\n\r\n{", read=False, reset=True)
        # A reset in the middle of the request line, and one right after a whole request.
        exchange(b"GET /_sandbox/sta", read=False, reset=True)
        exchange(b"GET /_sandbox/state HTTP/1.1\r\nHost: x\r\n\r\n", read=False, reset=True)
        # A client that leaves during a huge answer and one that leaves during a trickle.
        faults = {"huge_rate": 1, "huge_bytes": 300_000_000}
        HTTP.post(url + "/_sandbox/faults", json=faults, timeout=5)
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(raw_request_to(track("m-gone")))
            sock.recv(1024)
        HTTP.post(url + "/_sandbox/faults", json={"trickle_rate": 1, "trickle_ms": 20}, timeout=5)
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(raw_request_to(track("m-gone-2")))
            sock.recv(1024)
        time.sleep(0.5)  # the trickle writes into the closed connection
        HTTP.post(url + "/_sandbox/faults", json={}, timeout=5)
        assert HTTP.get(url + "/_sandbox/state", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in stderr, stderr
    assert "Error" not in stderr, stderr


def raw_request_to(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {SEGMENT_AUTH['Authorization']}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


# --- sandbox show -------------------------------------------------------------------------


def fill(server: SandboxServer) -> None:
    post_track(server, "m-1")
    post_track(server, "m-1")
    post_track(server, "m-\x1b[31mred\r\u202e")
    post_track(server, "m-\x1b[31mred\r\u202e")
    HTTP.post(
        server.url + "/v1/track",
        json={**track("m-2"), "writeKey": segment.WRITE_KEY},
        headers=SEGMENT_AUTH,
        timeout=5,
    )
    HTTP.put(
        server.url + "/api/v1/contacts/update",
        json={"email": "ann@example.com"},
        headers=LOOPS_AUTH,
        timeout=5,
    )


def test_sandbox_show_text_lists_duplicates_first_and_escapes_control_characters(
    sandbox: SandboxServer,
) -> None:
    fill(sandbox)
    result = run_cli(["sandbox", "show", "--url", sandbox.url])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not any(char in text for char in "\x1b\r\x07\u202e")
    lines = text.splitlines()
    assert lines[0] == "loops: 1 write(s), 1 key(s) received, 0 received more than once"
    segment_at = lines.index("segment: 5 write(s), 3 key(s) received, 2 received more than once")
    assert lines[segment_at + 1 : segment_at + 4] == [
        "  received more than once:",
        "    2×  m-\\x1b[31mred\\r\\u202e",  # equal counts: by key
        "    2×  m-1",
    ]
    assert lines[segment_at + 4] == "  writes:"
    assert lines[segment_at + 5].startswith('    POST /v1/track  {"userId":"u-1"')
    assert segment.WRITE_KEY not in text and '"writeKey":"***"' in text


def test_sandbox_show_json_and_last(sandbox: SandboxServer) -> None:
    fill(sandbox)
    result = run_cli(["sandbox", "show", "--url", sandbox.url, "--json", "--last", "1"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)["providers"]
    assert set(view) == {"loops", "segment"}
    assert view["segment"]["duplicates"] == [
        {"key": "m-\x1b[31mred\r\u202e", "count": 2},
        {"key": "m-1", "count": 2},
    ]
    assert view["segment"]["writes"] == 5 and len(view["segment"]["shown"]) == 1
    assert view["segment"]["receipts"]["m-2"] == 1
    assert segment.WRITE_KEY not in result.stdout


def test_sandbox_show_of_an_empty_sandbox_and_of_no_sandbox(sandbox: SandboxServer) -> None:
    result = run_cli(["sandbox", "show", "--url", sandbox.url])
    assert (result.exit_code, result.stdout) == (0, "the sandbox has received nothing yet\n")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = run_cli(["sandbox", "show", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cdpctl: cannot read the sandbox at http://127.0.0.1:{port}")


def test_the_sandbox_refuses_a_bad_fault_option_at_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cdpctl", "sandbox", "--port", "0", "--token", "odd"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("cdpctl: invalid fault setting: token must be one of")


def test_start_options_set_the_new_faults() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdpctl",
            "sandbox",
            "--port",
            "0",
            "--late-rate",
            "1",
            "--late-ms",
            "150",
            "--only-path",
            "/v1/track",
            "--limit",
            "1",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        faults = HTTP.get(url + "/_sandbox/state", timeout=5).json()["faults"]
        assert (faults["late_rate"], faults["late_ms"]) == (1, 150)
        assert (faults["only_path"], faults["limit"]) == ("/v1/track", 1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_concurrent_late_answers_do_not_block_each_other(sandbox: SandboxServer) -> None:
    set_faults(sandbox, late_rate=1, late_ms=300)
    started = time.monotonic()
    threads = [threading.Thread(target=post_track, args=(sandbox, f"c-{n}")) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert time.monotonic() - started < 1.2  # waited side by side, not one after another
    assert receipts(sandbox)["segment"] == {f"c-{n}": 1 for n in range(5)}


def test_receipt_keys_of_entities_contacts_events_and_keyless_sends(
    sandbox: SandboxServer,
) -> None:
    url = sandbox.url
    identify = {
        "type": "person",
        "action": "identify",
        "identifiers": {"email": "ann@example.com"},
        "attributes": {"plan": "gold"},
    }
    event = {"type": "person", "action": "event", "identifiers": {"id": "u-1"}, "name": "Paid"}
    for entity in (identify, identify, event):
        assert HTTP.post(url + "/api/v2/entity", json=entity, headers=CIO_AUTH).status_code == 200
    metric = {"delivery_id": "dlv-1", "metric": "opened"}
    assert HTTP.post(url + "/api/v1/metrics", json=metric, headers=CIO_AUTH).status_code == 200
    dotdigital_auth = {
        "Authorization": "Basic "
        + base64.b64encode(f"{dotdigital.USERNAME}:{dotdigital.PASSWORD}".encode()).decode()
    }
    patch = {"identifiers": {"email": "bo@example.com"}}
    answer = HTTP.patch(
        url + "/contacts/v3/email/bo@example.com", json=patch, headers=dotdigital_auth
    )
    assert answer.status_code == 200, answer.text
    sms = {"message": "Your order shipped"}
    answer = HTTP.post(
        url + "/v2/sms-messages/send-to/447700900123", json=sms, headers=dotdigital_auth
    )
    assert answer.status_code == 204, answer.text
    token = token_answer(sandbox).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api_event = {"ContactKey": "c-1", "EventDefinitionKey": "APIEvent-1", "Data": {"n": 1}}
    assert (
        HTTP.post(url + "/interaction/v1/events", json=api_event, headers=bearer).status_code == 201
    )
    rows = {"items": [{"Order Id": "o-1", "Total": 5}, {"Total": 6}]}  # the second has no key
    answer = HTTP.put(
        url + "/data/v1/async/dataextensions/key:async_orders/rows", json=rows, headers=bearer
    )
    assert answer.status_code == 202, answer.text
    got = receipts(sandbox)
    cio = dict(got["customerio"])
    assert cio.pop("identify email:ann@example.com") == 2  # an upsert repeated: visible, harmless
    assert cio.pop("metric dlv-1 opened") == 1
    ((key, count),) = cio.items()
    assert key.startswith("event id:u-1 Paid #") and count == 1
    patched, texted = got["dotdigital"]
    assert patched == "contacts/patch email=bo@example.com"
    assert texted.startswith("sms 447700900123 #")
    sfmc_keys = list(got["sfmc"])
    assert sfmc_keys[0].startswith("events APIEvent-1 c-1 #")
    assert sfmc_keys[1:] == ['rows key:async_orders [["order id","o-1"]]']
