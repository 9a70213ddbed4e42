"""The sandbox: one real HTTP server on 127.0.0.1 emulating every provider, with faults.

Routes are matched by path (provider paths do not collide), so `--endpoint` can point every
request at this one host. Faults are decided *before* a request is processed: a request that
gets a 5xx, a 429 or a reset changed nothing, so a retry can never double-count.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import socket
import threading
import time
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


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected misbehaviour; fractions are probabilities per request."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # answered 503
    throttle_rate: float = 0.0  # answered 429 with Retry-After
    reset_rate: float = 0.0  # connection closed without an answer
    retry_after: str = "1"  # seconds, or "http-date" for an HTTP-date one second ahead
    rate_limits: bool = True  # enforce each provider's documented requests/second
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Faults:
        """Faults from a JSON body; ValueError naming the field and what it takes."""
        if not isinstance(data, dict):
            raise ValueError('fault settings must be a JSON object, e.g. {"error_rate": 0.1}')
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name in ("error_rate", "throttle_rate", "reset_rate"):
            if name in data and not _number_between(data[name], 0, 1):
                raise ValueError(f"{name} must be a number from 0 to 1 (got {data[name]!r})")
        if "latency_ms" in data and not _number_between(data["latency_ms"], 0, 60_000):
            raise ValueError(
                f"latency_ms must be a number from 0 to 60000 (got {data['latency_ms']!r})"
            )
        retry_after = data.get("retry_after", "1")
        if not isinstance(retry_after, str) or not (
            retry_after == "http-date" or retry_after.isdigit()
        ):
            raise ValueError(
                f'retry_after must be whole seconds as text, or "http-date" (got {retry_after!r})'
            )
        if not isinstance(data.get("rate_limits", True), bool):
            raise ValueError(f"rate_limits must be true or false (got {data['rate_limits']!r})")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be a whole number or null (got {seed!r})")
        return replace(cls(), **data)


def _number_between(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


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
    stats: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    random: random.Random = field(default_factory=random.Random)
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def reset(self) -> None:
        self.providers = {e.name: e.initial_state() for e in self.emulators}
        for emulator in self.emulators:
            self.providers[emulator.name].setdefault("received", [])
        self.stats = {
            "requests": 0,
            "acknowledged": 0,
            "errors_injected": 0,
            "throttled": 0,
            "resets": 0,
            "rate_limited": 0,
            "rejected": 0,
        }
        self.buckets = {}

    def snapshot(self) -> dict[str, Any]:
        return {"providers": self.providers, "stats": self.stats, "faults": asdict(self.faults)}


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
        self.state = SandboxState(emulators or load_emulators())
        self.state.reset()
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            saved = jsonwire.loads(state_file.read_bytes())
            self.state.providers.update(saved.get("providers", {}))
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

    def note(self, line: str) -> None:
        """Tell whoever runs the sandbox (the `cdpctl sandbox` terminal) about a request."""
        if self.log is not None:
            self.log(line)

    def save(self) -> None:
        if self.state_file is not None:
            with self.state.lock:
                self.state_file.write_bytes(jsonwire.dumps({"providers": self.state.providers}))

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
        if not text.isdigit():
            raise _BadRequest(400, f"Content-Length must be a whole number of bytes (got {text!r})")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _send(self, response: SandboxResponse) -> None:
        payload = response.encoded()
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-type" not in names and payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
        faults = state.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        with state.lock:
            state.stats["requests"] += 1
            injected = self._inject(emulator, faults)
            if injected == "reset":
                state.stats["resets"] += 1
            elif injected is None:
                refusal = emulator.authenticate(request)
                if refusal is None:
                    response = route.handler(request, state.providers[emulator.name])
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
                    elif response.status >= 400:
                        state.stats["rejected"] += 1
                else:
                    response = self._with_hint(emulator, refusal)
                    state.stats["rejected"] += 1
        if injected == "reset" or (injected is None and response.lost):
            self._reset()
            return
        if isinstance(injected, SandboxResponse):
            self._send(injected)
            return
        self._send(response)

    def _inject(self, emulator: Emulator, faults: Faults) -> SandboxResponse | str | None:
        """A fault decided under the state lock, or None to process the request."""
        state = self.server.state
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


def _retry_after(setting: str) -> str:
    if setting == "http-date":
        return email.utils.formatdate(time.time() + 1, usegmt=True)
    return setting
