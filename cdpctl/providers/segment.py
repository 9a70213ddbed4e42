"""Segment (Actions): send identify, track, page, screen and group calls to a Segment source.

The messages are built as Segment's `actions-segment` destination builds them (with
`messageId`, `consent` and `type`) and delivered through the public HTTP Tracking API:
`POST {base}/{type}` for single sends, `POST {base}/batch` for replays.
API: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/ —
reference: shared/reference/providers/segment.md.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from cdpctl import codes, jsonwire
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.providers.base import (
    Action,
    ActionContext,
    ActionFailed,
    BatchSpec,
    Endpoint,
    Field,
    FieldType,
    ItemResult,
    Provider,
    RateLimit,
    Repeat,
    Reply,
    Request,
    RequestPlan,
    Setting,
    unanswered,
)
from cdpctl.providers.layouts import Copy, Entry, Fixed, Nested, Pick, Rule, compile_layout
from cdpctl.providers.payload import is_iso8601
from cdpctl.secrets import basic_credentials

DOCS_URL = "https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/"


@dataclass(frozen=True, slots=True)
class Region:
    title: str
    host: str


# The `endpoint` setting of the destination as Customer.io runs it (R before 2024 and the seed).
# https://segment.com/docs/guides/regional-segment/#source-regional-support
REGIONS: dict[str, Region] = {
    "north_america": Region("North America", "https://api.segment.io"),
    "europe": Region("Europe", "https://events.eu1.segmentapis.com"),
}
DEFAULT_REGION = "north_america"
# Write-key check (R's testAuthentication); the settings CDN serves both regions.
CDN_HOST = "https://cdn.segment.com"

# https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size
MAX_EVENT_BYTES = 32 * 1024  # one call, and each event inside a batch
MAX_BATCH_BYTES = 500 * 1024  # one /batch request body
MAX_BATCH_EVENTS = 2500  # beyond it Segment answers 200 and drops the events
BATCH_DOC_URL = DOCS_URL + "#batch"

#: one endpoint per call type, as the actions send them one at a time
SEND: dict[str, Endpoint] = {
    kind: Endpoint("POST", f"/v1/{kind}", f"{DOCS_URL}#{kind}")
    for kind in ("identify", "track", "page", "screen", "group")
}
BATCH = Endpoint("POST", "/v1/batch", BATCH_DOC_URL)
# Not in Segment's public docs: the write-key check of Segment's own destination (on CDN_HOST).
SOURCE_SETTINGS = Endpoint("GET", "/v1/projects/{writeKey}/settings", DOCS_URL)
ENDPOINTS = (*SEND.values(), BATCH, SOURCE_SETTINGS)
# https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#errors
MESSAGE_ID_MAX_LENGTH = 99  # "fewer than 100 characters" for de-duplication
# https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#rate-limits
RATE_LIMIT = RateLimit(
    1000,
    DOCS_URL + "#rate-limits",
    note="per workspace; above it Segment may queue or answer 429 with Retry-After and "
    "X-RateLimit-Reset",
)

ENDPOINT_ERROR = "A valid endpoint must be selected. Please check your Segment settings."
MISSING_ID_ERROR = "Either `Anonymous ID` or `User ID` must be defined."
_BATCH_ENVELOPE_BYTES = len(b'{"batch":[]}')
_CHECKED_STATUSES = frozenset({400, 401, 403})


def region_for(settings: Mapping[str, Any]) -> Region:
    """The configured region; an unknown one fails like Segment's destination (400)."""
    region = REGIONS.get(settings.get("endpoint", DEFAULT_REGION))
    if region is None:
        raise ActionFailed(ENDPOINT_ERROR, status=400)
    return region


def authorization(settings: Mapping[str, Any]) -> str:
    """HTTP Basic with the write key as user name and an empty password (the colon is kept)."""
    return f"Basic {basic_credentials(str(settings.get('source_write_key', '')), '')}"


def _headers(settings: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("Authorization", authorization(settings)), ("Content-Type", "application/json"))


def _derived_secrets(settings: Mapping[str, Any]) -> list[str]:
    key = settings.get("source_write_key")
    return [basic_credentials(str(key), "")] if key else []


