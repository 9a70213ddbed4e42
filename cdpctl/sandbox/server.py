"""The sandbox: one real HTTP server on 127.0.0.1 emulating every provider, with faults.

Routes are matched by path (provider paths do not collide), so `--endpoint` can point every
request at this one host. Faults (see `Faults`) are decided before a request is processed.
Those that answer instead of the provider (5xx, 429, a reset) change nothing, so a retry can
never double-count; those that come after processing (late, trickling, huge, reset or cut
answers) do change state, as real providers do, and every write an emulator acknowledges
counts a receipt under the key that identifies the event at the provider
(`GET /_sandbox/receipts`), so a duplicate delivery is visible.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from cdpctl import jsonwire
from cdpctl.sandbox.emulator import Emulator, Route, SandboxRequest, SandboxResponse

MAX_BODY_BYTES = 64 * 1024 * 1024  # above every provider's own request limit
HINT_HEADER = "X-Cdpctl-Sandbox-Hint"

EMULATOR_MODULES = (
    "customerio",
    "dotdigital",
    "loops",
    "segment",
    "segment_public_api",
    "sendgrid",
    "sfmc",
)


def load_emulators(names: Iterable[str] = EMULATOR_MODULES) -> tuple[Emulator, ...]:
    """The emulators whose modules are installed (a test checks that all of them are)."""
    emulators = []
    for name in names:
        module_name = f"cdpctl.sandbox.providers.{name}"
        try:
            emulators.append(import_module(module_name).EMULATOR)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return tuple(emulators)


POST_FAULTS = ("late", "trickle", "huge", "reset_after", "truncate")
"""Faults decided before processing whose request is then processed: the write counts."""
TOKEN_KINDS = ("normal", "non-ascii", "crlf", "empty", "missing", "huge", "not-json")
HUGE_TOKEN_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected misbehaviour; `*_rate` fields are probabilities per request.

    Settable as JSON with `POST /_sandbox/faults` (every field optional; the answer is the
    whole setting) and at start (`cdpctl sandbox --late-rate …`). Two kinds:

    Before processing (the request changes nothing, so a retry can never double-count):
    `latency_ms` (0, delay every answer), `error_rate` (0, answered 503), `throttle_rate` (0,
    answered 429 with `Retry-After: retry_after`, "1" or "http-date"), `reset_rate` (0,
    connection reset without an answer), `rate_limits` (true, each provider's documented
    requests/second, answered 429).

    After processing (the write is recorded as received, and its receipt counted — what real
    providers do, and what makes a duplicate delivery visible):
    - `late_rate` (0) + `late_ms` (12000): the answer comes late_ms after processing;
    - `trickle_rate` (0) + `trickle_ms` (2000): status line and headers at once, then the
      body one byte every trickle_ms;
    - `huge_rate` (0) + `huge_bytes` (800000000): a 200 whose body (JSON, Content-Length set)
      is huge_bytes long, generated in 64 KiB chunks as it is sent (constant memory), stopped
      quietly when the client goes away;
    - `reset_after_rate` (0): the connection is reset with no answer at all (no status line);
    - `truncate_rate` (0): status and headers with the full Content-Length, then only the
      first half of the body (a body-less answer is sent as a 200 with a short JSON body),
      then the connection closes;
    - `partial_rate` (0): in a Customer.io `/api/v2/batch`, the fraction of *valid* items
      refused (not applied, no receipt) with a retryable per-item error in Customer.io's 207
      shape: `{"errors": [{"batch_index": n, "reason": "temporarily_unavailable", "field":
      "", "message": "…retry this item"}]}`. Segment's /v1/batch answers 200 for whole
      batches and SendGrid reports contacts a job could not apply only in the job's status,
      so the sandbox has no per-item answer for them either;
    - `token` ("normal"): what a token endpoint (SFMC `/v2/token`) answers in place of a good
      `access_token`: "non-ascii" (the token holds "€"), "crlf" (it holds
      "\\r\\nX-Injected: 1"), "empty" (""), "missing" (no `access_token` key), "huge" (a
      1,000,000-byte token), "not-json" (a 200 labelled application/json whose body is HTML).

    At most one post-processing fault per request: the five `*_rate` above (late to truncate)
    share one roll, so their sum may not exceed 1.

    Scope: `only_path` (null) limits every fault, old and new, to requests whose path contains
    it (e.g. "/v2/token" or "/v1/batch"); `limit` (null) applies the faults only to the first
    `limit` such requests after the faults are set, then stops (fail once: rate 1, limit 1).
    Provider rate limits are emulation, not faults: they stay on everywhere.

    `seed` (null): every probability above is drawn from one random generator seeded with it,
    in the order requests arrive, so a schedule is reproducible."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # answered 503
    throttle_rate: float = 0.0  # answered 429 with Retry-After
    reset_rate: float = 0.0  # connection closed without an answer
    retry_after: str = "1"  # seconds, or "http-date" for an HTTP-date one second ahead
    rate_limits: bool = True  # enforce each provider's documented requests/second
    seed: int | None = None
    late_rate: float = 0.0
    late_ms: float = 12_000.0
    trickle_rate: float = 0.0
    trickle_ms: float = 2_000.0
    huge_rate: float = 0.0
    huge_bytes: int = 800_000_000
    reset_after_rate: float = 0.0
    truncate_rate: float = 0.0
    partial_rate: float = 0.0
    token: str = "normal"
    only_path: str | None = None
    limit: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Faults:
        """Faults from a JSON body; ValueError naming the field and what it takes."""
        if not isinstance(data, dict):
            raise ValueError('fault settings must be a JSON object, e.g. {"error_rate": 0.1}')
        known = set(cls.__dataclass_fields__)
        unknown = [name for name in data if name not in known]
        if unknown:
            names = ", ".join(sorted(str(name) for name in unknown))
            raise ValueError(f"unknown fault setting(s): {names}")
        for name in _RATES:
            if name in data and not _number_between(data[name], 0, 1):
                raise ValueError(f"{name} must be a number from 0 to 1 (got {data[name]!r})")
        for name, high in (("latency_ms", 60_000), ("late_ms", 600_000), ("trickle_ms", 60_000)):
            if name in data and not _number_between(data[name], 0, high):
                raise ValueError(f"{name} must be a number from 0 to {high} (got {data[name]!r})")
        if "huge_bytes" in data and not _whole_between(data["huge_bytes"], 0, 2**40):
            raise ValueError(
                f"huge_bytes must be a whole number of bytes from 0 to {2**40} "
                f"(got {data['huge_bytes']!r})"
            )
        post = sum(data.get(f"{name}_rate", 0) for name in POST_FAULTS)
        if post > 1:
            raise ValueError(
                "late_rate, trickle_rate, huge_rate, reset_after_rate and truncate_rate share "
                f"one roll: they must add up to at most 1 (got {post:g})"
            )
        retry_after = data.get("retry_after", "1")
        if not isinstance(retry_after, str) or not (
            retry_after == "http-date" or (retry_after.isascii() and retry_after.isdigit())
        ):
            raise ValueError(
                f'retry_after must be whole seconds as text, or "http-date" (got {retry_after!r})'
            )
        if not isinstance(data.get("rate_limits", True), bool):
            raise ValueError(f"rate_limits must be true or false (got {data['rate_limits']!r})")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be a whole number or null (got {seed!r})")
        if data.get("token", "normal") not in TOKEN_KINDS:
            kinds = ", ".join(f'"{kind}"' for kind in TOKEN_KINDS)
            raise ValueError(f"token must be one of {kinds} (got {data['token']!r})")
        only_path = data.get("only_path")
        if only_path is not None and (not isinstance(only_path, str) or not only_path):
            raise ValueError(f"only_path must be non-empty text or null (got {only_path!r})")
        limit = data.get("limit")
        if limit is not None and not _whole_between(limit, 0, 2**63):
            raise ValueError(f"limit must be a whole number from 0, or null (got {limit!r})")
        return replace(cls(), **data)

    def post_rates(self) -> tuple[tuple[str, float], ...]:
        return tuple((name, getattr(self, f"{name}_rate")) for name in POST_FAULTS)


_RATES = (
    "error_rate",
    "throttle_rate",
    "reset_rate",
    *(f"{name}_rate" for name in POST_FAULTS),
    "partial_rate",
)


def _number_between(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _whole_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 if a request may pass now, else the seconds until one may."""
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(slots=True)
class SandboxState:
    emulators: tuple[Emulator, ...]
    faults: Faults = field(default_factory=Faults)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts: dict[str, dict[str, int]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    random: random.Random = field(default_factory=random.Random)
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    faulted: int = 0  # requests the faults applied to since they were set (for `limit`)

    def reset(self) -> None:
        self.providers = {e.name: e.initial_state() for e in self.emulators}
        for emulator in self.emulators:
            self.providers[emulator.name].setdefault("received", [])
        self.receipts = {e.name: {} for e in self.emulators}
        self.stats = {
            "requests": 0,
            "acknowledged": 0,
            "errors_injected": 0,
            "throttled": 0,
            "resets": 0,
            "rate_limited": 0,
            "rejected": 0,
            "late": 0,
            "trickled": 0,
            "huge": 0,
            "resets_after": 0,
            "truncated": 0,
            "partial_refused": 0,
            "odd_tokens": 0,
        }
        self.buckets = {}

    def snapshot(self) -> dict[str, Any]:
        return {
            "providers": self.providers,
            "receipts": self.receipts,
            "stats": self.stats,
            "faults": asdict(self.faults),
        }

    def applies(self, faults: Faults, path: str) -> bool:
        """Whether the faults apply to a request for `path` (under the lock: it counts)."""
        if faults.only_path is not None and faults.only_path not in path:
            return False
        if faults.limit is not None:
            if self.faulted >= faults.limit:
                return False
            self.faulted += 1
        return True

    def count_receipts(self, provider: str, keys: Iterable[str]) -> None:
        counts = self.receipts.setdefault(provider, {})
        for key in keys:
            counts[key] = counts.get(key, 0) + 1


def _compile_routes(emulators: tuple[Emulator, ...]) -> list[tuple[Emulator, Route, Any]]:
    table = []
    for emulator in emulators:
        for route in emulator.routes:
            table.append((emulator, route, route.endpoint.regex()))
    return table


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the listen backlog: bursts of connections wait, never reset

    def __init__(
        self,
        port: int = 0,
        *,
        faults: Faults | None = None,
        state_file: Path | None = None,
        emulators: tuple[Emulator, ...] | None = None,
        host: str = "127.0.0.1",
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.log = log
        #: the latest serving errors, one line each (what `log` is told, when there is one)
        self.errors: deque[str] = deque(maxlen=100)
        self.state = SandboxState(emulators or load_emulators())
        self.state.reset()
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            saved = jsonwire.read(state_file.read_bytes(), str(state_file))
            providers = saved.get("providers", {}) if isinstance(saved, dict) else None
            receipts = saved.get("receipts", {}) if isinstance(saved, dict) else None
            if not isinstance(providers, dict) or not isinstance(receipts, dict):
                raise jsonwire.JSONInputError(
                    str(state_file), 1, 1, 'not a sandbox state file (no "providers" object)'
                )
            self.state.providers.update(providers)
            self.state.receipts.update(receipts)
        self.set_faults(faults or Faults())
        self.routes = _compile_routes(self.state.emulators)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = cast(tuple[str, int], self.server_address[:2])  # AF_INET: (str, int)
        return f"http://{host}:{port}"

    def set_faults(self, faults: Faults) -> None:
        with self.state.lock:
            self.state.faults = faults
            self.state.random = random.Random(faults.seed)
            self.state.buckets = {}
            self.state.faulted = 0

    def note(self, line: str) -> None:
        """Tell whoever runs the sandbox (the `cdpctl sandbox` terminal) about a request."""
        if self.log is not None:
            self.log(line)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is nobody's error; anything else is one line, never a
        traceback (the standard library prints one)."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        line = f"sandbox: error serving {client_address}: {type(error).__name__}: {error}"
        self.errors.append(line)
        self.note(line)

    def save(self) -> None:
        if self.state_file is not None:
            with self.state.lock:
                self.state_file.write_bytes(
                    jsonwire.dumps(
                        {"providers": self.state.providers, "receipts": self.state.receipts}
                    )
                )

    def serve_forever(self, poll_interval: float = 0.01) -> None:
        """Serve until `shutdown()`, which then returns within milliseconds (the standard
        library polls every 0.5 s)."""
        super().serve_forever(poll_interval)

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="cdpctl-sandbox", daemon=True)
        thread.start()
        return thread

    def route(self, method: str, path: str) -> tuple[Emulator, Route, dict[str, str]] | None:
        for emulator, route, regex in self.routes:
            if route.endpoint.method == method:
                match = regex.match(path)
                if match:
                    return emulator, route, match.groupdict()
        return None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_CHUNK = 64 * 1024
_FILLER = b"x" * _CHUNK
_HUGE_HEAD = b'{"sandbox":"huge answer","padding":"'
_HUGE_TAIL = b'"}'
_STATS = {
    "late": "late",
    "trickle": "trickled",
    "huge": "huge",
    "reset_after": "resets_after",
    "truncate": "truncated",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        text = self.headers.get("Content-Length") or "0"
        if not (text.isascii() and text.isdigit()):
            raise _BadRequest(400, f"Content-Length must be a whole number of bytes (got {text!r})")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _BadRequest(400, "the request body ended before its Content-Length")
        return body

    def _write(self, data: bytes | memoryview) -> bool:
        """Write to the client; False (and the connection closes) when it went away."""
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
            return False
        return True

    def _head(self, response: SandboxResponse, length: int) -> bool:
        """The status line and headers, with this Content-Length; False if the client left."""
        try:
            self.send_response(response.status)
            names = {name.lower() for name, _ in response.headers}
            for name, value in response.headers:
                self.send_header(name, value)
            if "content-type" not in names and length:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(length))
            self.end_headers()
        except OSError:
            self.close_connection = True
            return False
        return True

    def _send(self, response: SandboxResponse) -> None:
        payload = response.encoded()
        if self._head(response, len(payload)):
            self._write(payload)

    def _with_hint(self, emulator: Emulator, response: SandboxResponse) -> SandboxResponse:
        """The provider's own refusal, plus which credentials the sandbox expects: their names
        in a response header (the client's output shows it, so no values there) and their
        values in the sandbox's own log."""
        accepted = ", ".join(f"{key}={value}" for key, value in emulator.credentials.items())
        self.server.note(
            f"{response.status} for {self.command} {self.path} — {emulator.name}: the sandbox "
            f"accepts {accepted}"
        )
        names = ", ".join(emulator.credentials)
        hint = (
            f"{emulator.name}: wrong {names} for the sandbox; it printed the values it accepts "
            "when it started"
        )
        return replace(response, headers=(*response.headers, (HINT_HEADER, hint)))

    def _reset(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BadRequest as error:
            self.close_connection = True  # the body's end is unknown: the stream is unusable
            self._send(SandboxResponse(error.status, {"error": error.message}))
            return
        if parts.path.startswith("/_sandbox/"):
            self._send(self._control(parts.path, body))
            return
        state = self.server.state
        found = self.server.route(self.command, parts.path)
        if found is None:
            self._send(
                SandboxResponse(404, {"error": f"no sandbox route for {self.command} {parts.path}"})
            )
            return
        emulator, route, params = found
        request = SandboxRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            params=params,
        )
        with state.lock:
            state.stats["requests"] += 1
            faults = state.faults
            active = state.applies(faults, parts.path)
        if active and faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        post: str | None = None
        with state.lock:
            injected = self._inject(emulator, faults, active)
            if injected == "reset":
                state.stats["resets"] += 1
            elif injected is None:
                post = self._post_fault(faults) if active else None
                response = self._process(emulator, route, request, faults if active else None)
        if injected == "reset" or (injected is None and response.lost):
            self._reset()
        elif isinstance(injected, SandboxResponse):
            self._send(injected)
        elif post == "late":
            time.sleep(faults.late_ms / 1000)
            self._send(response)
        elif post == "trickle":
            self._trickle(response, faults.trickle_ms / 1000)
        elif post == "huge":
            self._huge(faults.huge_bytes)
        elif post == "reset_after":
            self._reset()
        elif post == "truncate":
            self._truncate(response)
        else:
            self._send(response)

    def _process(
        self, emulator: Emulator, route: Route, request: SandboxRequest, faults: Faults | None
    ) -> SandboxResponse:
        """Authenticate and run the route's handler (under the state lock); record what the
        provider acknowledged and count its receipts."""
        state = self.server.state
        refusal = emulator.authenticate(request)
        if refusal is not None:
            state.stats["rejected"] += 1
            return self._with_hint(emulator, refusal)
        if faults is not None and faults.partial_rate:
            rate, roll = faults.partial_rate, state.random.random
            request = replace(request, fail_item=lambda: roll() < rate)
        try:
            response = route.handler(request, state.providers[emulator.name])
        except Exception as error:  # a sandbox bug answers 500 with one log line
            line = f"sandbox: {emulator.name} failed on {request.method} {request.path}: {error!r}"
            self.server.note(line)
            return SandboxResponse(500, {"error": line})
        if response.status < 300 and route.acknowledges:
            state.stats["acknowledged"] += 1
            state.providers[emulator.name]["received"].append(
                {
                    "method": request.method,
                    "path": request.path,
                    "body": request.json(),
                    "at": time.time(),
                }
            )
            keys = list(route.receipts(request, response, state.providers[emulator.name]))
            state.count_receipts(emulator.name, keys)
            if response.status == 207:
                state.stats["partial_refused"] += _refused_items(response)
        elif response.status >= 400:
            state.stats["rejected"] += 1
        if route.issues_token and faults is not None and faults.token != "normal":
            state.stats["odd_tokens"] += 1
            response = odd_token(response, faults.token)
        return response

    def _post_fault(self, faults: Faults) -> str | None:
        """The post-processing fault for this request (one roll, under the lock), or None."""
        rates = faults.post_rates()
        if not any(rate for _, rate in rates):
            return None  # no roll: seeded schedules of the older faults stay as they were
        roll = self.server.state.random.random()
        for name, rate in rates:
            if roll < rate:
                self.server.state.stats[_STATS[name]] += 1
                return name
            roll -= rate
        return None

    def _trickle(self, response: SandboxResponse, pause: float) -> None:
        payload = response.encoded()
        if not self._head(response, len(payload)):
            return
        for at in range(len(payload)):
            time.sleep(pause)
            if not self._write(payload[at : at + 1]):
                return

    def _huge(self, size: int) -> None:
        """A 200 of `size` bytes, generated chunk by chunk: memory stays flat at any size."""
        head, tail = (_HUGE_HEAD, _HUGE_TAIL) if size >= len(_HUGE_HEAD) + 2 else (b"", b"")
        if not self._head(SandboxResponse(200), size):
            return
        if head and not self._write(head):
            return
        left = size - len(head) - len(tail)
        view = memoryview(_FILLER)
        while left > 0:
            step = min(left, _CHUNK)
            if not self._write(view[:step]):
                return
            left -= step
        if tail:
            self._write(tail)

    def _truncate(self, response: SandboxResponse) -> None:
        payload = response.encoded()
        if not payload or response.status in (204, 304):
            response, payload = SandboxResponse(200), b'{"sandbox":"truncated answer"}'
        self.close_connection = True
        if self._head(response, len(payload)):
            self._write(payload[: len(payload) // 2])

    def _inject(
        self, emulator: Emulator, faults: Faults, active: bool
    ) -> SandboxResponse | str | None:
        """A fault decided under the state lock, or None to process the request."""
        state = self.server.state
        if active:
            roll = state.random.random()
            if roll < faults.reset_rate:
                return "reset"
            roll -= faults.reset_rate
            if roll < faults.error_rate:
                state.stats["errors_injected"] += 1
                return SandboxResponse(503, {"error": "sandbox: injected server error"})
            roll -= faults.error_rate
            if roll < faults.throttle_rate:
                state.stats["throttled"] += 1
                return SandboxResponse(
                    429,
                    {"error": "sandbox: injected throttle"},
                    (("Retry-After", _retry_after(faults.retry_after)),),
                )
        if faults.rate_limits and emulator.requests_per_second:
            now = time.monotonic()
            bucket = state.buckets.get(emulator.name)
            if bucket is None:
                rate = emulator.requests_per_second
                bucket = state.buckets[emulator.name] = _Bucket(rate, rate, now)
            wait = bucket.take(now)
            if wait:
                state.stats["rate_limited"] += 1
                return SandboxResponse(
                    429,
                    {
                        "error": f"sandbox: {emulator.name} allows "
                        f"{emulator.requests_per_second:g} "
                        "requests/second"
                    },
                    (("Retry-After", str(max(1, round(wait)))),),
                )
        return None

    def _control(self, path: str, body: bytes) -> SandboxResponse:
        state = self.server.state
        if path == "/_sandbox/state" and self.command == "GET":
            with state.lock:
                return SandboxResponse(200, state.snapshot())
        if path == "/_sandbox/receipts" and self.command == "GET":
            with state.lock:
                return SandboxResponse(200, state.receipts)
        if path == "/_sandbox/reset" and self.command == "POST":
            with state.lock:
                state.reset()
            self.server.save()
            return SandboxResponse(200, {"reset": True})
        if path == "/_sandbox/faults" and self.command == "POST":
            try:
                faults = Faults.from_dict(jsonwire.loads(body or b"{}"))
            except (ValueError, TypeError, jsonwire.JSONDecodeError) as error:
                return SandboxResponse(400, {"error": str(error)})
            self.server.set_faults(faults)
            return SandboxResponse(200, asdict(faults))
        return SandboxResponse(404, {"error": f"unknown sandbox control {self.command} {path}"})


def _refused_items(response: SandboxResponse) -> int:
    errors = response.body.get("errors") if isinstance(response.body, dict) else None
    return len(errors) if isinstance(errors, list) else 0


def odd_token(response: SandboxResponse, kind: str) -> SandboxResponse:
    """A token endpoint's good answer, made odd the way `kind` (Faults.token) says."""
    body = response.body
    if response.status != 200 or not isinstance(body, dict) or "access_token" not in body:
        return response
    if kind == "not-json":
        html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return SandboxResponse(200, html, (("Content-Type", "application/json"),))
    body = dict(body)
    token = str(body["access_token"])
    if kind == "missing":
        del body["access_token"]
    elif kind == "empty":
        body["access_token"] = ""
    elif kind == "non-ascii":
        body["access_token"] = token + "€"
    elif kind == "crlf":
        body["access_token"] = token + "\r\nX-Injected: 1"
    elif kind == "huge":
        body["access_token"] = (token + ".").ljust(HUGE_TOKEN_BYTES, "A")
    return replace(response, body=body)


def _retry_after(setting: str) -> str:
    if setting == "http-date":
        return email.utils.formatdate(time.time() + 1, usegmt=True)
    return setting
