"""SFMC REST endpoints, limits, and how SFMC's answers are judged (single, rowset, async).

Reference: shared/reference/providers/sfmc.md §1.3, §2.8, §2.9, §3. Salesforce's REST docs:
https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/rest-api-overview.html
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from cdpctl import jsonwire
from cdpctl.providers.base import (
    ActionFailed,
    Endpoint,
    ItemResult,
    RateLimit,
    Reply,
    is_retryable,
    unanswered,
)

DOCS_URL = (
    "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/rest-api-overview.html"
)
ACTIONS_DOCS_URL = (
    "https://segment.com/docs/connections/destinations/catalog/actions-salesforce-marketing-cloud/"
)
CLASSIC_DOCS_URL = (
    "https://segment.com/docs/connections/destinations/catalog/salesforce-marketing-cloud/"
)
ROWSET_DOCS_URL = "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/postDataExtensionRowsetByKey.html"
ASYNC_DOCS_URL = (
    "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/data-extensions-api.html"
)
TOKEN_DOCS_URL = (
    "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/access-token-s2s.html"
)
API_EVENT_DOCS_URL = (
    "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/postEvent.html"
)

# On auth_host; v2 is Segment's SALESFORCE_MARKETING_CLOUD_AUTH_API_VERSION.
TOKEN = Endpoint("POST", "/v2/token", TOKEN_DOCS_URL)
# The rest on rest_host. `{de}` is `de_by_key(…)` or `de_by_id(…)`, `{keys}` is `row_keys(…)`.
CONTACTS = Endpoint("POST", "/contacts/v1/contacts", DOCS_URL)
ROWSET = Endpoint("POST", "/hub/v1/dataevents/{de}/rowset", ROWSET_DOCS_URL)
ROW = Endpoint("PUT", "/hub/v1/dataevents/{de}/rows/{keys}", DOCS_URL)
ASYNC_ROWS = Endpoint("PUT", "/data/v1/async/dataextensions/{de}/rows", ASYNC_DOCS_URL)
ASYNC_STATUS = Endpoint("GET", "/data/v1/async/{request_id}/status", ASYNC_DOCS_URL)
ASYNC_RESULTS = Endpoint("GET", "/data/v1/async/{request_id}/results", ASYNC_DOCS_URL)
API_EVENT = Endpoint("POST", "/interaction/v1/events", API_EVENT_DOCS_URL)
# Not in Salesforce's docs: the columns lookup behind Segment's dynamic `keys`/`values` fields,
# also read by `cdpctl account pull`. It answers `{"fields": [{name, type, length, isPrimaryKey,
# isNullable, …}]}`; `{de}` is an id, or `key:` and the external key as in the rowset API.
DE_FIELDS = Endpoint("GET", "/data/v1/customobjects/{de}/fields", DOCS_URL)
#: Data extension column types (Salesforce's "Data Extension Data Types").
COLUMN_TYPES = ("Text", "Number", "Date", "Boolean", "EmailAddress", "Phone", "Decimal", "Locale")
ENDPOINTS = (
    TOKEN,
    CONTACTS,
    ROWSET,
    ROW,
    ASYNC_ROWS,
    ASYNC_STATUS,
    ASYNC_RESULTS,
    API_EVENT,
    DE_FIELDS,
)

# Segment's classic docs: "SFMC has strict rate limits, usually 20 requests per second";
# Salesforce can raise it per account.
RATE_LIMIT = RateLimit(
    20, CLASSIC_DOCS_URL, "about 20 requests/second per account; Salesforce can raise it"
)

# Segment's hidden default rows per /rowset call: kept low on purpose (SFMC times out on large
# rowsets; Salesforce publishes no hard limit).
ROWSET_BATCH_SIZE = 10
# Data Extensions async API: rows and bytes per request (Segment's field limits).
ASYNC_BATCH_SIZE = 28_000
ASYNC_BATCH_SIZE_MIN = 1_000
ASYNC_BATCH_SIZE_MAX = 30_000
ASYNC_BATCH_BYTES = 5_000_000
# cdpctl polls an accepted async request until SFMC has written (or rejected) its rows, so an
# event counts as delivered only once its row is: waits of 1, 2, 4, 8 then 10 s, 30 checks
# (about 4.5 minutes) before it gives the rows up as undetermined.
ASYNC_POLL_WAITS = (1.0, 2.0, 4.0, 8.0, *(10.0,) * 26)

# Statuses a plan judges itself to report SFMC's own message (single events) or to map onto
# batch items: every 4xx (401 included, after the token refresh) and 501. The transport retries
# the others (408, 423, 429, 5xx) and they reach a plan only through `ALL_ERRORS`.
CLIENT_ERRORS = (frozenset(range(400, 500)) - {408, 423, 429}) | {501}
# A poll classifies every answer itself (429 and 500 mean "ask again later").
ALL_ERRORS = frozenset(range(400, 600))


def rest_host(subdomain: str) -> str:
    return f"https://{subdomain}.rest.marketingcloudapis.com"


def auth_host(subdomain: str) -> str:
    return f"https://{subdomain}.auth.marketingcloudapis.com"


def segment(value: Any) -> str:
    """One path segment, percent-encoded like `encodeURIComponent` (`quote(..., safe="")`)."""
    return quote(str(value), safe="")


def de_by_key(key: str) -> str:
    """A data extension addressed by external key: the literal `key:` prefix, the key encoded."""
    return "key:" + segment(key)


def de_by_id(de_id: str) -> str:
    return segment(de_id)


def row_keys(keys: Mapping[str, Any]) -> str:
    """`{PK1}:{v1},{PK2}:{v2}`: names and values encoded one by one; `:` and `,` are the
    separators, so they must stay literal."""
    return ",".join(f"{segment(name)}:{segment(value)}" for name, value in keys.items())


def _first_message(items: Any) -> str | None:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        message = items[0].get("message")
        if isinstance(message, str):
            return message
    return None


def error_message(reply: Reply) -> str:
    """SFMC's own words for a failure: `additionalErrors[0].message`, else `message`, else the
    first `resultMessages` entry, else the body itself (or the HTTP reason phrase)."""
    body = reply.json
    if isinstance(body, dict):
        for candidate in (
            _first_message(body.get("additionalErrors")),
            body.get("message") if isinstance(body.get("message"), str) else None,
            _first_message(body.get("resultMessages")),
        ):
            if candidate:
                return candidate
    if body is not None:
        return f"SFMC API responded with {jsonwire.dumps(body).decode()}."
    return reply.text.strip() or _phrase(reply.status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def gave_up(reply: Reply) -> ItemResult | None:
    """The failure of a batch request (one with `sees_failure`) whose answer was still transient
    when the transport's attempts ran out, or that got no answer at all (status 0); None for
    any other answer. Not retryable, unlike Segment's items for the same statuses (§2.9): the
    transport has already retried it, and `--max-attempts` bounds the attempts per request."""
    if reply.status == 0:
        return unanswered(reply, "SFMC")
    if is_retryable(reply.status):
        return ItemResult(
            False,
            reply.status,
            f"SFMC answered {reply.status} on the last attempt: {error_message(reply)}",
        )
    return None


def judge(reply: Reply) -> None:
    """Single-event rule (§2.8): 2xx is success; anything else fails with SFMC's message."""
    if reply.ok:
        return
    raise ActionFailed(
        f"SFMC answered {reply.status}: {error_message(reply)}",
        status=reply.status,
        retryable=is_retryable(reply.status),
    )