def _check_settings(settings: Mapping[str, Any]) -> list[Diagnostic]:
    if settings.get("endpoint", DEFAULT_REGION) in REGIONS:
        return []
    return [
        Diagnostic(
            codes.PAYLOAD_RULE,
            ENDPOINT_ERROR,
            json_path=("endpoint",),
            hint="use " + " or ".join(REGIONS),
        )
    ]


# --- fields ----------------------------------------------------------------------------------


USER_ID = Field(
    "user_id",
    FieldType.STRING,
    "User ID",
    "Unique identifier for the user in your database. A userId or an anonymousId is required.",
    default={"@path": "$.userId"},
)
ANONYMOUS_ID = Field(
    "anonymous_id",
    FieldType.STRING,
    "Anonymous ID",
    "A pseudo-unique substitute for a User ID, for cases when you don't have an absolutely "
    "unique identifier. A userId or an anonymousId is required.",
    default={"@path": "$.anonymousId"},
)
TIMESTAMP = Field(
    "timestamp",
    FieldType.STRING,
    "Timestamp",
    "When the message itself took place, as an ISO-8601 string. Segment stamps the time it "
    "receives the call when it is absent.",
    default={"@path": "$.timestamp"},
)
MESSAGE_ID = Field(
    "message_id",
    FieldType.STRING,
    "MessageId",
    "The Segment message id; Segment de-duplicates on it, which makes replays safe.",
    default={"@path": "$.messageId"},
)
CONSENT = Field(
    "consent",
    FieldType.ANY,
    "Consent",
    "Segment event consent category preferences. Sent as context.consent when it is an object "
    "whose categoryPreferences values are all booleans; otherwise {} is sent.",
    default={"@path": "$.context.consent"},
)
APPLICATION = Field(
    "application",
    FieldType.OBJECT,
    "Application",
    "Dictionary of information about the current application.",
    default={"@path": "$.context.app"},
    properties=tuple(
        Field(name, FieldType.STRING, title)
        for name, title in (
            ("name", "Name"),
            ("version", "Version"),
            ("build", "Build"),
            ("namespace", "Namespace"),
        )
    ),
)
CAMPAIGN_PARAMETERS = Field(
    "campaign_parameters",
    FieldType.OBJECT,
    "Campaign Parameters",
    "Dictionary of information about the campaign that resulted in the API call. This maps "
    "directly to the common UTM campaign parameters.",
    default={"@path": "$.context.campaign"},
    properties=tuple(
        Field(name, FieldType.STRING, name.title())
        for name in ("name", "source", "medium", "term", "content")
    ),
)
DEVICE = Field(
    "device",
    FieldType.OBJECT,
    "Device",
    "Dictionary of information about the device the API call originated from. Sent exactly as "
    "mapped (note Segment's key adTracking_Enabled).",
    default={"@path": "$.context.device"},
    properties=(
        Field("id", FieldType.STRING, "ID"),
        Field("advertising_id", FieldType.STRING, "Advertising ID"),
        Field("adTracking_Enabled", FieldType.BOOLEAN, "Ad Tracking Enabled"),
        Field("manufacturer", FieldType.STRING, "Manufacturer"),
        Field("model", FieldType.STRING, "Model"),
        Field("name", FieldType.STRING, "Name"),
        Field("type", FieldType.STRING, "Type"),
        Field("token", FieldType.STRING, "Token"),
    ),
)
IP_ADDRESS = Field(
    "ip_address",
    FieldType.STRING,
    "IP Address",
    "The current user's IP address.",
    default={"@path": "$.context.ip"},
)
LOCALE = Field(
    "locale",
    FieldType.STRING,
    "Locale",
    "Locale string for the current user, for example en-US.",
    default={"@path": "$.context.locale"},
)
LOCATION = Field(
    "location",
    FieldType.OBJECT,
    "Location",
    "Dictionary of information about the user's current location.",
    default={"@path": "$.context.location"},
    properties=(
        Field("city", FieldType.STRING, "City"),
        Field("country", FieldType.STRING, "Country"),
        Field("latitude", FieldType.NUMBER, "Latitude"),
        Field("longitude", FieldType.NUMBER, "Longitude"),
        Field("speed", FieldType.NUMBER, "Speed"),
    ),
)
NETWORK = Field(
    "network",
    FieldType.OBJECT,
    "Network",
    "Dictionary of information about the current network connection.",
    default={"@path": "$.context.network"},
    properties=(
        Field("bluetooth", FieldType.BOOLEAN, "Bluetooth"),
        Field("carrier", FieldType.STRING, "Carrier"),
        Field("cellular", FieldType.BOOLEAN, "Cellular"),
        Field("wifi", FieldType.BOOLEAN, "WiFi"),
    ),
)
OPERATING_SYSTEM = Field(
    "operating_system",
    FieldType.OBJECT,
    "Operating System",
    "Dictionary of information about the operating system.",
    default={"@path": "$.context.os"},
    properties=(
        Field("name", FieldType.STRING, "Name"),
        Field("version", FieldType.STRING, "Version"),
    ),
)
PAGE = Field(
    "page",
    FieldType.OBJECT,
    "Page",
    "Dictionary of information about the current page in the browser.",
    default={"@path": "$.context.page"},
    properties=tuple(
        Field(name, FieldType.STRING, title)
        for name, title in (
            ("path", "Path"),
            ("referrer", "Referrer"),
            ("search", "Search"),
            ("title", "Title"),
            ("url", "URL"),
        )
    ),
)
SCREEN = Field(
    "screen",
    FieldType.OBJECT,
    "Screen",
    "Dictionary of information about the device's screen.",
    default={"@path": "$.context.screen"},
    properties=tuple(
        Field(name, FieldType.NUMBER, name.title()) for name in ("density", "height", "width")
    ),
)
USER_AGENT = Field(
    "user_agent",
    FieldType.STRING,
    "User Agent",
    "User agent of the device the API call originated from.",
    default={"@path": "$.context.userAgent"},
)
TIMEZONE = Field(
    "timezone",
    FieldType.STRING,
    "Timezone",
    "The user's timezone as a tz database string, for example America/New_York.",
    default={"@path": "$.context.timezone"},
)
GROUP_ID = Field(
    "group_id",
    FieldType.STRING,
    "Group ID",
    "The group or account ID a user is associated with. Sent as context.groupId.",
    default={"@path": "$.context.groupId"},
)
PROPERTIES = Field(
    "properties",
    FieldType.OBJECT,
    "Properties",
    "Free-form dictionary of properties of the event, page or screen.",
    default={"@path": "$.properties"},
)
TRAITS = Field(
    "traits",
    FieldType.OBJECT,
    "Traits",
    "Free-form dictionary of traits that describe the user or group of users.",
    default={"@path": "$.traits"},
)

