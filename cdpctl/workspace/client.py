"""Sending Public API requests: bounded timeouts, the write limit paced, 429s waited out.

Writes are spaced so that at most `writes_per_minute` go out in any minute (Segment allows 5 to
a destination's subscriptions); an answer's `Retry-After`, `X-RateLimit-Reset` (with
`X-RateLimit-Remaining: 0`) or the body's `msBeforeNext` holds every later write until then
(https://docs.segmentapis.com/tag/Rate-Limits). The clock and the sleep are parameters, so a
test can run the pacing against a fast sandbox limit. The token goes only into the
Authorization header; every message leaving here has been through the redactor.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdpctl import jsonwire
from cdpctl.secrets import Redactor
from cdpctl.workspace.api import ApiRequest

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_WAIT = 300.0  # the longest one wait lasts, whatever an answer asks (then it is retried)
MAX_THROTTLED = 20  # 429 answers to one request before giving up
MAX_READ_ATTEMPTS = 4  # reads retried on 5xx and connection failures


class ApiFailure(Exception):
    """The Public API refused a request, or never answered it; one redacted line.

    `status` is 0 when no answer came: for a write, whether it took effect is unknown."""

    def __init__(self, message: str, status: int, request: ApiRequest) -> None:
        super().__init__(message)
        self.status = status
        self.request = request

    @property
    def ambiguous(self) -> bool:
        """A write that may or may not have been applied (no answer, or a 5xx)."""
        return self.request.write and (self.status == 0 or self.status >= 500)


@dataclass(slots=True)
class Pacer:
    """Spaces writes evenly and holds them after a rate-limit answer."""

    writes_per_minute: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_wait: Callable[[float, str], None] = lambda seconds, why: None
    _next: float = field(default=0.0)
    _why: str = ""

    def before_write(self) -> None:
        delay = self._next - self.clock()
        if delay > 0:
            self.on_wait(delay, self._why or f"{self.writes_per_minute:g} writes a minute")
            self.sleep(delay)
        self._next = self.clock() + 60.0 / self.writes_per_minute
        self._why = ""

    def hold(self, seconds: float, why: str) -> None:
        """Nothing goes out for `seconds` (the API said so)."""
        seconds = min(max(seconds, 0.0), MAX_WAIT)
        if seconds > 0:
            self.on_wait(seconds, why)
            self.sleep(seconds)
        self._next = max(self._next, self.clock())

    def defer(self, seconds: float) -> None:
        """The next write waits at least `seconds` from now (a spent window)."""
        until = self.clock() + min(max(seconds, 0.0), MAX_WAIT)
        if until > self._next:
            self._next = until
            self._why = "the write window is spent (X-RateLimit-Remaining: 0)"


def _seconds_until(value: str, now: float) -> float | None:
    """Whole seconds, or an HTTP/RFC 5322 date, as seconds from now."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() - now


def wait_after(status: int, headers: Any, body: Any) -> float | None:
    """How long the API asks us to wait (429, or a spent window), or None."""
    now = time.time()
    remaining = headers.get("x-ratelimit-remaining")
    waits = []
    if status == 429:
        for name in ("retry-after", "x-ratelimit-reset"):
            found = headers.get(name)
            if found is not None and (seconds := _seconds_until(found, now)) is not None:
                waits.append(seconds)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list):
            for error in errors:
                data = error.get("data") if isinstance(error, dict) else None
                ms = data.get("msBeforeNext") if isinstance(data, dict) else None
                if isinstance(ms, (int, float)) and not isinstance(ms, bool):
                    waits.append(ms / 1000)
        return max(waits, default=1.0)
    if remaining is not None and remaining.strip() == "0":
        reset = headers.get("x-ratelimit-reset")
        if reset is not None and (seconds := _seconds_until(reset, now)) is not None:
            return seconds
    return None


def _reason(body: Any, text: str) -> str:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            if isinstance(message, str):
                return message
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return text.strip()[:200] or "no body"


class Client:
    """Sends ApiRequests with the token; answers the parsed JSON body."""

    def __init__(
        self,
        token: str,
        *,
        writes_per_minute: float,
        redactor: Redactor,
        pacer: Pacer | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> None:
        import httpx

        self.token = token
        self.redactor = redactor
        self.pacer = pacer or Pacer(writes_per_minute)
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT), follow_redirects=False
        )
        self.sent = 0
        self.throttled = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: ApiRequest) -> Any:
        """The answer's JSON body; ApiFailure on a refusal or no answer."""
        import httpx

        throttled = 0
        attempt = 0
        while True:
            attempt += 1
            if request.write:
                self.pacer.before_write()
            headers = {**request.headers(), "Authorization": f"Bearer {self.token}"}
            content = jsonwire.dumps(request.json) if request.json is not None else None
            try:
                response = self.http.request(
                    request.method, request.url, headers=headers, content=content
                )
            except httpx.HTTPError as error:
                if not request.write and attempt < MAX_READ_ATTEMPTS:
                    self.pacer.hold(0.5 * attempt, "the API did not answer")
                    continue
                what = type(error).__name__
                raise ApiFailure(
                    self.redactor.text(f"{request.purpose}: no answer ({what}: {error})"),
                    0,
                    request,
                ) from None
            self.sent += 1
            text = response.text
            try:
                body = jsonwire.loads(response.content) if response.content else None
            except jsonwire.JSONDecodeError:
                body = None
            wait = wait_after(response.status_code, response.headers, body)
            if response.status_code == 429:
                throttled += 1
                self.throttled += 1
                if throttled > MAX_THROTTLED:
                    raise ApiFailure(
                        f"{request.purpose}: still rate limited after {throttled - 1} waits",
                        429,
                        request,
                    )
                self.pacer.hold(wait or 1.0, "Segment answered 429 (rate limited)")
                continue
            if response.status_code >= 500 and not request.write and attempt < MAX_READ_ATTEMPTS:
                self.pacer.hold(0.5 * attempt, f"the API answered {response.status_code}")
                continue
            if response.status_code >= 300:
                reason = self.redactor.text(_reason(body, text))
                raise ApiFailure(
                    f"{request.purpose}: {response.status_code} {reason}",
                    response.status_code,
                    request,
                )
            if wait is not None and request.write:
                self.pacer.defer(wait)
            return body
