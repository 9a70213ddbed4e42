"""The headers a request shows (test-event, recordings) are the headers on the wire: the
provider's own, then `User-Agent: cdpctl/<version>` and `Accept: */*` (docs/fidelity.md), not
the HTTP client's defaults. Checked with a plain HTTP server on 127.0.0.1 that keeps what it
receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from helpers import live_run

from cdpctl import __version__
from cdpctl.providers.base import Request
from cdpctl.requestview import golden_requests, request_view
from cdpctl.secrets import Redactor


class _Keeper(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(dict(self.headers.items()))
        body = b'{"success": true, "id": "c-1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Keeper.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Keeper)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_the_wire_carries_the_headers_the_view_shows(server: ThreadingHTTPServer) -> None:
    payload = {"email": "jane@example.com", "userId": "u-1"}
    exchanges, _ = live_run(
        "loops",
        "createOrUpdateContact",
        payload,
        {"apiKey": "loops-key-for-the-wire-test"},
        f"http://127.0.0.1:{server.server_address[1]}",
    )
    (received,) = _Keeper.received
    (exchange,) = exchanges
    shown = request_view(exchange.request, Redactor())["headers"]
    assert shown["User-Agent"] == received["User-Agent"] == f"cdpctl/{__version__}"
    assert shown["Accept"] == received["Accept"] == "*/*"
    for name, value in shown.items():
        assert received[name] == value


def test_a_provider_header_wins_over_the_runtime_default() -> None:
    request = Request("GET", "https://example.com/", (("Accept", "application/json"),))
    assert request.wire_headers() == {
        "Accept": "application/json",
        "User-Agent": f"cdpctl/{__version__}",
    }


def test_golden_files_leave_the_versioned_user_agent_out() -> None:
    request = Request("GET", "https://example.com/")
    (golden,) = golden_requests([("sub", [request])], Redactor())
    assert golden["headers"] == {"Accept": "*/*"}