_HEAD = (USER_ID, ANONYMOUS_ID, TIMESTAMP)
_CONTEXT_FIELDS = (
    APPLICATION,
    CAMPAIGN_PARAMETERS,
    DEVICE,
    IP_ADDRESS,
    LOCALE,
    LOCATION,
    NETWORK,
    OPERATING_SYSTEM,
    PAGE,
    SCREEN,
    USER_AGENT,
    TIMEZONE,
)
_HIDDEN = (MESSAGE_ID, CONSENT)

IDENTIFY_FIELDS = (
    *_HEAD,
    *_CONTEXT_FIELDS,
    GROUP_ID,
    TRAITS,
    Field(
        "address",
        FieldType.OBJECT,
        "Address",
        "The user's address; replaces traits.address (keeping its position among the traits).",
        default={"@path": "$.traits.address"},
        properties=tuple(
            Field(name, FieldType.STRING, title)
            for name, title in (
                ("street", "Street"),
                ("city", "City"),
                ("state", "State"),
                ("country", "Country"),
                ("postalCode", "Postal Code"),
            )
        ),
    ),
    *_HIDDEN,
)
TRACK_FIELDS = (
    *_HEAD,
    Field(
        "event_name",
        FieldType.STRING,
        "Event Name",
        "Name of the action that a user has performed.",
        required=True,
        default={"@path": "$.event"},
    ),
    *_CONTEXT_FIELDS,
    GROUP_ID,
    PROPERTIES,
    Field(
        "traits",
        FieldType.OBJECT,
        "Traits",
        "Traits of the user; sent as context.traits ({} when none are mapped).",
        default={"@path": "$.context.traits"},
    ),
    *_HIDDEN,
)
PAGE_FIELDS = (
    *_HEAD,
    Field(
        "page_name",
        FieldType.STRING,
        "Page Name",
        "Name of the page that was viewed; sent as name and properties.name.",
        default={"@path": "$.name"},
    ),
    Field(
        "page_category",
        FieldType.STRING,
        "Page Category",
        "Category of the page that was viewed; sent as properties.category.",
        default={"@path": "$.category"},
    ),
    *_CONTEXT_FIELDS,
    GROUP_ID,
    PROPERTIES,
    *_HIDDEN,
)
SCREEN_FIELDS = (
    *_HEAD,
    Field(
        "screen_name",
        FieldType.STRING,
        "Screen Name",
        "Name of the screen that was viewed; sent as name and properties.name.",
        default={"@path": "$.name"},
    ),
    *(field for field in _CONTEXT_FIELDS if field is not TIMEZONE),
    Field(
        "timezone",
        FieldType.STRING,
        "Timezone",
        "Accepted but NOT sent: Segment's Send Screen leaves context.timezone out (kept for "
        "parity).",
    ),
    GROUP_ID,
    PROPERTIES,
    *_HIDDEN,
)
GROUP_FIELDS = (
    USER_ID,
    ANONYMOUS_ID,
    Field(
        "group_id",
        FieldType.STRING,
        "Group ID",
        "The group or account ID a user is associated with.",
        required=True,
        default={"@path": "$.groupId"},
    ),
    TIMESTAMP,
    *_CONTEXT_FIELDS,
    TRAITS,
    *_HIDDEN,
)


