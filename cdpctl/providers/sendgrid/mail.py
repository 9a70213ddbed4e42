"""`sendEmail` ("Send Email with Dynamic Template"): one `POST /v3/mail/send` per event.

Every rule Segment's action enforces before sending is a payload error here, so a refused
email never leaves cdpctl; SendGrid answers a valid send with 202 and an empty body.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic
from cdpctl.jsvalues import js_to_string
from cdpctl.providers.base import (
    ActionContext,
    ActionFailed,
    Field,
    FieldType,
    Format,
    Reply,
    Request,
    RequestPlan,
)
from cdpctl.providers.payload import format_problem, is_iso8601
from cdpctl.providers.sendgrid import api

RESERVED_HEADERS = (
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "Content-Type",
    "Content-Transfer-Encoding",
    "To",
    "From",
    "Subject",
    "Reply-To",
    "CC",
    "BCC",
)
HEADERS_ERROR = "Headers cannot contain any of the following reserved headers: " + ", ".join(
    RESERVED_HEADERS
)
TEMPLATE_ERROR = 'Template must refer to a Dynamic Template. Dynamic Template IDs start with "d-"'
SEND_AT_ERROR = "send_at should be less than 72 hours from now"
GROUP_ERROR = "Group ID value must be a numberic (integer) string"
DOMAIN_ERROR = "From email must be from the selected domain"


def _address_fields(*, required: bool, email_format: bool) -> tuple[Field, ...]:
    return (
        Field(
            "email",
            FieldType.STRING,
            "Email",
            required=required,
            format=Format.EMAIL if email_format else None,
        ),
        Field("name", FieldType.STRING, "Name"),
    )


FIELDS = (
    Field(
        "from",
        FieldType.OBJECT,
        "From",
        "The sender {email, name}; other keys are not sent.",
        required=True,
        properties=_address_fields(required=True, email_format=True),
    ),
    Field(
        "to",
        FieldType.OBJECT,
        "To",
        "The one recipient {email, name}.",
        required=True,
        default={
            "email": {"@path": "$.properties.email"},
            "name": {"@path": "$.properties.name"},
        },
        properties=_address_fields(required=True, email_format=True),
    ),
    Field(
        "cc",
        FieldType.OBJECT,
        "CC",
        "CC recipients [{email, name}]; items without an email are dropped.",
        multiple=True,
        properties=_address_fields(required=False, email_format=False),
    ),
    Field(
        "bcc",
        FieldType.OBJECT,
        "BCC",
        "BCC recipients [{email, name}]; items without an email are dropped.",
        multiple=True,
        properties=_address_fields(required=False, email_format=False),
    ),
    Field(
        "reply_to",
        FieldType.OBJECT,
        "Reply To",
        "Unset parts are taken from From: the email, and the name even when the reply-to "
        "address differs.",
        properties=_address_fields(required=False, email_format=True),
    ),
    Field(
        "template_id",
        FieldType.STRING,
        "Dynamic Template",
        'A Dynamic Template ID ("d-…"), or a label such as "Welcome - v1 [d-…]".',
        required=True,
    ),
    Field(
        "dynamic_template_data",
        FieldType.OBJECT,
        "Dynamic Template Data",
        "Handlebars data for the template; sent unchanged.",
    ),
    Field(
        "headers",
        FieldType.OBJECT,
        "Headers",
        "Email headers; values are sent as text. Reserved names are refused.",
    ),
    Field(
        "custom_args",
        FieldType.OBJECT,
        "Custom Args",
        "Custom arguments echoed in SendGrid's events; values are sent as text.",
    ),
    Field(
        "send_at",
        FieldType.STRING,
        "Send At",
        "When to send (ISO-8601), at most 72 hours ahead; sent as Unix seconds.",
        format=Format.DATE_TIME,
    ),
    Field(
        "categories",
        FieldType.ANY,
        "Categories",
        "A string or an array of strings, each at most 255 characters.",
    ),
    Field(
        "ip_pool_name",
        FieldType.STRING,
        "IP Pool",
        "The IP pool to send from: 3–63 characters.",
        max_length=api.IP_POOL_NAME_LENGTH[1],
    ),
    Field(
        "group_id",
        FieldType.STRING,
        "Group ID",
        'The unsubscribe group: "123", or a label such as "Newsletter [123]".',
    ),
    Field(
        "domain",
        FieldType.STRING,
        "Validated Domain",
        "From's email must end with it. Used only to check; never sent.",
    ),
)


# --- value parsing -----------------------------------------------------------------------------


def template_id(value: str) -> str | None:
    """`d-abc Text` → `d-abc`; `Label [d-abc]` → `d-abc`; anything else → None."""
    if value.startswith("d-"):
        return value.split(" ", 1)[0]
    bracketed = re.search(r"\[([^\]]*)\]", value)
    if bracketed and bracketed.group(1).startswith("d-"):
        return bracketed.group(1)
    return None


def group_id(value: str) -> int | None:
    """The leading digits (`123 - blah`, `123.45`), else the digits in brackets."""
    found = re.match(r"\d+", value) or re.search(r"\[(\d+)\]", value)
    if found is None:
        return None
    return int(found.group(found.lastindex or 0))


def send_at_timestamp(value: str) -> int:
    """Unix seconds, truncated; a time without an offset is read as UTC (cdpctl decision)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return math.floor(parsed.timestamp())


