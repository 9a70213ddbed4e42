"""Dotdigital's API surface: regions, paths, authentication headers and limits.

API: https://developer.dotdigital.com/ — reference: shared/reference/providers/dotdigital.md §1, §4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl.providers.base import Endpoint, RateLimit
from cdpctl.secrets import basic_credentials

DOCS_URL = "https://developer.dotdigital.com/"
# The region *is* the base URL; paths carry their own version (/v2, /contacts/v3, /cpaas).
REGIONS = {
    "r1": "https://r1-api.dotdigital.com",
    "r2": "https://r2-api.dotdigital.com",
    "r3": "https://r3-api.dotdigital.com",
}
DEFAULT_API_HOST = REGIONS["r1"]

# Operations without a page of their own link the API reference's start.
REFERENCE_URL = "https://developer.dotdigital.com/reference"
DATA_FIELDS = Endpoint(  # the trailing slash is Segment's
    "GET", "/v2/data-fields/", f"{REFERENCE_URL}/get-contact-data-fields"
)
CONTACT = Endpoint("GET", "/contacts/v3/{channel}/{value}", f"{REFERENCE_URL}/getcontact")
CONTACT_PATCH = Endpoint("PATCH", "/contacts/v3/{channel}/{value}", REFERENCE_URL)
LIST_CONTACT_DELETE = Endpoint(
    "DELETE", "/v2/address-books/{listId}/contacts/{contactId}", REFERENCE_URL
)
ENROLMENTS = Endpoint("POST", "/v2/programs/enrolments", REFERENCE_URL)
CAMPAIGN_SEND = Endpoint("POST", "/v2/campaigns/send", REFERENCE_URL)
CAMPAIGN_SEND_OPTIMISED = Endpoint("POST", "/v2/campaigns/send-time-optimised", REFERENCE_URL)
SMS_SEND = Endpoint(
    "POST", "/v2/sms-messages/send-to/{number}", f"{REFERENCE_URL}/send-sms-message"
)
TRANSACTIONAL_EMAIL = Endpoint(
    "POST", "/v2/email", "https://developer.dotdigital.com/docs/transactional-email"
)
CPAAS_MESSAGES = Endpoint("POST", "/cpaas/messages", REFERENCE_URL)
# Read by `cdpctl account pull` (reference §2.5). Address books and campaigns are paged with
# `select` (at most PAGE_SIZE) and `skip` until a page comes back short; programs come whole.
ADDRESS_BOOKS = Endpoint("GET", "/v2/address-books", f"{REFERENCE_URL}/get-address-books")
PROGRAMS = Endpoint("GET", "/v2/programs", f"{REFERENCE_URL}/get-programs")
CAMPAIGNS = Endpoint("GET", "/v2/campaigns", f"{REFERENCE_URL}/get-campaigns")
PAGE_SIZE = 200
#: A program Dotdigital enrols contacts in; Draft and Deactivated ones refuse enrolments.
ACTIVE_PROGRAM = "Active"
ENDPOINTS = (
    DATA_FIELDS,
    CONTACT,
    CONTACT_PATCH,
    LIST_CONTACT_DELETE,
    ENROLMENTS,
    CAMPAIGN_SEND,
    CAMPAIGN_SEND_OPTIMISED,
    SMS_SEND,
    TRANSACTIONAL_EMAIL,
    CPAAS_MESSAGES,
    ADDRESS_BOOKS,
    PROGRAMS,
    CAMPAIGNS,
)

# Tiered per-minute limits that depend on the account's package (Basic/Standard/Enhanced) and on
# each call's tier (Low/Medium/High/Unlimited); the lowest published figure is 35 calls/minute.
# Beyond the limit Dotdigital answers 429, which the transport retries with backoff.
RATE_LIMIT = RateLimit(
    1.0,
    "https://developer.dotdigital.com/docs/call-rate-limits",
    note="per account and call tier, per minute; see Settings → Access → API rate limits and set "
    "destination.rateLimit to your account's figure",
)
CC_BCC_MAX_ADDRESSES = 100  # the field description's maximum; Segment does not enforce it
SMS_MAX_CHARACTERS = 160  # "up to 160 non-encoded characters per message" (field description)


def api_host(settings: Mapping[str, Any]) -> str:
    return str(settings.get("api_host") or DEFAULT_API_HOST)


def authorization(settings: Mapping[str, Any]) -> str:
    """HTTP Basic of the API user; Segment's partner token (x-ddg-integration-token) is not sent."""
    username = str(settings.get("username", ""))
    password = str(settings.get("password", ""))
    return f"Basic {basic_credentials(username, password)}"


def headers(settings: Mapping[str, Any], *, json: bool = False) -> tuple[tuple[str, str], ...]:
    auth = ("Authorization", authorization(settings))
    return (auth, ("Content-Type", "application/json")) if json else (auth,)


def derived_secrets(settings: Mapping[str, Any]) -> list[str]:
    """The base64 credential of the Authorization header, so every view redacts it."""
    if settings.get("username") and settings.get("password"):
        return [basic_credentials(str(settings["username"]), str(settings["password"]))]
    return []
