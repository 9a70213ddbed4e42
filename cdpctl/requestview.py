"""Requests and exchanges as printable data, secrets redacted: the one place they take shape.

Views (test-event, send, diff), `--record` files and golden files (`send --save-expect`) all
use these values, so a request looks the same wherever it appears.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cdpctl.providers.base import Reply, Request
from cdpctl.secrets import Redactor

if TYPE_CHECKING:
    from cdpctl.delivery.transport import Exchange


def request_view(request: Request, redactor: Redactor) -> dict[str, Any]:
    """`{"method", "url", "headers", "json"}` (or `"form"`/`"body"`) with secrets redacted."""
    view: dict[str, Any] = {
        "method": request.method,
        "url": redactor.text(request.url),
        "headers": {name: redactor.text(value) for name, value in request.wire_headers().items()},
    }
    if request.purpose:
        view["purpose"] = request.purpose
    if request.form is not None:
        view["form"] = {k: redactor.text(v) for k, v in request.form}
        view["json"] = None
    elif request.content is not None:
        view["body"] = redactor.text(request.content.decode("utf-8", "replace"))
        view["json"] = None
    else:
        view["json"] = redactor.value(request.json)
    return view


def body_text(request: Request, redactor: Redactor) -> str:
    """The wire body as text, redacted (for text views and recordings)."""
    return redactor.text(request.body().decode("utf-8", "replace"))


def reply_view(reply: Reply, redactor: Redactor, *, headers: bool) -> dict[str, Any]:
    """A provider's answer: status, body (parsed JSON when it is JSON) and optionally headers."""
    view: dict[str, Any] = {
        "status": reply.status,
        "body": redactor.value(reply.json) if reply.json is not None else redactor.text(reply.text),
    }
    if headers:
        view["headers"] = {k: redactor.text(v) for k, v in reply.headers.items()}
    return view


def exchange_view(exchange: Exchange, redactor: Redactor, *, headers: bool) -> dict[str, Any]:
    """One request and the reply that ended it, with attempts and timing."""
    return {
        **request_view(exchange.request, redactor),
        "response": {
            **reply_view(exchange.reply, redactor, headers=headers),
            "attempts": exchange.attempts,
            "elapsed_ms": round(exchange.elapsed * 1000, 1),
            "tries": [
                {
                    "outcome": redactor.text(attempt.describe()),
                    "elapsed_ms": round(attempt.elapsed * 1000, 1),
                    "ambiguous": attempt.ambiguous,
                    "waited_s": round(attempt.waited, 3),
                }
                for attempt in exchange.log
            ],
        },
    }


def golden_requests(
    sent: Iterable[tuple[str, Iterable[Request]]], redactor: Redactor
) -> list[dict[str, Any]]:
    """The golden-file format (`send --save-expect`, compared by `send --expect`): every
    request with the name of the subscription that made it. The User-Agent names cdpctl's
    version, so it is left out: upgrading cdpctl must not break a project's golden files."""
    golden = []
    for subscription, requests in sent:
        for request in requests:
            view = request_view(request, redactor)
            view.pop("purpose", None)
            view["headers"].pop("User-Agent", None)
            golden.append({"subscription": subscription, **view})
    return golden
