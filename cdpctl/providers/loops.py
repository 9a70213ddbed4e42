"""Loops (Actions): create/update contacts and send events.

API: https://loops.so/docs/api-reference — reference: shared/reference/providers/loops.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.providers.base import (
    Action,
    ActionContext,
    Endpoint,
    Field,
    FieldType,
    Format,
    Provider,
    RateLimit,
    Repeat,
    Request,
    RequestPlan,
    Setting,
    Upsert,
)
from cdpctl.providers.payload import describe

HOST = "https://app.loops.so"
DOCS_URL = "https://loops.so/docs/api-reference"
CONTACT_UPDATE = Endpoint("PUT", "/api/v1/contacts/update", f"{DOCS_URL}/update-contact")
EVENT_SEND = Endpoint("POST", "/api/v1/events/send", f"{DOCS_URL}/send-event")
API_KEY_CHECK = Endpoint("GET", "/api/v1/api-key", DOCS_URL)
# Read by `cdpctl account pull`: every contact property (`?list=all`: default and custom ones),
# each `{key, label, type}` with type string, number, boolean or date; and the mailing lists,
# each `{id, name, description, isPublic}`. Neither is paginated.
CONTACT_PROPERTIES = Endpoint(
    "GET", "/api/v1/contacts/properties", f"{DOCS_URL}/list-contact-properties"
)
CONTACT_PROPERTIES_QUERY = "?list=all"
MAILING_LISTS = Endpoint("GET", "/api/v1/lists", f"{DOCS_URL}/list-mailing-lists")
#: Loops' contact property types (PROPERTY_TYPES_URL).
PROPERTY_TYPES = ("string", "number", "boolean", "date")
ENDPOINTS = (CONTACT_UPDATE, EVENT_SEND, API_KEY_CHECK, CONTACT_PROPERTIES, MAILING_LISTS)
# Loops documents a per-team baseline of ~10 requests/second, answered with 429 beyond it.
RATE_LIMIT = RateLimit(10, "https://loops.so/docs/api-reference/intro#rate-limiting")


def _if_exists(path: str, otherwise: Any) -> dict[str, Any]:
    return {"@if": {"exists": {"@path": path}, "then": {"@path": path}, "else": otherwise}}


def _headers(settings: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (
        ("Authorization", f"Bearer {settings['apiKey']}"),
        ("Content-Type", "application/json"),
    )


# --- createOrUpdateContact -------------------------------------------------------------------

CONTACT_FIELDS = (
    Field(
        "createdAt",
        FieldType.DATETIME,
        "Contact Created Date",
        "Date the contact was created; sent unchanged (an epoch number stays a number).",
    ),
    Field(
        "customAttributes",
        FieldType.OBJECT,
        "Custom Contact Attributes",
        "Attributes keyed by Loops contact property; spread into the top level of the body.",
        default={"@path": "$.traits"},
    ),
    Field(
        "email",
        FieldType.STRING,
        "Contact Email",
        "Email of the contact. Loops needs it to create a contact (an update can match on userId).",
        default=_if_exists("$.traits.email", {"@path": "$.email"}),
        format=Format.EMAIL,
    ),
    Field("firstName", FieldType.STRING, "First Name", default={"@path": "$.traits.firstName"}),
    Field("lastName", FieldType.STRING, "Last Name", default={"@path": "$.traits.lastName"}),
    Field(
        "mailingLists",
        FieldType.OBJECT,
        "Mailing Lists",
        "A map {listId: true|false}: true subscribes, false unsubscribes. (Segment refuses an "
        "array here; the array form [{listId, subscribed}] works inside traits.)",
    ),
    Field(
        "source",
        FieldType.STRING,
        "Source",
        "Where the contact came from.",
        default=_if_exists("$.traits.source", "Segment"),
    ),
    Field(
        "subscribed",
        FieldType.BOOLEAN,
        "Subscribed",
        "Tri-state: absent keeps the preference, true re-subscribes, false unsubscribes.",
    ),
    Field("userGroup", FieldType.STRING, "User Group", default={"@path": "$.traits.userGroup"}),
    Field(
        "userId",
        FieldType.STRING,
        "User ID",
        "The contact's userId in your system.",
        required=True,
        default={"@path": "$.userId"},
    ),
)


def resolve_mailing_lists(payload: Mapping[str, Any]) -> tuple[dict[str, bool], list[str]]:
    """The wire map {listId: bool} and a description of every entry that had to be dropped.

    Accepts Loops' documented array form as well as Segment's map form (a cdpctl decision: the
    seed documents the array, Segment's code silently drops it).
    """
    mapped = payload.get("mailingLists")
    source: Any = mapped
    if not mapped:
        attributes = payload.get("customAttributes")
        source = attributes.get("mailingLists") if isinstance(attributes, dict) else None
    lists: dict[str, bool] = {}
    dropped: list[str] = []
    if isinstance(source, dict):
        entries = list(source.items())
    elif isinstance(source, list):
        entries = []
        for index, item in enumerate(source):
            if isinstance(item, dict) and "listId" in item:
                entries.append((str(item["listId"]), item.get("subscribed")))
            else:
                dropped.append(f"item {index} is not {{listId, subscribed}}")
    else:
        if source not in (None, ""):
            dropped.append("mailingLists is neither a map nor a list")
        entries = []
    for list_id, value in entries:
        if isinstance(value, bool):
            lists[list_id] = value
        elif value in ("true", "false"):
            lists[list_id] = value == "true"
        else:
            dropped.append(f'list "{list_id}" has value {value!r}; use true or false')
    return lists, dropped


def contact_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Segment's body: the custom attributes, then the other fields in the payload's (the
    mapping's) order, then mailingLists."""
    attributes = payload.get("customAttributes")
    body: dict[str, Any] = {}
    if isinstance(attributes, dict):
        body.update((k, v) for k, v in attributes.items() if k != "mailingLists")
    for key, value in payload.items():
        if key not in ("customAttributes", "mailingLists"):
            body[key] = value
    body["mailingLists"] = resolve_mailing_lists(payload)[0]
    return body


PROPERTY_TYPES_URL = "https://loops.so/docs/api-reference/create-contact-property"


def property_value_problems(properties: Any, field: str) -> list[Diagnostic]:
    """Loops contact properties are strings, numbers, booleans or dates (its API knows no other
    property type: PROPERTY_TYPES_URL). Segment sends an object or a list as it is, and Loops
    does not document what it then does, so cdpctl sends it too — and warns."""
    if not isinstance(properties, dict):
        return []
    return [
        Diagnostic(
            codes.PAYLOAD_WRONG_TYPE,
            f"{field}.{key} is {'an object' if isinstance(value, dict) else 'a list'}, but "
            "Loops contact properties are strings, numbers, booleans or dates: Loops may "
            "refuse or drop it",
            json_path=(field, key),
            hint=f"map its parts to properties of their own{_example(key, value)} — "
            + PROPERTY_TYPES_URL,
            severity=Severity.WARNING,
        )
        for key, value in properties.items()
        if key != "mailingLists" and isinstance(value, (dict, list))
    ]


def _example(key: str, value: Any) -> str:
    """` (e.g. address.city → addressCity)` for an object with keys, else nothing."""
    if isinstance(value, dict) and value:
        part = str(next(iter(value)))
        return f" (e.g. {key}.{part} → {key}{part[:1].upper()}{part[1:]})"
    return ""


#: Settings keys cdpctl fills from an account snapshot (`cdpctl account pull`): the account's
#: contact properties (key → type) and mailing list ids, and the snapshot's name. Keys mapped
#: from the event are then checked against them per event.
ACCOUNT_PROPERTIES = "cdpctl.account.contactProperties"
ACCOUNT_MAILING_LISTS = "cdpctl.account.mailingLists"
ACCOUNT_SNAPSHOT = "cdpctl.account.snapshot"


def _fits(kind: str, value: Any) -> bool:
    """Whether `value` can be a Loops property of type `kind` (null clears any property)."""
    if value is None:
        return True
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    return True


def account_problems(
    properties: Any, field: str, settings: Mapping[str, Any], lists: Any = None
) -> list[Diagnostic]:
    """Keys the account snapshot does not define, values its types refuse, and mailing lists
    it does not have: warnings, per event (none without a snapshot)."""
    known = settings.get(ACCOUNT_PROPERTIES)
    if not isinstance(known, Mapping):
        return []
    where = f"account snapshot {settings.get(ACCOUNT_SNAPSHOT)}"
    problems = []
    for key, value in properties.items() if isinstance(properties, dict) else ():
        if key == "mailingLists":
            continue
        if key not in known:
            problems.append(
                Diagnostic(
                    codes.ACCOUNT_FIELD_NOT_DEFINED,
                    f'contact property "{key}" is not defined in the Loops account ({where})',
                    json_path=(field, key),
                    hint="create it under Settings → Contact properties first, then run "
                    "`cdpctl account pull`",
                    severity=Severity.WARNING,
                )
            )
        elif not _fits(str(known[key]), value):
            problems.append(
                Diagnostic(
                    codes.ACCOUNT_FIELD_TYPE,
                    f'contact property "{key}" is {known[key]} in the Loops account ({where}), '
                    f"but this event sends {describe(value)}",
                    json_path=(field, key),
                    severity=Severity.WARNING,
                )
            )
    ids = settings.get(ACCOUNT_MAILING_LISTS)
    if isinstance(lists, dict) and isinstance(ids, (list, tuple)):
        problems += [
            Diagnostic(
                codes.ACCOUNT_LIST_NOT_FOUND,
                f'mailing list "{list_id}" does not exist in the Loops account ({where})',
                json_path=("mailingLists", list_id),
                severity=Severity.WARNING,
            )
            for list_id in lists
            if list_id not in ids
        ]
    return problems


def _check_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    lists, dropped = resolve_mailing_lists(payload)
    problems = property_value_problems(payload.get("customAttributes"), "customAttributes")
    problems += account_problems(
        payload.get("customAttributes"), "customAttributes", settings, lists
    )
    warnings = [
        Diagnostic(
            codes.PAYLOAD_RULE,
            f"mailingLists: {reason} — entry not sent",
            json_path=("mailingLists",),
            severity=Severity.WARNING,
        )
        for reason in dropped
    ]
    if "email" not in payload:
        warnings.append(
            Diagnostic(
                codes.PAYLOAD_RULE,
                "no email: Loops can update an existing contact by userId but rejects creating one "
                "without an email (400)",
                json_path=("email",),
                severity=Severity.WARNING,
            )
        )
    return problems + warnings


def _plan_contact(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    yield Request(
        "PUT",
        CONTACT_UPDATE.url(HOST),
        _headers(ctx.settings),
        json=contact_body(payload),
        purpose="create or update contact",
    )


# --- sendEvent -------------------------------------------------------------------------------

EVENT_FIELDS = (
    Field("userId", FieldType.STRING, "User ID", required=True, default={"@path": "$.userId"}),
    Field(
        "eventName",
        FieldType.STRING,
        "Event Name",
        "The event that triggers Loops.",
        required=True,
        default={"@path": "$.event"},
    ),
    Field(
        "email",
        FieldType.STRING,
        "Contact Email",
        "Needed only when the contact does not exist in Loops yet.",
        default=_if_exists("$.properties.email", {"@path": "$.context.traits.email"}),
        format=Format.EMAIL,
    ),
    Field(
        "eventProperties",
        FieldType.OBJECT,
        "Event Properties",
        "Sent nested under eventProperties.",
        default={"@path": "$.properties"},
    ),
    Field(
        "contactProperties",
        FieldType.OBJECT,
        "Contact Properties",
        "Spread into the top level of the body; e.g. map it to $.context.traits.",
    ),
)

_STANDARD_EVENT_KEYS = ("email", "eventName", "userId", "eventProperties")


def event_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    body = {key: payload[key] for key in _STANDARD_EVENT_KEYS if key in payload}
    properties = payload.get("contactProperties")
    if isinstance(properties, dict):
        body.update(properties)
    return body


def _check_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    properties = payload.get("contactProperties")
    if not isinstance(properties, dict):
        return []
    return (
        property_value_problems(properties, "contactProperties")
        + account_problems(properties, "contactProperties", settings)
        + [
            Diagnostic(
                codes.PAYLOAD_RULE,
                f'contactProperties.{key} overrides the mapped "{key}" (contact properties are '
                "spread last)",
                json_path=("contactProperties", key),
                hint=f"remove {key} from contactProperties or stop mapping {key}",
                severity=Severity.WARNING,
            )
            for key in ("email", "eventName", "userId")
            if key in properties and key in payload and properties[key] != payload[key]
        ]
    )


def _plan_event(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    yield Request(
        "POST",
        EVENT_SEND.url(HOST),
        _headers(ctx.settings),
        json=event_body(payload),
        purpose="send event",
    )


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    yield Request("GET", API_KEY_CHECK.url(HOST), _headers(ctx.settings), purpose="check API key")


PROVIDER = Provider(
    name="loops",
    title="Loops",
    description="Email for SaaS: contacts and event-triggered loops.",
    docs_url=DOCS_URL,
    endpoints=ENDPOINTS,
    segment_slugs=("actions-loops",),  # Loops (Actions)
    settings=(
        Setting(
            "apiKey", "API Key", "A Loops API key (Settings → API).", required=True, secret=True
        ),
    ),
    actions=(
        Action(
            name="createOrUpdateContact",
            upsert=Upsert.CONTACT,
            title="Create or update a contact",
            description="Create a contact in Loops, or update it when the userId/email exists.",
            fields=CONTACT_FIELDS,
            plan=_plan_contact,
            repeat=Repeat.IDEMPOTENT,
            default_trigger='type = "identify"',
            check=_check_contact,
        ),
        Action(
            name="sendEvent",
            title="Send Event",
            description="Send an event that can trigger a loop for the contact.",
            fields=EVENT_FIELDS,
            plan=_plan_event,
            repeat=Repeat.NOT_IDEMPOTENT,
            default_trigger='type = "track"',
            check=_check_event,
        ),
    ),
    rate_limit=RATE_LIMIT,
    test_authentication=_test_authentication,
)