def send_at_ok(value: str, now: float) -> bool:
    """Between now and now + 72 hours: SendGrid cannot schedule further, nor in the past."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return now <= moment.timestamp() <= now + api.MAX_SEND_AT_AHEAD_SECONDS


def categories(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _recipients(value: Any) -> list[dict[str, Any]]:
    """CC/BCC items that have a non-blank email."""
    items = value if isinstance(value, list) else []
    return [
        item
        for item in items
        if isinstance(item, dict) and isinstance(item.get("email"), str) and item["email"].strip()
    ]


def _address(value: Mapping[str, Any]) -> dict[str, Any]:
    address = {"email": value["email"]}
    if value.get("name") is not None:
        address["name"] = value["name"]
    return address


def _text_values(value: Any) -> dict[str, str]:
    return {key: js_to_string(item) for key, item in (value or {}).items()}


def mail_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The Mail Send body in Segment's key order; optional keys left out when empty."""
    template = template_id(payload["template_id"])
    if template is None:
        raise ValueError(TEMPLATE_ERROR)
    personalization: dict[str, Any] = {"to": [_address(payload["to"])]}
    for kind in ("cc", "bcc"):
        recipients = _recipients(payload.get(kind))
        if recipients:
            personalization[kind] = [_address(item) for item in recipients]
    personalization["headers"] = _text_values(payload.get("headers"))
    if payload.get("dynamic_template_data") is not None:  # `{}` too, as Segment sends it
        personalization["dynamic_template_data"] = payload["dynamic_template_data"]
    if payload.get("custom_args"):
        personalization["custom_args"] = _text_values(payload["custom_args"])
    if payload.get("send_at"):
        personalization["send_at"] = send_at_timestamp(payload["send_at"])
    sender = payload["from"]
    reply_to = payload.get("reply_to") or {}
    reply = {"email": reply_to.get("email") or sender["email"]}
    name = reply_to.get("name") if reply_to.get("name") is not None else sender.get("name")
    if name is not None:
        reply["name"] = name
    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(sender),
        "reply_to": reply,
        "template_id": template,
    }
    if categories(payload.get("categories")):
        body["categories"] = categories(payload["categories"])
    if payload.get("group_id"):
        group = group_id(payload["group_id"])
        if group is None:
            raise ValueError(GROUP_ERROR)
        body["asm"] = {"group_id": group}
    if payload.get("ip_pool_name"):
        body["ip_pool_name"] = payload["ip_pool_name"]
    return body


# --- validation before any request -------------------------------------------------------------


def _rule(message: str, *path: str | int, hint: str | None = None) -> Diagnostic:
    return Diagnostic(codes.PAYLOAD_RULE, message, json_path=path, hint=hint)