def _is_transient_rowset_error(reply: Reply) -> bool:
    """SFMC's "Unable to save rows" 400 (errorcode 10006) without details is a transient failure."""
    body = reply.json
    return (
        reply.status == 400
        and isinstance(body, dict)
        and body.get("errorcode") == 10006
        and "Unable to save rows for data extension ID" in str(body.get("message", ""))
        and not body.get("additionalErrors")
    )


def rowset_results(reply: Reply, count: int) -> list[ItemResult]:
    """Segment's multistatus rules for one /rowset call (§2.9): SFMC does not say which row
    failed, so every row gets the same outcome."""
    if reply.ok:
        bodies = reply.json if isinstance(reply.json, list) else []
        return [
            ItemResult(True, 200, _success_note(bodies[index] if index < len(bodies) else None))
            for index in range(count)
        ]
    status = 500 if _is_transient_rowset_error(reply) else reply.status
    body = reply.json
    message = ""
    if isinstance(body, dict):
        message = _first_message(body.get("additionalErrors")) or str(body.get("message") or "")
    failure = ItemResult(False, status, message, is_retryable(status))
    return [failure] * count


def _success_note(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return ""


def async_submit_results(reply: Reply, count: int) -> list[ItemResult]:
    """Segment's async submit rules (§2.6 b): 2xx means every row was accepted for processing
    (the request id is what a poll asks about later); otherwise every row gets the status."""
    body = reply.json if isinstance(reply.json, dict) else {}
    request_id = body.get("requestId")
    if reply.ok:
        note = f"accepted as async request {request_id}" if request_id else "accepted"
        return [ItemResult(True, 200, note)] * count
    failure = ItemResult(False, reply.status, error_message(reply), is_retryable(reply.status))
    return [failure] * count


def chunk_rowset_results(reply: Reply, count: int) -> list[ItemResult]:
    """`rowset_results` for one request of a batch plan (it `sees_failure`)."""
    given_up = gave_up(reply)
    return [given_up] * count if given_up else rowset_results(reply, count)


def chunk_async_submit_results(reply: Reply, count: int) -> list[ItemResult]:
    """`async_submit_results` for one request of a batch plan (it `sees_failure`)."""
    given_up = gave_up(reply)
    return [given_up] * count if given_up else async_submit_results(reply, count)
