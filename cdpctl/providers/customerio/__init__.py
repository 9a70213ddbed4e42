"""Customer.io (Actions): people, events, page/screen views, devices, objects, via Track API v2.

API: https://docs.customer.io/api/track/ — reference: shared/reference/providers/customerio.md.
Endpoints and limits: `api`; entities: `entity`; actions: `actions`; batches: `batch`.
"""

from __future__ import annotations

from cdpctl.providers.base import ActionContext, Provider, Request, RequestPlan, Setting
from cdpctl.providers.customerio.actions import ACTIONS
from cdpctl.providers.customerio.api import (
    AUTH,
    DOCS_URL,
    ENDPOINTS,
    JUDGED_STATUSES,
    RATE_LIMIT,
    REGIONS,
    US_HOST,
    US_REGION,
    derived_secrets,
    failure,
    headers,
)


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    """Segment checks the credentials against the US host, whatever the region."""
    reply = yield Request(
        "GET",
        AUTH.url(US_HOST),
        headers(ctx.settings)[:1],
        purpose="check credentials",
        handles=JUDGED_STATUSES,
    )
    if not reply.ok:
        raise failure(reply)


PROVIDER = Provider(
    name="customerio",
    title="Customer.io",
    description="Messaging automation: people, events, devices and objects (Track API v2).",
    docs_url=DOCS_URL,
    endpoints=ENDPOINTS,
    segment_slugs=("actions-customerio",),  # Customer.io (Actions)
    settings=(
        Setting(
            "siteId",
            "Site ID",
            "From Customer.io's API Credentials page; the Basic-auth user name.",
            required=True,
            credential=True,
            secret=True,
        ),
        Setting(
            "apiKey",
            "API Key",
            "The Tracking API key from the same page; the Basic-auth password.",
            required=True,
            secret=True,
        ),
        Setting(
            "accountRegion",
            "Account Region",
            'The workspace\'s data center: "US 🇺🇸" (track.customer.io) or "EU 🇪🇺" '
            '(track-eu.customer.io); cdpctl also accepts "US" and "EU".',
            default=US_REGION,
            enum=REGIONS,
        ),
    ),
    actions=ACTIONS,
    rate_limit=RATE_LIMIT,
    derived_secrets=derived_secrets,
    test_authentication=_test_authentication,
)
