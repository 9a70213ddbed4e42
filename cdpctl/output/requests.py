"""Request views with secrets redacted: the one place requests become printable data."""

from __future__ import annotations

from typing import Any

from cdpctl.providers.base import Request
from cdpctl.secrets import Redactor


def request_view(request: Request, redactor: Redactor) -> dict[str, Any]:
    """`{"method", "url", "headers", "json"}` (or `"form"`/`"body"`) with secrets redacted."""
    view: dict[str, Any] = {
        "method": request.method,
        "url": redactor.text(request.url),
        "headers": {name: redactor.text(value) for name, value in request.headers},
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
    if request.form is not None:
        return redactor.text(request.body().decode())
    return redactor.text(request.body().decode("utf-8", "replace"))