# --- messages --------------------------------------------------------------------------------

_CONTEXT_KEYS = (
    ("app", "application"),
    ("campaign", "campaign_parameters"),
    ("consent", "consent"),
    ("device", "device"),
    ("ip", "ip_address"),
    ("locale", "locale"),
    ("location", "location"),
    ("network", "network"),
    ("os", "operating_system"),
    ("page", "page"),
    ("screen", "screen"),
    ("userAgent", "user_agent"),
    ("timezone", "timezone"),
    ("groupId", "group_id"),
)


def consent_is_valid(consent: Any) -> bool:
    """Segment's rule: an object whose `categoryPreferences` holds only booleans."""
    if not isinstance(consent, dict) or "categoryPreferences" not in consent:
        return False
    preferences = consent["categoryPreferences"]
    if isinstance(preferences, dict):
        preferences = list(preferences.values())
    return isinstance(preferences, list) and all(isinstance(v, bool) for v in preferences)


def context_consent(payload: Mapping[str, Any]) -> dict[str, Any]:
    consent = payload.get("consent")
    return dict(consent) if isinstance(consent, dict) and consent_is_valid(consent) else {}


def _context(*, traits: bool = False, skip: tuple[str, ...] = ()) -> Nested:
    """`context` in Segment's key order; unmapped parts are left out, consent is always there."""
    entries: list[Entry] = [Copy("traits", "traits")] if traits else []
    for key, field_name in _CONTEXT_KEYS:
        if key in skip:
            continue
        entries.append(Rule(key, context_consent) if key == "consent" else Pick(key, field_name))
    return Nested("context", tuple(entries))


def _head(*middle: tuple[str, str]) -> tuple[Pick, ...]:
    """The message's first keys: the ids, then `middle`, each sent when mapped."""
    pairs = (("userId", "user_id"), ("anonymousId", "anonymous_id"), *middle)
    return tuple(Pick(key, name) for key, name in pairs)


