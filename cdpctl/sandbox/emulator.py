"""What a provider emulator declares: routes, an auth check, a rate limit, and its state.

One module per provider under `cdpctl.sandbox.providers` defines `EMULATOR`. Handlers are pure
functions of (request, state) → response; the server owns threads, locking, faults and I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdpctl import jsonwire
from cdpctl.providers.base import Endpoint


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)  # from the route pattern

    def json(self) -> Any:
        """The parsed JSON body, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return jsonwire.loads(self.body)
        except jsonwire.JSONDecodeError:
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class SandboxResponse:
    status: int
    body: Any = None  # JSON-serialisable, or bytes for a raw body
    headers: tuple[tuple[str, str], ...] = ()
    # Processed, but the answer is lost: the server resets the connection instead (a write
    # whose outcome the client cannot know).
    lost: bool = False

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return jsonwire.dumps(self.body)


def json_response(status: int, body: Any, *headers: tuple[str, str]) -> SandboxResponse:
    return SandboxResponse(status, body, headers)


Handler = Callable[[SandboxRequest, dict[str, Any]], SandboxResponse]


@dataclass(frozen=True, slots=True)
class Route:
    """A provider endpoint the sandbox answers, with its hand-written behaviour."""

    endpoint: Endpoint
    handler: Handler
    acknowledges: bool = True  # counts as an accepted delivery when it answers 2xx


@dataclass(frozen=True, slots=True)
class Emulator:
    """A provider's emulation: `authenticate` returns None or the provider's rejection."""

    name: str
    routes: tuple[Route, ...]
    authenticate: Callable[[SandboxRequest], SandboxResponse | None]
    requests_per_second: float
    initial_state: Callable[[], dict[str, Any]] = dict
    credentials: Mapping[str, str] = field(default_factory=dict)  # what the sandbox accepts
