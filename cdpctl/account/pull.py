"""`account pull`: read the account a mapping file depends on and write its snapshot.

Credentials come only from the mapping file's settings (`${ENV}` references). Reads are
bounded: at most `MAX_RESPONSE_BYTES` per answer, `TIMEOUT` seconds per request, a few
attempts on a throttle or a server error. What is written holds no credential: every value
of the snapshot passes through the destination's redactor first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cdpctl.account import readers
from cdpctl.account.references import uses
from cdpctl.account.snapshot import Snapshot, SnapshotError, from_dict, snapshot_path
from cdpctl.providers.base import ActionContext, ActionFailed, Reply, Request, is_retryable

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
TIMEOUT = 30.0
MAX_ATTEMPTS = 4
MAX_WAIT = 30.0  # the longest Retry-After honoured, in seconds


class PullError(Exception):
    """Why the account could not be read; one line, naming the file, without secrets.
    `usage` when nothing was asked of the provider: the file, its settings or the options
    are at fault (exit 2), not the account's answer (exit 1)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Pulled:
    mapping: str
    written: Path
    snapshot: Snapshot
    requests: int


Send = Callable[[Request], Reply]


def pull(
    mapping_path: str,
    *,
    endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    output: Path | None = None,
    now: datetime | None = None,
) -> Pulled:
    """Read the account for one mapping file and write the snapshot (beside it by default)."""
    snapshot, count = read_account(mapping_path, endpoint=endpoint, environ=environ, now=now)
    written = output or snapshot_path(mapping_path)
    _write(written, snapshot.dumps())
    return Pulled(mapping_path, written, snapshot, count)


def read_account(
    mapping_path: str,
    *,
    endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> tuple[Snapshot, int]:
    """The account as it is now, for one mapping file (redacted), and the requests it took."""
    from cdpctl.lint import check_document
    from cdpctl.loading import LoadError, load_yaml
    from cdpctl.mappingfile import read_mapping_file
    from cdpctl.providers import get_provider
    from cdpctl.providers.base import endpoint_problem
    from cdpctl.secrets import Redactor, check_sendable, resolve_settings

    if not os.path.isfile(mapping_path):
        raise PullError(f"{mapping_path}: no such mapping file", usage=True)
    try:
        document = load_yaml(mapping_path)
    except LoadError as error:
        d = error.diagnostic
        raise PullError(f"{d.location()}: {d.code} {d.full_message()}", usage=True) from None
    errors = [d for d in check_document(document) if d.is_error]
    if errors:
        first = errors[0]
        raise PullError(
            f"{first.location()}: {first.code} {first.full_message()} (the file is not valid; "
            "see `cdpctl validate`)",
            usage=True,
        )
    file = read_mapping_file(document)
    provider = get_provider(file.provider)
    assert provider is not None  # check_document reports an unknown provider
    reader = readers.READERS.get(provider.name)
    if reader is None:
        raise PullError(
            f"{mapping_path}: {provider.title} exposes no account schema cdpctl can read "
            "(docs/account.md says what is checked instead)",
            usage=True,
        )
    settings = resolve_settings(provider, file.settings, os.environ if environ is None else environ)
    if settings.missing:
        raise PullError(
            f"{mapping_path}: cannot read the account: environment variable(s) not set: "
            + ", ".join(settings.missing),
            usage=True,
        )
    problems = check_sendable(settings)
    if problems:
        raise PullError(
            f"{mapping_path}: cannot read the account: " + "; ".join(problems), usage=True
        )
    target = endpoint or file.endpoint
    if target is not None and (problem := endpoint_problem(target)) is not None:
        raise PullError(
            f"{'--endpoint' if endpoint else mapping_path + ': endpoint'} {problem}", usage=True
        )
    redactor = Redactor()
    redactor.extend(settings.secrets)
    for value in provider.derived_secrets(settings.values):
        redactor.add(value)
    ctx = ActionContext(settings=settings.values, dry_run=False)
    moment = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    plan = reader(settings.values, uses(document.data, provider.name), ctx, moment)
    import httpx

    count = 0
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:

            def send(request: Request) -> Reply:
                nonlocal count
                count += 1
                return _send(client, request, target)

            snapshot = drive(plan, send)
    except (readers.ReadError, ActionFailed, PullError) as error:
        redactor.extend((s, "<redacted>") for s in ctx.secrets_found)
        raise PullError(f"{mapping_path}: {redactor.text(_reason(error))}") from None
    for secret in ctx.secrets_found:
        redactor.add(secret)
    try:
        return from_dict(redactor.value(snapshot.as_dict()), mapping_path), count
    except SnapshotError as error:  # e.g. more entries than a snapshot may hold
        raise PullError(f"the account is too large to snapshot: {error}") from None


def _reason(error: Exception) -> str:
    return error.reason if isinstance(error, ActionFailed) else str(error)


def drive(plan: readers.Read, send: Send) -> Snapshot:
    """Run a read plan: send each request it yields and hand it the reply."""
    try:
        request = next(plan)
        while True:
            request = plan.send(send(request))
    except StopIteration as stop:
        result: Snapshot = stop.value
        return result


def _send(client: Any, request: Request, endpoint: str | None) -> Reply:
    """One request with bounded attempts, a bounded answer and a timeout."""
    import httpx

    target = request.with_base(endpoint) if endpoint else request
    body = target.body() or None
    where = f"{target.method} {_host(target.url)}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            reply = _exchange(client, target, body)
        except httpx.HTTPError as error:
            if attempt == MAX_ATTEMPTS:
                raise PullError(
                    f"no answer from {where} after {attempt} attempts: {type(error).__name__}"
                ) from None
            time.sleep(0.5 * 2 ** (attempt - 1))
            continue
        if reply.ok or not is_retryable(reply.status) or attempt == MAX_ATTEMPTS:
            return reply
        time.sleep(_wait(reply, attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _exchange(client: Any, request: Request, body: bytes | None) -> Reply:
    with client.stream(
        request.method, request.url, headers=request.wire_headers(), content=body
    ) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise PullError(_too_large(request))
        chunks = []
        size = 0
        deadline = time.monotonic() + 2 * TIMEOUT  # a whole answer, however slowly it drips
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise PullError(_too_large(request))
            if time.monotonic() > deadline:
                raise PullError(
                    f"the answer to {request.method} {_host(request.url)} took longer than "
                    f"{2 * TIMEOUT:g} s; not read"
                )
            chunks.append(chunk)
        return _reply(response.status_code, b"".join(chunks), response.headers)


def _reply(status: int, content: bytes, headers: Any) -> Reply:
    from cdpctl import jsonwire

    try:
        parsed = jsonwire.loads(content) if content else None
    except (jsonwire.JSONDecodeError, RecursionError):
        parsed = None
    text = content[:4096].decode("utf-8", "replace")
    return Reply(status, parsed, text, {k.lower(): v for k, v in headers.items()})


def _too_large(request: Request) -> str:
    return (
        f"the answer to {request.method} {_host(request.url)} is larger than "
        f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MB; not read"
    )


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _wait(reply: Reply, attempt: int) -> float:
    text = reply.headers.get("retry-after", "")
    if text.isdigit():
        return min(float(text), MAX_WAIT)
    return min(0.5 * 2 ** (attempt - 1), MAX_WAIT)


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all (a temporary file renamed over the old snapshot)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        raise PullError(f"cannot write {path}: {error.strerror or error}", usage=True) from None