def spread(keys: tuple[str, ...], base: Mapping[str, Any], mapped: Any) -> dict[str, Any]:
    """JavaScript's `{k1: base.k1, …, ...mapped}` without undefined entries: every key keeps
    the position it first had, even when its base value was undefined (absent from `base`)."""
    extra = mapped if isinstance(mapped, dict) else {}
    merged = {key: base[key] for key in keys if key in base}
    merged.update(extra)
    order = (*keys, *(key for key in extra if key not in keys))
    return {key: merged[key] for key in order if key in merged}


_PAGE_KEYS = ("path", "referrer", "search", "title", "url")


def _page_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    page = payload.get("page")
    page = page if isinstance(page, dict) else {}
    base = {
        key: payload[name]
        for key, name in (("name", "page_name"), ("category", "page_category"))
        if name in payload
    }
    base.update((key, page[key]) for key in _PAGE_KEYS if key in page)
    return spread(("name", "category", *_PAGE_KEYS), base, payload.get("properties"))


def _screen_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    base = {"name": payload["screen_name"]} if "screen_name" in payload else {}
    return spread(("name",), base, payload.get("properties"))


#: Each call's message, as Segment's actions build it (key order included).
LAYOUTS: dict[str, tuple[Entry, ...]] = {
    "identify": (
        *_head(("timestamp", "timestamp"), ("messageId", "message_id")),
        _context(),
        Copy("traits", "traits", overlay=(("address", "address"),)),
        Fixed("type", "identify"),
    ),
    "track": (
        *_head(("timestamp", "timestamp"), ("event", "event_name"), ("messageId", "message_id")),
        _context(traits=True),
        Copy("properties", "properties"),
        Fixed("type", "track"),
    ),
    "page": (
        *_head(("timestamp", "timestamp"), ("name", "page_name"), ("messageId", "message_id")),
        _context(),
        Rule("properties", _page_properties),
        Fixed("type", "page"),
    ),
    "screen": (
        *_head(("timestamp", "timestamp"), ("name", "screen_name"), ("messageId", "message_id")),
        _context(skip=("timezone",)),
        Rule("properties", _screen_properties),
        Fixed("type", "screen"),
    ),
    "group": (
        *_head(("groupId", "group_id"), ("timestamp", "timestamp"), ("messageId", "message_id")),
        _context(skip=("groupId",)),
        Copy("traits", "traits"),
        Fixed("type", "group"),
    ),
}
BUILDERS = {kind: compile_layout(f"segment {kind}", layout) for kind, layout in LAYOUTS.items()}


def has_identifier(payload: Mapping[str, Any]) -> bool:
    return bool(payload.get("user_id") or payload.get("anonymous_id"))


def message_size(message: Mapping[str, Any]) -> int:
    return len(jsonwire.dumps(message))


def _surely_small(payload: Mapping[str, Any]) -> bool:
    """True when the message built from `payload` cannot reach 32 KB, without building it: a
    message holds each payload value at most twice (page/screen names) plus a few hundred bytes
    of structure, and JavaScript's text is at most 3.4× orjson's (big floats written out)."""
    return len(orjson.dumps(payload)) * 2 * 4 + 4096 <= MAX_EVENT_BYTES


def _size_if_over_limit(message: Mapping[str, Any]) -> int | None:
    """The exact size when over 32 KB, else None. orjson's text is measured first (it is
    cheaper); JavaScript's can only be longer by writing big floats in full, at most 3.4×."""
    if len(orjson.dumps(message)) * 4 <= MAX_EVENT_BYTES:
        return None
    size = message_size(message)
    return size if size > MAX_EVENT_BYTES else None


def _too_large(size: int) -> str:
    return (
        f"the {size}-byte message is over Segment's limit of {MAX_EVENT_BYTES} bytes (32 KB) "
        "per call"
    )


# --- validation ------------------------------------------------------------------------------


def _warning(message: str, path: tuple[str | int, ...], hint: str | None = None) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_RULE, message, json_path=path, hint=hint, severity=Severity.WARNING
    )


