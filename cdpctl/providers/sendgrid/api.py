"""SendGrid v3 API facts shared by both actions: hosts, paths, headers and limits.

API: https://www.twilio.com/docs/sendgrid/api-reference — reference:
shared/reference/providers/sendgrid.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl.providers.base import Endpoint, RateLimit

GLOBAL_URL = "https://api.sendgrid.com"
EU_URL = "https://api.eu.sendgrid.com"
DOCS_URL = "https://www.twilio.com/docs/sendgrid/api-reference"


CONTACTS_DOC = "https://www.twilio.com/docs/sendgrid/api-reference/contacts/add-or-update-a-contact"
# One upsert carries at most 30,000 contacts or 6 MB, whichever is lower (CONTACTS_DOC).
MAX_CONTACTS_PER_UPSERT = 30_000
MAX_UPSERT_BYTES = 6_000_000  # "6MB": read as decimal megabytes, the stricter reading
# Search returns at most 50 contacts, so Segment's audience action puts at most 50 identifier
# values into one query; removal from a list takes at most 100 contact IDs per DELETE.
SEARCH_DOC = "https://www.twilio.com/docs/sendgrid/api-reference/contacts/search-contacts"
MAX_SEARCH_IDENTIFIERS = 50
REMOVE_DOC = "https://www.twilio.com/docs/sendgrid/api-reference/lists/remove-contacts-from-a-list"
MAX_REMOVE_CONTACT_IDS = 100

MAIL_DOC = "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send"
MAIL_ERRORS_DOC = "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors"
MAX_RECIPIENTS = 1000  # to + cc + bcc per request (MAIL_ERRORS_DOC)
MAX_CATEGORY_LENGTH = 255
IP_POOL_NAME_LENGTH = (3, 63)
MAX_SEND_AT_AHEAD_SECONDS = 72 * 3600

FIELD_DEFINITIONS_DOC = (
    "https://www.twilio.com/docs/sendgrid/api-reference/custom-fields/get-all-field-definitions"
)

ACCOUNT = Endpoint("GET", "/v3/user/account", DOCS_URL)
FIELD_DEFINITIONS = Endpoint("GET", "/v3/marketing/field_definitions", FIELD_DEFINITIONS_DOC)
CONTACTS_UPSERT = Endpoint("PUT", "/v3/marketing/contacts", CONTACTS_DOC)
CONTACTS_SEARCH = Endpoint("POST", "/v3/marketing/contacts/search", SEARCH_DOC)
LIST_CONTACTS_REMOVE = Endpoint("DELETE", "/v3/marketing/lists/{list_id}/contacts", REMOVE_DOC)
MAIL_SEND = Endpoint("POST", "/v3/mail/send", MAIL_DOC)
# Read by `cdpctl account pull`. Lists and templates are paged: each answer's
# `_metadata.next` carries the next `page_token` (only the token is taken from it; the host is
# always the configured one).
LISTS = Endpoint(
    "GET",
    "/v3/marketing/lists",
    "https://www.twilio.com/docs/sendgrid/api-reference/lists/get-all-lists",
)
LISTS_PAGE_SIZE = 1000  # the documented maximum page_size
TEMPLATES = Endpoint(
    "GET",
    "/v3/templates",
    "https://www.twilio.com/docs/sendgrid/api-reference/transactional-templates/retrieve-paged-transactional-templates",
)
TEMPLATES_PAGE_SIZE = 200  # the documented maximum page_size
TEMPLATE_GENERATIONS = "legacy,dynamic"
#: SendGrid's custom field types (field_type of field_definitions).
CUSTOM_FIELD_TYPES = ("Text", "Number", "Date")
ENDPOINTS = (
    ACCOUNT,
    FIELD_DEFINITIONS,
    CONTACTS_UPSERT,
    CONTACTS_SEARCH,
    LIST_CONTACTS_REMOVE,
    MAIL_SEND,
    LISTS,
    TEMPLATES,
)

# SendGrid's default is 600 requests/minute per user on its v3 endpoints (Mail Send aside);
# each answer carries X-RateLimit-Limit/-Remaining/-Reset and 429 means wait for the reset.
RATE_LIMIT = RateLimit(
    10,
    "https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits",
    "600 requests/minute by default; per-endpoint limits are announced in X-RateLimit-* headers",
)


def base_url(settings: Mapping[str, Any]) -> str:
    """The regional host the user picked (Global unless the EU host is set)."""
    endpoint = settings.get("endpoint")
    return str(endpoint).rstrip("/") if endpoint else GLOBAL_URL


def headers(settings: Mapping[str, Any], *, json: bool) -> tuple[tuple[str, str], ...]:
    """Bearer auth and Accept on every request; Content-Type only with a JSON body."""
    common = (
        ("Authorization", f"Bearer {settings['sendGridApiKey']}"),
        ("Accept", "application/json"),
    )
    return (*common, ("Content-Type", "application/json")) if json else common


def error_messages(body: Any) -> list[str]:
    """The `message` texts of SendGrid's `{"errors": [{"field", "message"}]}` answer."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    messages = []
    for error in errors:
        if isinstance(error, dict) and error.get("message"):
            field = error.get("field")
            prefix = f"{field}: " if field else ""
            messages.append(f"{prefix}{error['message']}")
    return messages
