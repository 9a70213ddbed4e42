"""Customer.io Track API: hosts, authentication, limits and how its answers are judged.

API: https://docs.customer.io/api/track/ — reference: shared/reference/providers/customerio.md.
Every endpoint and limit of the provider lives here, each with the page that documents it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl.providers.base import ActionFailed, Endpoint, RateLimit, Reply
from cdpctl.secrets import basic_credentials

DOCS_URL = "https://docs.customer.io/api/track/"

# The regions differ only in the subdomain (DOCS_URL, "Overview").
US_HOST = "https://track.customer.io"
EU_HOST = "https://track-eu.customer.io"
US_REGION = "US 🇺🇸"  # Segment's setting values carry the flag emoji
EU_REGION = "EU 🇪🇺"
REGIONS = (US_REGION, EU_REGION, "US", "EU")  # cdpctl also accepts the plain codes

# Track API v2 (versioning-info.ts in Segment's destination): one entity, or a batch of them.
ENTITY = Endpoint("POST", "/api/v2/entity", f"{DOCS_URL}#operation/entity")
BATCH = Endpoint("POST", "/api/v2/batch", f"{DOCS_URL}#operation/batch")
# v1 metrics API, used only by reportDeliveryEvent.
DELIVERY_METRICS = Endpoint("POST", "/api/v1/metrics", DOCS_URL)
# Segment checks credentials against the US host whatever the region.
AUTH = Endpoint("GET", "/auth", DOCS_URL)
ENDPOINTS = (ENTITY, BATCH, DELIVERY_METRICS, AUTH)

# Fair-use rate of the Track API (v1 and v2); beyond it Customer.io answers 429.
RATE_LIMIT = RateLimit(
    100,
    DOCS_URL,
    "fair-use limit per workspace, v1 and v2 together",
)

# "The batch request body must be smaller than 500 KB"; KB read as 1000 bytes to stay safe.
BATCH_DOC_URL = BATCH.doc_url
MAX_BATCH_BYTES = 500_000 - 1
# Segment's batch_size field: 2–100 events per batch, 50 by default.
MAX_BATCH_EVENTS = 100
DEFAULT_BATCH_EVENTS = 50

# Attribute and event limits; Customer.io answers 400 beyond them (see LIMITS_DOC_URL).
LIMITS_DOC_URL = "https://docs.customer.io/journeys/invalid-api-requests"
MAX_ATTRIBUTES = 300
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_EVENT_NAME_BYTES = 100
MAX_EVENT_DATA_BYTES = 100_000


def track_host(settings: Mapping[str, Any]) -> str:
    """Only the EU region selects the EU host; anything else, missing included, is US."""
    return EU_HOST if settings.get("accountRegion") in (EU_REGION, "EU") else US_HOST


def basic_token(settings: Mapping[str, Any]) -> str:
    return basic_credentials(str(settings.get("siteId", "")), str(settings.get("apiKey", "")))


def headers(settings: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (
        ("Authorization", f"Basic {basic_token(settings)}"),
        ("Content-Type", "application/json"),
    )


def derived_secrets(settings: Mapping[str, Any]) -> list[str]:
    """The Basic credential is a secret in its own right: redact it wherever it appears."""
    if not settings.get("siteId") or not settings.get("apiKey"):
        return []
    return [basic_token(settings)]


# Statuses whose meaning the plans spell out themselves instead of the transport's "HTTP n".
JUDGED_STATUSES = frozenset({400, 401, 403, 404})


def error_detail(reply: Reply) -> str:
    """Customer.io's own words: v1 `{"meta":{"error"}}`, v2 `{"errors":[{"message"|"reason"}]}`."""
    body = reply.json
    if isinstance(body, dict):
        meta = body.get("meta")
        if isinstance(meta, dict) and meta.get("error"):
            return str(meta["error"])
        errors = body.get("errors")
        if isinstance(errors, list):
            texts = [
                str(error.get("message") or error.get("reason"))
                for error in errors
                if isinstance(error, dict) and (error.get("message") or error.get("reason"))
            ]
            if texts:
                return "; ".join(texts)
    return reply.text.strip()  # whole: views redact it, then cut it


def failure(reply: Reply) -> ActionFailed:
    """A non-2xx answer as the reason a user can act on (all of these are final)."""
    detail = error_detail(reply)
    suffix = f": {detail}" if detail else ""
    if reply.status in (401, 403):
        reason = (
            f"Customer.io refused the credentials (HTTP {reply.status}{suffix}) — check siteId, "
            "apiKey and accountRegion (an EU workspace needs accountRegion EU)"
        )
    elif reply.status == 404:
        reason = f"Customer.io has no such route or resource (HTTP 404{suffix})"
    else:
        reason = f"Customer.io rejected the request (HTTP {reply.status}{suffix})"
    return ActionFailed(reason, status=reply.status, retryable=False)