def _check(kind: str, payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    if not has_identifier(payload):
        return [
            Diagnostic(
                codes.PAYLOAD_RULE,
                MISSING_ID_ERROR,
                json_path=("user_id",),
                hint="map user_id (e.g. $.userId) or anonymous_id (e.g. $.anonymousId)",
            )
        ]
    problems: list[Diagnostic] = []
    size = None if _surely_small(payload) else _size_if_over_limit(BUILDERS[kind](payload))
    if size is not None:
        problems.append(
            Diagnostic(
                codes.PAYLOAD_TOO_LONG,
                _too_large(size),
                json_path=(),
                hint="map fewer or smaller properties/traits",
            )
        )
    problems.extend(_warnings(kind, payload))
    return problems


def _warnings(kind: str, payload: Mapping[str, Any]) -> list[Diagnostic]:
    found = []
    message_id = payload.get("message_id")
    if message_id is None:
        found.append(
            _warning(
                "no message_id: Segment will generate one, so a replay of this event cannot be "
                "de-duplicated",
                ("message_id",),
                "map message_id to $.messageId",
            )
        )
    elif len(message_id) > MESSAGE_ID_MAX_LENGTH:
        found.append(
            _warning(
                f"message_id is {len(message_id)} characters; Segment de-duplicates reliably "
                "only on ids of fewer than 100",
                ("message_id",),
            )
        )
    if "consent" in payload and not consent_is_valid(payload["consent"]):
        found.append(
            _warning(
                "consent is not an object whose categoryPreferences are all true/false; "
                "context.consent is sent as {}",
                ("consent",),
            )
        )
    timestamp = payload.get("timestamp")
    if isinstance(timestamp, str) and not is_iso8601(timestamp):
        found.append(
            _warning(
                f'timestamp "{timestamp}" is not ISO-8601; Segment may replace it with the time '
                "it receives the call",
                ("timestamp",),
                "use e.g. 2024-05-17T09:30:00Z",
            )
        )
    if kind == "screen" and "timezone" in payload:
        found.append(
            _warning(
                "timezone is not sent: Segment's Send Screen leaves context.timezone out",
                ("timezone",),
            )
        )
    return found


# --- requests --------------------------------------------------------------------------------


def _detail(reply: Reply) -> str:
    if isinstance(reply.json, dict) and isinstance(reply.json.get("message"), str):
        return reply.json["message"]
    return reply.text.strip()  # whole: views redact it, then cut it


def failure_reason(reply: Reply) -> str:
    """What a 400/401/403 from the Tracking API means, for the user."""
    detail = _detail(reply)
    suffix = f": {detail}" if detail else ""
    if reply.status in (401, 403):
        return (
            f"Segment rejected the write key (HTTP {reply.status}{suffix}) — check "
            "source_write_key and the endpoint region"
        )
    return (
        f"Segment rejected the request (HTTP {reply.status}{suffix}) — a message over 32 KB, a "
        "batch over 500 KB, or a body that is not valid JSON"
    )


def batch_failure(reply: Reply) -> ItemResult:
    """The outcome of every event of one batch request Segment did not take: a 400/401/403 in
    Segment's words, another refusal, a transient status still there when the transport's
    attempts ran out, or no answer at all (status 0). Not retryable: the attempts are spent."""
    if reply.status == 0:
        return unanswered(reply, "Segment")
    if reply.status in _CHECKED_STATUSES:
        return ItemResult(False, reply.status, failure_reason(reply))
    detail = _detail(reply)
    suffix = f": {detail}" if detail else ""
    if PROVIDER.is_retryable(reply.status):
        reason = f"Segment answered HTTP {reply.status} on the last attempt{suffix}"
    else:
        reason = f"Segment refused the batch (HTTP {reply.status}{suffix})"
    return ItemResult(False, reply.status, reason)


_ACCEPTED = Reply(200, {"success": True})


def _plan_single(kind: str, payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    region = region_for(ctx.settings)
    if not has_identifier(payload):
        raise ActionFailed(MISSING_ID_ERROR, status=400)
    message = BUILDERS[kind](payload)
    reply = yield Request(
        "POST",
        SEND[kind].url(region.host),
        _headers(ctx.settings),
        json=message,
        repeat=_repeat([message]),
        purpose=f"send {kind} ({region.title} region)",
        dry_run_reply=_ACCEPTED,
        handles=_CHECKED_STATUSES,
    )
    if not reply.ok:
        raise ActionFailed(failure_reason(reply), status=reply.status)


def _repeat(messages: list[dict[str, Any]]) -> Repeat | None:
    """Segment deduplicates by `messageId`; a message without one gets a new id from Segment
    on every attempt, so its request must not be repeated."""
    if all(message.get("messageId") for message in messages):
        return None
    return Repeat.NOT_IDEMPOTENT


def pack(sizes: list[int], max_bytes: int, max_events: int) -> list[list[int]]:
    """Greedy split of messages (by serialised size) into `{"batch":[…]}` bodies that each stay
    within `max_bytes` and `max_events`; returns positions into `sizes`, order kept."""
    chunks: list[list[int]] = []
    current: list[int] = []
    used = _BATCH_ENVELOPE_BYTES
    for position, size in enumerate(sizes):
        cost = size + (1 if current else 0)  # the comma between items
        if current and (used + cost > max_bytes or len(current) >= max_events):
            chunks.append(current)
            current, used, cost = [], _BATCH_ENVELOPE_BYTES, size
        current.append(position)
        used += cost
    if current:
        chunks.append(current)
    return chunks


Items = list[tuple[int, dict[str, Any], bytes]]  # (payload index, message, its JSON bytes)
Delivery = Generator[Request, Reply, dict[int, ItemResult]]


def _deliver(kind: str, region: Region, settings: Mapping[str, Any], items: Items) -> Delivery:
    """Send one batch; on a 400 split it in halves and resend them, so only the events Segment
    refuses fail (safe: a 400 refuses the whole batch, so nothing was accepted twice). Any
    other failure, after the transport's retries, fails this request's events only."""
    messages = [message for _, message, _ in items]
    request = Request(
        "POST",
        BATCH.url(region.host),
        _headers(settings),
        json={"batch": messages},
        repeat=_repeat(messages),
        purpose=f"send {len(items)} {kind} call(s) in a batch ({region.title} region)",
        dry_run_reply=_ACCEPTED,
        handles=_CHECKED_STATUSES,
        sees_failure=True,
    )
    # Each message was serialised to size the batches: the body is those bytes, joined.
    reply = yield request.with_wire(b'{"batch":[' + b",".join(w for _, _, w in items) + b"]}")
    if reply.ok:
        accepted = ItemResult(True, reply.status)  # a value: one for the whole batch
        return {index: accepted for index, _, _ in items}
    if reply.status == 400 and len(items) > 1:
        middle = len(items) // 2
        first = yield from _deliver(kind, region, settings, items[:middle])
        second = yield from _deliver(kind, region, settings, items[middle:])
        return {**first, **second}
    failed = batch_failure(reply)
    return {index: failed for index, _, _ in items}


def _plan_batch(
    kind: str,
    payloads: list[dict[str, Any]],
    ctx: ActionContext,
    planned: list[tuple[Request, ...]] | None = None,
) -> RequestPlan:
    """`POST /batch` requests for many payloads; returns one `ItemResult` per payload. Events
    over 32 KB, or without an identifier, fail alone without being sent. With `planned` (each
    payload's single-call request from the dry run), each message and its bytes are taken from
    there: a batch item is exactly the single call's body."""
    region = region_for(ctx.settings)
    results: dict[int, ItemResult] = {}
    sendable: Items = []
    sizes: list[int] = []
    for index, payload in enumerate(payloads):
        if not has_identifier(payload):
            results[index] = ItemResult(False, reason=MISSING_ID_ERROR)
            continue
        single = planned[index] if planned is not None else ()
        if len(single) == 1 and isinstance(single[0].json, dict):
            message, wire = single[0].json, single[0].body()
        else:
            message = BUILDERS[kind](payload)
            wire = jsonwire.dumps(message)
        if len(wire) > MAX_EVENT_BYTES:
            results[index] = ItemResult(False, reason=_too_large(len(wire)))
            continue
        sendable.append((index, message, wire))
        sizes.append(len(wire))
    rejected: ItemResult | None = None
    for chunk in pack(sizes, MAX_BATCH_BYTES, MAX_BATCH_EVENTS):
        items = [sendable[position] for position in chunk]
        if rejected is not None:
            results.update((index, rejected) for index, _, _ in items)
            continue
        outcome = yield from _deliver(kind, region, ctx.settings, items)
        results.update(outcome)
        # A refused write key refuses every later batch too: fail them without sending.
        rejected = next((r for r in outcome.values() if r.status in (401, 403)), None)
    return [results[index] for index in range(len(payloads))]


def _plan_batch_planned(
    kind: str,
    payloads: list[dict[str, Any]],
    planned: list[tuple[Request, ...]],
    ctx: ActionContext,
) -> RequestPlan:
    return _plan_batch(kind, payloads, ctx, planned)


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    key = ctx.settings.get("source_write_key", "")
    reply = yield Request(
        "GET",
        SOURCE_SETTINGS.url(CDN_HOST, writeKey=key),
        purpose="check the source write key",
        handles=frozenset({401, 403, 404}),
    )
    if not reply.ok:
        phrase = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}[reply.status]
        raise ActionFailed(f"Credentials are invalid: {reply.status} {phrase}", status=reply.status)


# --- provider --------------------------------------------------------------------------------


def _action(
    kind: str, title: str, description: str, fields: tuple[Field, ...], default_trigger: str
) -> Action:
    return Action(
        name=f"send{kind.title()}",
        title=title,
        description=description,
        fields=fields,
        plan=partial(_plan_single, kind),
        repeat=Repeat.KEYED,
        default_trigger=default_trigger,
        check=partial(_check, kind),
        batch=BatchSpec(MAX_BATCH_EVENTS, MAX_BATCH_BYTES, BATCH_DOC_URL),
        plan_batch=partial(_plan_batch, kind),
        layout=LAYOUTS[kind],
        plan_batch_planned=partial(_plan_batch_planned, kind),
    )


PROVIDER = Provider(
    name="segment",
    title="Segment",
    description="Send Segment-spec calls to a Segment source through the HTTP Tracking API.",
    docs_url=DOCS_URL,
    endpoints=ENDPOINTS,
    # Segment (Actions), the HTTP Tracking API destination; its catalog page is "Segment
    # Connections"
    segment_slugs=("actions-segment", "segment-connections"),
    settings=(
        Setting(
            "source_write_key",
            "Source Write Key",
            "The write key of the Segment source that receives the calls.",
            required=True,
            secret=True,
        ),
        Setting(
            "endpoint",
            "Endpoint",
            "The region of the receiving workspace: north_america (api.segment.io) or europe "
            "(events.eu1.segmentapis.com). An EU source sent to the US endpoint gets no error, "
            "but its events never appear.",
            default=DEFAULT_REGION,
            enum=tuple(REGIONS),
        ),
    ),
    actions=(
        _action(
            "identify",
            "Send Identify",
            "Send an identify call to Segment's tracking API. This is used to tie your users to "
            "their actions and record traits about them.",
            IDENTIFY_FIELDS,
            'type = "identify"',
        ),
        _action(
            "track",
            "Send Track",
            "Send a track call to Segment's tracking API. This is used to record actions your "
            "users perform.",
            TRACK_FIELDS,
            'type = "track"',
        ),
        _action(
            "page",
            "Send Page",
            "Send a page call to Segment's tracking API. This is used to track website page views.",
            PAGE_FIELDS,
            'type = "page"',
        ),
        _action(
            "screen",
            "Send Screen",
            "Send a screen call to Segment's tracking API. This is used to track mobile app "
            "screen views.",
            SCREEN_FIELDS,
            'type = "screen"',
        ),
        _action(
            "group",
            "Send Group",
            "Send a group call to Segment's tracking API. This is used to associate an "
            "individual user with a group.",
            GROUP_FIELDS,
            'type = "group"',
        ),
    ),
    rate_limit=RATE_LIMIT,
    derived_secrets=_derived_secrets,
    check_settings=_check_settings,
    test_authentication=_test_authentication,
)