def _check_recipients(payload: Mapping[str, Any]) -> list[Diagnostic]:
    errors = []
    seen: dict[str, str] = {}
    to = payload.get("to")
    if isinstance(to, dict) and isinstance(to.get("email"), str):
        seen[to["email"].lower()] = "to"
    for kind in ("cc", "bcc"):
        found = payload.get(kind)
        items: list[Any] = found if isinstance(found, list) else []
        for index, item in enumerate(items):
            if item not in _recipients([item]):
                continue
            problem = format_problem(Format.EMAIL, item["email"])
            if problem is not None:
                errors.append(
                    Diagnostic(
                        codes.PAYLOAD_BAD_FORMAT,
                        f"'{kind}' {problem[0]}",
                        json_path=(kind, index, "email"),
                        hint=problem[1],
                    )
                )
            email = item["email"].lower()
            if email in seen:
                errors.append(
                    _rule(
                        f"{item['email']} is already a recipient in {seen[email]}; SendGrid "
                        "refuses an address twice among to, cc and bcc",
                        kind,
                        index,
                        "email",
                    )
                )
            seen.setdefault(email, kind)
    if len(seen) > api.MAX_RECIPIENTS:
        errors.append(_rule(f"at most {api.MAX_RECIPIENTS} recipients (to + cc + bcc) an email"))
    return errors


def check(
    payload: dict[str, Any], settings: Mapping[str, Any], now: float | None = None
) -> list[Diagnostic]:
    """Segment's pre-send validation (V5) plus SendGrid's recipient rules."""
    now = time.time() if now is None else now
    errors = []
    if template_id(payload["template_id"]) is None:
        errors.append(_rule(TEMPLATE_ERROR, "template_id"))
    headers = payload.get("headers") or {}
    if any(key in RESERVED_HEADERS for key in headers):
        reserved = next(key for key in headers if key in RESERVED_HEADERS)
        errors.append(_rule(HEADERS_ERROR, "headers", reserved))
    send_at = payload.get("send_at")
    if isinstance(send_at, str) and is_iso8601(send_at) and not send_at_ok(send_at, now):
        errors.append(_rule(SEND_AT_ERROR, "send_at"))
    group = payload.get("group_id")
    if group and group_id(group) is None:
        errors.append(_rule(GROUP_ERROR, "group_id", hint='e.g. "123" or "Newsletter [123]"'))
    domain = payload.get("domain")
    if domain and not str(payload["from"].get("email", "")).endswith(domain):
        errors.append(_rule(DOMAIN_ERROR, "from", "email", hint=f"use an address @{domain}"))
    value = payload.get("categories")
    if value is not None and not (
        isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(c, str) for c in value))
    ):
        errors.append(
            Diagnostic(
                codes.PAYLOAD_WRONG_TYPE,
                "'categories' must be a string or an array of strings",
                json_path=("categories",),
            )
        )
    else:
        for index, category in enumerate(categories(value)):
            if len(category) > api.MAX_CATEGORY_LENGTH:
                errors.append(
                    Diagnostic(
                        codes.PAYLOAD_TOO_LONG,
                        f"Category with name {category} exceeds the max length of "
                        f"{api.MAX_CATEGORY_LENGTH} characters",
                        json_path=("categories", index),
                    )
                )
    pool = payload.get("ip_pool_name")
    if isinstance(pool, str) and len(pool) < api.IP_POOL_NAME_LENGTH[0]:
        errors.append(
            Diagnostic(
                codes.PAYLOAD_NOT_ALLOWED,
                f"'ip_pool_name' is {len(pool)} characters; SendGrid needs "
                f"{api.IP_POOL_NAME_LENGTH[0]}–{api.IP_POOL_NAME_LENGTH[1]}",
                json_path=("ip_pool_name",),
            )
        )
    errors.extend(_check_recipients(payload))
    return errors


# --- plan --------------------------------------------------------------------------------------


def plan(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    try:
        body = mail_body(payload)
    except ValueError as invalid:
        raise ActionFailed(str(invalid), status=400) from None
    yield Request(
        "POST",
        api.MAIL_SEND.url(api.base_url(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json=body,
        purpose="send an email with a dynamic template",
        dry_run_reply=Reply(202),
    )
