"""What a provider emulator declares: routes, an auth check, a rate limit, its state, and the
receipt keys of the writes it acknowledges.

One module per provider under `cdpctl.sandbox.providers` defines `EMULATOR`. Handlers are pure
functions of (request, state) → response; the server owns threads, locking, faults and I/O.

A receipt key names the event (or the row written) at the provider, so the count per key is
how many times it arrived: a key the provider de-duplicates on where the request carries one
(Segment's `messageId`, a Customer.io event `id`, a Loops `Idempotency-Key`), else the contact
or row written plus the operation (upserts: a repeat is harmless), else, for writes that are
not idempotent and carry no key (an email, an SMS, an event), the operation, its recipient and
a digest of the item's bytes. Each emulator's docstring lists its keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
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
    # Asked once per valid item of a batch that can answer per-item failures: True refuses
    # the item with a retryable error (the server's `partial_rate` fault).
    fail_item: Callable[[], bool] = field(default=lambda: False, compare=False, repr=False)

    def json(self) -> Any:
        """The parsed JSON body, or None when it is empty or not JSON (binary bytes too)."""
        if not self.body:
            return None
        try:
            return jsonwire.loads(self.body)
        except ValueError:  # orjson's JSONDecodeError is one
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


def digest(value: Any) -> str:
    """A short stable digest of bytes or a JSON value, for receipt keys of writes that carry no
    identifier of their own."""
    data = value if isinstance(value, bytes) else jsonwire.dumps(value)
    return hashlib.sha256(data).hexdigest()[:12]


def request_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> Iterable[str]:
    """The default receipt: the method, the path and a digest of the body."""
    return (f"{request.method} {request.path} #{digest(request.body)}",)


# (request, the 2xx answer, the provider's state after the write) → one key per item received
Receipts = Callable[[SandboxRequest, SandboxResponse, dict[str, Any]], Iterable[str]]


def json_response(status: int, body: Any, *headers: tuple[str, str]) -> SandboxResponse:
    return SandboxResponse(status, body, headers)


Handler = Callable[[SandboxRequest, dict[str, Any]], SandboxResponse]


@dataclass(frozen=True, slots=True)
class Route:
    """A provider endpoint the sandbox answers, with its hand-written behaviour."""

    endpoint: Endpoint
    handler: Handler
    acknowledges: bool = True  # counts as an accepted delivery when it answers 2xx
    receipts: Receipts = request_receipts  # keys of what an acknowledged write delivered
    issues_token: bool = False  # an OAuth token endpoint: the `token` fault changes its answer


@dataclass(frozen=True, slots=True)
class Emulator:
    """A provider's emulation: `authenticate` returns None or the provider's rejection."""

    name: str
    routes: tuple[Route, ...]
    authenticate: Callable[[SandboxRequest], SandboxResponse | None]
    requests_per_second: float
    initial_state: Callable[[], dict[str, Any]] = dict
    credentials: Mapping[str, str] = field(default_factory=dict)  # what the sandbox accepts
