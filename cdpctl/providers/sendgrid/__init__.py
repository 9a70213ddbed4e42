"""SendGrid Marketing Campaigns (Actions): upsert contacts (with list membership) and send
dynamic-template emails.

API: https://www.twilio.com/docs/sendgrid/api-reference — reference:
shared/reference/providers/sendgrid.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic
from cdpctl.providers.base import (
    Action,
    ActionContext,
    BatchSpec,
    Provider,
    Repeat,
    Request,
    RequestPlan,
    Setting,
    Upsert,
)
from cdpctl.providers.sendgrid import api, contacts, mail

HOSTS = (api.GLOBAL_URL, api.EU_URL)


def _check_settings(settings: Mapping[str, Any]) -> list[Diagnostic]:
    if settings.get("endpoint", api.GLOBAL_URL) in HOSTS:
        return []
    return [
        Diagnostic(
            codes.PAYLOAD_RULE,
            f"unknown SendGrid endpoint {settings.get('endpoint')!r}",
            json_path=("endpoint",),
            hint="use " + " (Global) or ".join(HOSTS) + " (EU)",
        )
    ]


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    yield Request(
        "GET",
        api.ACCOUNT.url(api.base_url(ctx.settings)),
        api.headers(ctx.settings, json=False),
        purpose="check the API key",
    )


PROVIDER = Provider(
    name="sendgrid",
    title="SendGrid Marketing Campaigns",
    description="Marketing Campaigns contacts and lists, and Mail Send with dynamic templates.",
    docs_url=api.DOCS_URL,
    endpoints=api.ENDPOINTS,
    segment_slugs=("actions-sendgrid",),  # SendGrid Marketing Campaigns (Actions)
    settings=(
        Setting(
            "sendGridApiKey",
            "API Key",
            "A SendGrid API key with Full Access to Marketing (and Mail Send, to send email).",
            required=True,
            secret=True,
        ),
        Setting(
            "endpoint",
            "Endpoint Region",
            "The regional API host: https://api.sendgrid.com (Global) or "
            "https://api.eu.sendgrid.com (EU).",
            default=api.GLOBAL_URL,
            enum=HOSTS,
        ),
    ),
    actions=(
        Action(
            name="updateUserProfile",
            upsert=Upsert.CONTACT,
            title="Upsert Contact",
            description="Add or update a Marketing Campaigns contact, optionally adding it to "
            "or removing it from lists.",
            fields=contacts.FIELDS,
            plan=contacts.plan,
            repeat=Repeat.IDEMPOTENT,
            check=contacts.check,
            batch=BatchSpec(
                max_events=api.MAX_CONTACTS_PER_UPSERT,
                max_bytes=api.MAX_UPSERT_BYTES,
                doc_url=api.CONTACTS_DOC,
            ),
            plan_batch=contacts.plan_batch,
        ),
        Action(
            name="sendEmail",
            title="Send Email with Dynamic Template",
            description="Send one email through a SendGrid Dynamic Template.",
            fields=mail.FIELDS,
            plan=mail.plan,
            repeat=Repeat.NOT_IDEMPOTENT,
            check=mail.check,
        ),
    ),
    rate_limit=api.RATE_LIMIT,
    check_settings=_check_settings,
    test_authentication=_test_authentication,
)
