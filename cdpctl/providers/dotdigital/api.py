"""Dotdigital's API surface: regions, paths, authentication headers and limits.

API: https://developer.dotdigital.com/ — reference: shared/reference/providers/dotdigital.md §1, §4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl.providers.base import RateLimit
from cdpctl.secrets import basic_credentials

DOCS_URL = "https://developer.dotdigital.com/"
# The region *is* the base URL; paths carry their own version (/v2, /contacts/v3, /cpaas).
REGIONS = {
    "r1": "https://r1-api.dotdigital.com",
    "r2": "https://r2-api.dotdigital.com",
    "r3": "https://r3-api.dotdigital.com",
}
DEFAULT_API_HOST = REGIONS["r1"]

DATA_FIELDS_PATH = "/v2/data-fields/"  # the trailing slash is Segment's
ADDRESS_BOOKS_PATH = "/v2/address-books"
PROGRAMS_PATH = "/v2/programs"
CAMPAIGNS_PATH = "/v2/campaigns"
ENROLMENTS_PATH = "/v2/programs/enrolments"
CAMPAIGN_SEND_PATH = "/v2/campaigns/send"
CAMPAIGN_SEND_OPTIMISED_PATH = "/v2/campaigns/send-time-optimised"
SMS_SEND_PATH = "/v2/sms-messages/send-to/"
TRANSACTIONAL_EMAIL_PATH = "/v2/email"
CPAAS_MESSAGES_PATH = "/cpaas/messages"
CONTACTS_PATH = "/contacts/v3/"

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


def contact_url(settings: Mapping[str, Any], channel: str, value: str) -> str:
    """`/contacts/v3/{channel}/{value}`, the value written as is (no percent-encoding)."""
    return f"{api_host(settings)}{CONTACTS_PATH}{channel}/{value}"
