"""The actions of Segment's Customer.io destination: fields, intermediate objects, checks.

Field order and defaults follow Segment's action definitions, because the payload's key order
(and so the entity's) follows the field order. Reference: customerio.md §3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdpctl import codes, jsonwire
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.providers.base import (
    Action,
    ActionContext,
    BatchSpec,
    Field,
    FieldType,
    Format,
    Repeat,
    Request,
    RequestPlan,
)
from cdpctl.providers.customerio.api import (
    BATCH_DOC_URL,
    DELIVERY_METRICS,
    ENTITY,
    JUDGED_STATUSES,
    LIMITS_DOC_URL,
    MAX_ATTRIBUTE_NAME_BYTES,
    MAX_ATTRIBUTE_VALUE_BYTES,
    MAX_ATTRIBUTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_DATA_BYTES,
    MAX_EVENT_NAME_BYTES,
    failure,
    headers,
    track_host,
)
from cdpctl.providers.customerio.batch import make_plan_batch, make_plan_batch_planned
from cdpctl.providers.customerio.dates import (
    UNIX_TEXT,
    convert_attribute_dates,
    event_time,
    iso_date_seconds,
)
from cdpctl.providers.customerio.entity import (
    MISSING,
    build_entity,
    converts_dates,
    resolve_identifiers,
    truthy,
)
from cdpctl.providers.payload import format_problem

Entity = dict[str, Any]
Payload = dict[str, Any]


def _path(path: str) -> dict[str, str]:
    return {"@path": path}


def _if_exists(path: str, otherwise: str) -> dict[str, Any]:
    return {"@if": {"exists": _path(path), "then": _path(path), "else": _path(otherwise)}}


def _without(payload: Mapping[str, Any], *keys: str) -> Payload:
    return {key: value for key, value in payload.items() if key not in keys}


# --- fields shared by several actions -------------------------------------------------------

PERSON_ID_NOTE = (
    "Becomes the person identifier: `cio_…` → cio_id, an email address → email, else id."
)


def _person_id(name: str, description: str, *, required: bool = False) -> Field:
    return Field(
        name,
        FieldType.STRING,
        "Person ID",
        f"{description} {PERSON_ID_NOTE}",
        required=required,
        default=_path("$.userId"),
    )


def _anonymous_id(description: str) -> Field:
    return Field(
        "anonymous_id",
        FieldType.STRING,
        "Anonymous ID",
        description,
        default=_path("$.anonymousId"),
    )


EVENT_ID = Field(
    "event_id",
    FieldType.STRING,
    "Event ID",
    "Sent as the entity's `id`; Customer.io de-duplicates events by it.",
    default=_path("$.messageId"),
)
TIMESTAMP = Field(
    "timestamp",
    FieldType.STRING,
    "Timestamp",
    "When it happened. A date string is sent as Unix seconds; a number or a digit string is "
    "taken as Unix time already; a string that does not parse is sent unchanged.",
    default=_path("$.timestamp"),
)
CONVERT_TIMESTAMP = Field(
    "convert_timestamp",
    FieldType.BOOLEAN,
    "Convert Timestamps",
    "Convert strict ISO-8601 date strings in the entity (attributes included) to Unix seconds.",
    default=True,
)
EVENT_DATA = Field(
    "data",
    FieldType.OBJECT,
    "Event Attributes",
    f"Sent as the entity's `attributes` (at most {MAX_EVENT_DATA_BYTES:,} bytes).",
    default=_path("$.properties"),
)
OBJECT_TYPE_FROM_PROPERTIES = Field(
    "object_type_id",
    FieldType.STRING,
    "Object Type ID",
    'The object type; "1" when unset.',
    default=_if_exists("$.properties.object_type_id", "$.properties.objectTypeId"),
)
OBJECT_ID_FROM_PROPERTIES = Field(
    "object_id",
    FieldType.STRING,
    "Object ID",
    "The object's ID.",
    default=_path("$.properties.objectId"),
)
BATCHING_FIELDS = (
    Field(
        "enable_batching",
        FieldType.BOOLEAN,
        "Batch Data to Customer.io",
        "When cdpctl replays events, send them through /api/v2/batch. Never sent itself.",
        default=True,
    ),
    Field(
        "batch_size",
        FieldType.NUMBER,
        "Batch Size",
        "Most events per batch request (fewer when the 500 KB body limit needs it). "
        "Never sent itself.",
        default=50,
        minimum=2,
        maximum=MAX_BATCH_EVENTS,
    ),
)
BATCH = BatchSpec(max_events=MAX_BATCH_EVENTS, max_bytes=MAX_BATCH_BYTES, doc_url=BATCH_DOC_URL)


# --- intermediate objects and entities, one builder per action ------------------------------


def person_entity(payload: Payload) -> Entity:
    """createUpdatePerson: `identify` a person, with an optional object relationship."""
    attributes = _without(
        payload.get("custom_attributes") or {},
        "createdAt",
        "created_at",
        "object_type_id",
        "relationshipAttributes",
        "objectTypeId",
    )
    if truthy(payload.get("created_at", MISSING)):
        attributes["created_at"] = payload["created_at"]
    if truthy(payload.get("email", MISSING)):
        attributes["email"] = payload["email"]
    body = _without(
        payload,
        "id",
        "custom_attributes",
        "relationship_attributes",
        "created_at",
        "group_id",
        "object_type_id",
    )
    body["person_id"] = payload.get("id", MISSING)
    body["attributes"] = attributes
    group_id = payload.get("group_id", MISSING)
    if truthy(group_id):
        relationship: dict[str, Any] = {
            "identifiers": {
                "object_type_id": payload.get("object_type_id", "1"),
                "object_id": group_id,
            }
        }
        if truthy(payload.get("relationship_attributes", MISSING)):
            relationship["relationship_attributes"] = payload["relationship_attributes"]
        body["cio_relationships"] = [relationship]
    return build_entity("person", "identify", body)


def event_entity(payload: Payload) -> Entity:
    """trackEvent: a named event for a person or an anonymous visitor."""
    body = _without(payload, "id", "event_id", "data")
    body["person_id"] = payload.get("id", MISSING)
    body["id"] = payload.get("event_id", MISSING)
    body["attributes"] = payload.get("data", MISSING)
    return build_entity("person", "event", body)


def page_entity(payload: Payload) -> Entity:
    """trackPageView: the page URL is the entity's `name`."""
    body = _without(payload, "id", "event_id", "url", "data")
    body["person_id"] = payload.get("id", MISSING)
    body["name"] = payload.get("url", MISSING)
    body["attributes"] = payload.get("data", MISSING)
    if truthy(payload.get("event_id", MISSING)):
        body["id"] = payload["event_id"]
    return build_entity("person", "page", body)


def screen_entity(payload: Payload) -> Entity:
    """trackScreenView: a mobile screen view."""
    body = _without(payload, "id", "event_id", "data")
    body["person_id"] = payload.get("id", MISSING)
    body["attributes"] = payload.get("data", MISSING)
    if truthy(payload.get("event_id", MISSING)):
        body["id"] = payload["event_id"]
    return build_entity("person", "screen", body)


def _person_only(action: str) -> Callable[[Payload], Entity]:
    def build(payload: Payload) -> Entity:
        return build_entity("person", action, payload)

    build.__doc__ = f"The person `{action}` entity: identifiers only."
    return build


delete_person_entity = _person_only("delete")
suppress_person_entity = _person_only("suppress")
unsuppress_person_entity = _person_only("unsuppress")


def merge_entity(payload: Payload) -> Entity:
    """mergePeople: the secondary person is merged into the primary; no `identifiers`."""
    body = _without(payload, "primary", "secondary")
    body["primary"] = resolve_identifiers(person_id=payload.get("primary", MISSING))
    body["secondary"] = resolve_identifiers(person_id=payload.get("secondary", MISSING))
    return build_entity("person", "merge", body)


def device_entity(payload: Payload) -> Entity:
    """createUpdateDevice: `add_device`; `app_version` joins the device attributes."""
    attributes = dict(payload.get("attributes") or {})
    if truthy(payload.get("app_version", MISSING)):
        attributes["app_version"] = payload["app_version"]
    body = _without(payload, "app_version", "device_id", "platform", "last_used", "attributes")
    body["device"] = {
        "token": payload.get("device_id", MISSING),
        "platform": payload.get("platform", MISSING),
        "last_used": payload.get("last_used", MISSING),
        "attributes": attributes,
    }
    return build_entity("person", "add_device", body)


def delete_device_entity(payload: Payload) -> Entity:
    """deleteDevice: `delete_device` by token."""
    body = _without(payload, "device_id")
    body["device"] = {"token": payload.get("device_id", MISSING)}
    return build_entity("person", "delete_device", body)


def object_entity(payload: Payload) -> Entity:
    """createUpdateObject: `identify` an object related to a person, or `identify_anonymous`
    when only an anonymous ID relates to it. Dates are converted here, not again later."""
    body = _without(
        payload,
        "id",
        "convert_timestamp",
        "custom_attributes",
        "relationship_attributes",
        "user_id",
        "anonymous_id",
        "object_type_id",
    )
    anonymous_id = payload.get("anonymous_id", MISSING)
    user_id = payload.get("user_id", MISSING)
    body["anonymous_id"] = anonymous_id
    body["person_id"] = user_id
    body["attributes"] = payload.get("custom_attributes", MISSING)
    body["object_type_id"] = payload.get("object_type_id", "1")
    body["object_id"] = payload.get("id", MISSING)
    relationship_attributes = payload.get("relationship_attributes", MISSING)
    if converts_dates(payload):
        body = convert_attribute_dates(body)
        if truthy(relationship_attributes):
            relationship_attributes = convert_attribute_dates(relationship_attributes)
    if "created_at" in payload and not truthy(payload["created_at"]):
        body.pop("created_at", None)
    attributes = body["attributes"]
    if isinstance(attributes, dict) and "object_type_id" in attributes:
        body["attributes"] = _without(attributes, "object_type_id")
    action = "identify"
    relationship: dict[str, Any] | None = None
    if truthy(user_id):
        relationship = {"identifiers": resolve_identifiers(person_id=user_id)}
    elif truthy(anonymous_id):
        action = "identify_anonymous"
        relationship = {"identifiers": {"anonymous_id": anonymous_id}}
    if relationship is not None:
        if truthy(relationship_attributes):
            relationship["relationship_attributes"] = relationship_attributes
        body["cio_relationships"] = [relationship]
    return build_entity("object", action, body)


def delete_object_entity(payload: Payload) -> Entity:
    """deleteObject: the object `delete` entity."""
    return build_entity("object", "delete", payload)


def delete_relationship_entity(payload: Payload) -> Entity:
    """deleteRelationship: remove the person's relationship to the object."""
    body = dict(payload)
    body["cio_relationships"] = [
        {
            "identifiers": resolve_identifiers(
                anonymous_id=payload.get("anonymous_id", MISSING),
                person_id=payload.get("person_id", MISSING),
            )
        }
    ]
    return build_entity("object", "delete_relationships", body)


def content_entity(payload: Payload) -> Entity:
    """reportContentEvent: `viewed_content` / `clicked_content`, named after itself."""
    data = payload.get("data", MISSING)
    if isinstance(data, dict) and truthy(data.get("actionType", MISSING)):
        data = _without(data, "actionType")
    body = _without(payload, "actionType", "data")
    body["name"] = payload.get("actionType", MISSING)
    body["attributes"] = data
    return build_entity("person", str(payload.get("actionType")), body)


def metrics_body(payload: Payload, now: float) -> dict[str, Any]:
    """reportDeliveryEvent's v1 metrics body; the current time when there is no timestamp."""
    body: dict[str, Any] = {
        "delivery_id": payload.get("delivery_id"),
        "metric": payload.get("metric"),
        "timestamp": math.floor(now),
    }
    when = event_time(payload.get("timestamp"))
    if isinstance(when, str) and UNIX_TEXT.fullmatch(when):
        when = float(when) if "." in when else int(when)
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        body["timestamp"] = when
    for key in ("recipient", "reason", "href"):
        if truthy(payload.get(key, MISSING)):
            body[key] = payload[key]
    metadata = {
        key: payload[key]
        for key in ("action_name", "action_value")
        if truthy(payload.get(key, MISSING))
    }
    if metadata:
        body["metadata"] = metadata
    return body


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    """What `check` looks at for one action, beyond the field definitions."""

    build: Callable[[Payload], Entity]
    # Payload fields that become top-level entity strings (converted when they look like dates).
    date_lookalikes: tuple[str, ...] = ()
    event_name: str | None = None
    event_data: str | None = None
    person_attributes: str | None = None
    email: str | None = None
    needs_identifiers: bool = True


def _warning(message: str, path: tuple[str | int, ...], hint: str | None = None) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_RULE, message, json_path=path, hint=hint, severity=Severity.WARNING
    )


def _byte_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return len(jsonwire.dumps(value))


def _attribute_errors(attributes: Any, field: str) -> list[Diagnostic]:
    if not isinstance(attributes, dict):
        return []
    errors: list[Diagnostic] = []
    if len(attributes) > MAX_ATTRIBUTES:
        errors.append(
            Diagnostic(
                codes.PAYLOAD_TOO_LONG,
                f"{len(attributes)} attributes; Customer.io identifies at most {MAX_ATTRIBUTES} "
                "in one request (400)",
                json_path=(field,),
                hint=f"send fewer attributes — {LIMITS_DOC_URL}",
            )
        )
    for name, value in attributes.items():
        if len(name.encode()) > MAX_ATTRIBUTE_NAME_BYTES:
            errors.append(
                Diagnostic(
                    codes.PAYLOAD_TOO_LONG,
                    f"attribute name {name[:40]!r}… is {len(name.encode())} bytes; Customer.io "
                    f"accepts at most {MAX_ATTRIBUTE_NAME_BYTES}",
                    json_path=(field, name),
                    hint=LIMITS_DOC_URL,
                )
            )
        size = _byte_size(value)
        if size > MAX_ATTRIBUTE_VALUE_BYTES:
            errors.append(
                Diagnostic(
                    codes.PAYLOAD_TOO_LONG,
                    f"value of attribute {name!r} is {size} bytes; Customer.io accepts at most "
                    f"{MAX_ATTRIBUTE_VALUE_BYTES}",
                    json_path=(field, name),
                    hint=LIMITS_DOC_URL,
                )
            )
    return errors


def _check(rules: Rules) -> Callable[[Payload, Mapping[str, Any]], list[Diagnostic]]:
    def check(payload: Payload, settings: Mapping[str, Any]) -> list[Diagnostic]:
        entity = rules.build(payload)
        problems: list[Diagnostic] = []
        if rules.needs_identifiers and "identifiers" not in entity:
            problems.append(
                _warning(
                    "no identifier: none of the person ID, email or anonymous ID is set, and "
                    "Customer.io rejects an entity without identifiers (400)",
                    (),
                    "map a person ID (e.g. $.userId) or an anonymous ID",
                )
            )
        if rules.event_name is not None:
            name = payload.get(rules.event_name)
            if isinstance(name, str) and len(name.encode()) > MAX_EVENT_NAME_BYTES:
                problems.append(
                    Diagnostic(
                        codes.PAYLOAD_TOO_LONG,
                        f"'{rules.event_name}' is {len(name.encode())} bytes; Customer.io "
                        f"accepts event names of at most {MAX_EVENT_NAME_BYTES}",
                        json_path=(rules.event_name,),
                        hint=LIMITS_DOC_URL,
                    )
                )
        if rules.event_data is not None and isinstance(entity.get("attributes"), dict):
            size = _byte_size(entity["attributes"])
            if size > MAX_EVENT_DATA_BYTES:
                problems.append(
                    Diagnostic(
                        codes.PAYLOAD_TOO_LONG,
                        f"event data is {size:,} bytes; Customer.io accepts at most "
                        f"{MAX_EVENT_DATA_BYTES:,}",
                        json_path=(rules.event_data,),
                        hint=LIMITS_DOC_URL,
                    )
                )
        if rules.person_attributes is not None:
            problems.extend(_attribute_errors(entity.get("attributes"), rules.person_attributes))
        if rules.email is not None and isinstance(payload.get(rules.email), str):
            problem = format_problem(Format.EMAIL, payload[rules.email])
            if problem is not None:
                problems.append(
                    _warning(
                        f"'{rules.email}' {problem[0]}; Segment sends it unchecked, and "
                        "Customer.io cannot email this person",
                        (rules.email,),
                    )
                )
        if converts_dates(payload):
            for field in rules.date_lookalikes:
                value = payload.get(field)
                if isinstance(value, str) and iso_date_seconds(value) is not None:
                    problems.append(
                        _warning(
                            f"'{field}' looks like an ISO-8601 date and is sent as Unix seconds "
                            f"({iso_date_seconds(value)}): Segment converts every date string "
                            "of the entity, kept for parity",
                            (field,),
                            "set convert_timestamp: false to send it unchanged",
                        )
                    )
        return problems

    return check


# --- plans ----------------------------------------------------------------------------------


def _plan(build: Callable[[Payload], Entity]) -> Callable[[Payload, ActionContext], RequestPlan]:
    def plan(payload: Payload, ctx: ActionContext) -> RequestPlan:
        entity = build(payload)
        reply = yield Request(
            "POST",
            ENTITY.url(track_host(ctx.settings)),
            headers(ctx.settings),
            json=entity,
            purpose=f"{entity['type']} {entity['action']}",
            handles=JUDGED_STATUSES,
        )
        if not reply.ok:
            raise failure(reply)

    return plan


def _plan_metrics(payload: Payload, ctx: ActionContext) -> RequestPlan:
    reply = yield Request(
        "POST",
        DELIVERY_METRICS.url(track_host(ctx.settings)),
        headers(ctx.settings),
        json=metrics_body(payload, ctx.clock()),
        purpose="report delivery metric",
        handles=JUDGED_STATUSES,
    )
    if not reply.ok:
        raise failure(reply)


def _entity_action(
    name: str,
    title: str,
    description: str,
    fields: tuple[Field, ...],
    rules: Rules,
    trigger: str,
    *,
    repeat: Repeat,
    split_batches: bool = False,
) -> Action:
    return Action(
        name=name,
        title=title,
        description=description,
        fields=fields + BATCHING_FIELDS,
        plan=_plan(rules.build),
        repeat=repeat,
        default_trigger=trigger,
        check=_check(rules),
        batch=BATCH,
        plan_batch=make_plan_batch(rules.build, split_by_action=split_batches),
        plan_batch_planned=make_plan_batch_planned(rules.build, split_by_action=split_batches),
    )


# --- the actions ----------------------------------------------------------------------------

# Segment's Track Event preset skips the events other presets handle.
_HANDLED_ELSEWHERE = (
    "Application Installed",
    "Application Opened",
    "Application Uninstalled",
    "Device Created or Updated",
    "Device Deleted",
    "Relationship Deleted",
    "User Deleted",
    "User Suppressed",
    "User Unsuppressed",
    "Object Deleted",
    "Report Delivery Event",
    "Report Content Event",
)
TRACK_EVENT_TRIGGER = 'type = "track"' + "".join(
    f' and event != "{event}"' for event in _HANDLED_ELSEWHERE
)

CREATE_UPDATE_PERSON = _entity_action(
    "createUpdatePerson",
    "Create or Update Person",
    "Create a person in Customer.io or update their attributes (upsert), optionally relating "
    "them to an object.",
    (
        Field(
            "id",
            FieldType.STRING,
            "Person ID",
            f"The person's ID; the email trait when there is no userId. {PERSON_ID_NOTE}",
            default=_if_exists("$.userId", "$.traits.email"),
        ),
        _anonymous_id("Ties earlier anonymous activity to this person."),
        Field(
            "email",
            FieldType.STRING,
            "Email Address",
            "Set as the `email` attribute; the identifier when there is no person ID.",
            default={"@template": "{{traits.email}}"},
        ),
        Field(
            "created_at",
            FieldType.STRING,
            "Created At",
            "When the person was created; sent as the `created_at` attribute.",
            default=_if_exists("$.traits.created_at", "$.traits.createdAt"),
        ),
        Field(
            "group_id",
            FieldType.STRING,
            "Object ID",
            "An object to relate the person to (sent in `cio_relationships`).",
            default=_path("$.traits.objectId"),
        ),
        Field(
            "custom_attributes",
            FieldType.OBJECT,
            "Person Attributes",
            f"Added or updated, never removed (at most {MAX_ATTRIBUTES}; names ≤ "
            f"{MAX_ATTRIBUTE_NAME_BYTES} bytes, values ≤ {MAX_ATTRIBUTE_VALUE_BYTES} bytes).",
            default=_path("$.traits"),
        ),
        Field(
            "relationship_attributes",
            FieldType.OBJECT,
            "Relationship Attributes",
            "Attributes of the person–object relationship (dates inside are not converted).",
            default=_path("$.traits.relationshipAttributes"),
        ),
        Field(
            "timestamp",
            FieldType.STRING,
            "Timestamp",
            "When the person was identified; orders updates. " + TIMESTAMP.description,
            default=_path("$.timestamp"),
        ),
        CONVERT_TIMESTAMP,
        Field(
            "object_type_id",
            FieldType.STRING,
            "Object Type ID",
            'The related object\'s type; "1" when unset.',
            default=_if_exists("$.traits.object_type_id", "$.traits.objectTypeId"),
        ),
    ),
    Rules(person_entity, person_attributes="custom_attributes", email="email"),
    'type = "identify"',
    repeat=Repeat.IDEMPOTENT,
)

TRACK_EVENT = _entity_action(
    "trackEvent",
    "Track Event",
    "Track an event for a known or anonymous person.",
    (
        _person_id("id", "The person's ID."),
        _anonymous_id("Used when there is no person ID."),
        Field(
            "name",
            FieldType.STRING,
            "Event Name",
            f"The event's name (at most {MAX_EVENT_NAME_BYTES} bytes).",
            required=True,
            default=_path("$.event"),
        ),
        EVENT_ID,
        TIMESTAMP,
        EVENT_DATA,
        CONVERT_TIMESTAMP,
    ),
    Rules(
        event_entity,
        date_lookalikes=("name", "event_id"),
        event_name="name",
        event_data="data",
    ),
    TRACK_EVENT_TRIGGER,
    repeat=Repeat.NOT_IDEMPOTENT,
)

TRACK_PAGE_VIEW = _entity_action(
    "trackPageView",
    "Track Page View",
    "Track a page view for a known or anonymous person.",
    (
        _person_id("id", "The person's ID."),
        _anonymous_id("Used when there is no person ID."),
        EVENT_ID,
        Field(
            "url",
            FieldType.STRING,
            "Page URL",
            "The page visited; sent as the entity's `name`.",
            required=True,
            default=_path("$.properties.url"),
        ),
        TIMESTAMP,
        EVENT_DATA,
        CONVERT_TIMESTAMP,
    ),
    Rules(page_entity, date_lookalikes=("url", "event_id"), event_data="data"),
    'type = "page"',
    repeat=Repeat.NOT_IDEMPOTENT,
)

TRACK_SCREEN_VIEW = _entity_action(
    "trackScreenView",
    "Track Screen View",
    "Track a mobile screen view for a known or anonymous person.",
    (
        _person_id("id", "The person's ID."),
        _anonymous_id("Used when there is no person ID."),
        EVENT_ID,
        Field(
            "name",
            FieldType.STRING,
            "Screen name",
            f"The screen viewed (at most {MAX_EVENT_NAME_BYTES} bytes).",
            required=True,
            default=_path("$.name"),
        ),
        TIMESTAMP,
        EVENT_DATA,
        CONVERT_TIMESTAMP,
    ),
    Rules(
        screen_entity,
        date_lookalikes=("name", "event_id"),
        event_name="name",
        event_data="data",
    ),
    'type = "screen"',
    repeat=Repeat.NOT_IDEMPOTENT,
)

DELETE_PERSON = _entity_action(
    "deletePerson",
    "Delete Person",
    "Delete a person from Customer.io.",
    (_person_id("person_id", "The person to delete.", required=True),),
    Rules(delete_person_entity),
    'event = "User Deleted"',
    repeat=Repeat.IDEMPOTENT,
)

SUPPRESS_PERSON = _entity_action(
    "suppressPerson",
    "Suppress Person",
    "Suppress a person: delete them and stop them from being added again.",
    (_person_id("person_id", "The person to suppress.", required=True),),
    Rules(suppress_person_entity),
    'event = "User Suppressed"',
    repeat=Repeat.IDEMPOTENT,
)

UNSUPPRESS_PERSON = _entity_action(
    "unsuppressPerson",
    "Unsuppress Person",
    "Unsuppress a person so that they can be added again.",
    (_person_id("person_id", "The person to unsuppress.", required=True),),
    Rules(unsuppress_person_entity),
    'event = "User Unsuppressed"',
    repeat=Repeat.IDEMPOTENT,
)

MERGE_PEOPLE = _entity_action(
    "mergePeople",
    "Merge People",
    "Merge two people: the secondary's data moves to the primary, then it is deleted.",
    (
        Field(
            "primary",
            FieldType.STRING,
            "Primary User",
            f"The person that remains. {PERSON_ID_NOTE}",
            required=True,
            default=_path("$.userId"),
        ),
        Field(
            "secondary",
            FieldType.STRING,
            "Secondary User",
            f"The person merged into the primary and deleted. {PERSON_ID_NOTE}",
            required=True,
            default=_path("$.previousId"),
        ),
    ),
    Rules(merge_entity, needs_identifiers=False),
    'type = "alias"',
    repeat=Repeat.IDEMPOTENT,
)

CREATE_UPDATE_DEVICE = _entity_action(
    "createUpdateDevice",
    "Create or Update Device",
    "Create or update a person's mobile device (push token).",
    (
        _person_id("person_id", "The person the device belongs to.", required=True),
        Field(
            "device_id",
            FieldType.STRING,
            "Device ID",
            "The device's push token.",
            required=True,
            default=_path("$.context.device.token"),
        ),
        Field(
            "app_version",
            FieldType.STRING,
            "App Version",
            "Added to the device attributes as `app_version`.",
            default=_path("$.context.app.version"),
        ),
        Field(
            "platform",
            FieldType.STRING,
            "Platform",
            'The device platform ("ios" or "android").',
            required=True,
            default=_path("$.context.device.type"),
        ),
        Field(
            "last_used",
            FieldType.STRING,
            "Last Used",
            "When the device was last used (an ISO date is sent as Unix seconds).",
            default=_path("$.timestamp"),
        ),
        Field(
            "attributes",
            FieldType.OBJECT,
            "Event Attributes",
            "Device attributes.",
            default=_path("$.properties"),
        ),
        CONVERT_TIMESTAMP,
    ),
    Rules(device_entity),
    'event = "Application Installed" or event = "Application Opened" '
    'or event = "Device Created or Updated"',
    repeat=Repeat.IDEMPOTENT,
)

DELETE_DEVICE = _entity_action(
    "deleteDevice",
    "Delete Device",
    "Delete a person's device.",
    (
        _person_id("person_id", "The person the device belongs to.", required=True),
        Field(
            "device_id",
            FieldType.STRING,
            "Device ID",
            "The device's push token.",
            required=True,
            default=_path("$.context.device.token"),
        ),
    ),
    Rules(delete_device_entity),
    'event = "Application Uninstalled" or event = "Device Deleted"',
    repeat=Repeat.IDEMPOTENT,
)

CREATE_UPDATE_OBJECT = _entity_action(
    "createUpdateObject",
    "Create or Update Object",
    "Create or update an object (e.g. a company or account) and relate a person to it.",
    (
        Field(
            "id",
            FieldType.STRING,
            "Object ID",
            "The object's ID.",
            required=True,
            default=_path("$.groupId"),
        ),
        Field(
            "created_at",
            FieldType.STRING,
            "Created At",
            "When the object was created; sent at the top level of the entity.",
            default=_if_exists("$.traits.created_at", "$.traits.createdAt"),
        ),
        Field(
            "custom_attributes",
            FieldType.OBJECT,
            "Object Attributes",
            "Added or updated, never removed.",
            default=_path("$.traits.objectAttributes"),
        ),
        Field(
            "relationship_attributes",
            FieldType.OBJECT,
            "Relationship Attributes",
            "Attributes of the person–object relationship.",
            default=_path("$.traits.relationshipAttributes"),
        ),
        Field(
            "user_id",
            FieldType.STRING,
            "User ID",
            f"The person related to the object. {PERSON_ID_NOTE}",
            default=_path("$.userId"),
        ),
        _anonymous_id("Relates an anonymous visitor when there is no user ID."),
        Field(
            "object_type_id",
            FieldType.STRING,
            "Object Type ID",
            'The object type; "1" when unset.',
            default=_if_exists("$.traits.object_type_id", "$.traits.objectTypeId"),
        ),
        CONVERT_TIMESTAMP,
    ),
    Rules(object_entity),
    'type = "group"',
    split_batches=True,
    repeat=Repeat.IDEMPOTENT,
)

DELETE_OBJECT = _entity_action(
    "deleteObject",
    "Delete Object",
    "Delete an object.",
    (OBJECT_ID_FROM_PROPERTIES, OBJECT_TYPE_FROM_PROPERTIES),
    Rules(delete_object_entity),
    'event = "Object Deleted"',
    repeat=Repeat.IDEMPOTENT,
)

DELETE_RELATIONSHIP = _entity_action(
    "deleteRelationship",
    "Delete Relationship",
    "Remove a person's relationship to an object.",
    (
        _person_id("person_id", "The person whose relationship is removed.", required=True),
        _anonymous_id("Sent as the `anonymous_id` attribute."),
        Field(
            "object_id",
            FieldType.STRING,
            "Object ID",
            "The object's ID.",
            required=True,
            default=_path("$.properties.objectId"),
        ),
        OBJECT_TYPE_FROM_PROPERTIES,
    ),
    Rules(delete_relationship_entity),
    'event = "Relationship Deleted"',
    repeat=Repeat.IDEMPOTENT,
)

REPORT_CONTENT_EVENT = _entity_action(
    "reportContentEvent",
    "Report Content Event",
    "Report that an anonymous visitor viewed or clicked content.",
    (
        _anonymous_id("The visitor; the only identifier this action sends."),
        Field(
            "actionType",
            FieldType.STRING,
            "Action Type",
            "The content event; also its name.",
            required=True,
            default=_path("$.properties.actionType"),
            enum=("viewed_content", "clicked_content"),
        ),
        TIMESTAMP,
        Field(
            "data",
            FieldType.OBJECT,
            "Event Attributes",
            "Sent as `attributes`, without `actionType`.",
            default=_path("$.properties"),
        ),
        CONVERT_TIMESTAMP,
    ),
    Rules(content_entity, event_data="data"),
    'event = "Report Content Event"',
    repeat=Repeat.NOT_IDEMPOTENT,
)

REPORT_DELIVERY_EVENT = Action(
    name="reportDeliveryEvent",
    title="Report Delivery Event",
    description="Report a delivery metric of a message sent by Customer.io Journeys "
    "(v1 metrics API; never batched).",
    fields=(
        Field(
            "delivery_id",
            FieldType.STRING,
            "Delivery ID",
            "The CIO-Delivery-ID of the message.",
            required=True,
            default=_path("$.properties.deliveryId"),
        ),
        Field(
            "metric",
            FieldType.STRING,
            "Metric",
            "The metric to report; not every metric exists for every channel.",
            required=True,
            default=_path("$.properties.metric"),
            enum=(
                "delivered",
                "opened",
                "clicked",
                "converted",
                "spammed",
                "bounced",
                "dropped",
                "deferred",
            ),
        ),
        Field(
            "recipient",
            FieldType.STRING,
            "Recipient",
            "Who received it: email address, phone number or device token, by channel.",
            default=_path("$.properties.recipient"),
        ),
        Field(
            "reason",
            FieldType.STRING,
            "Reason",
            "Why it failed, for failure metrics.",
            default=_path("$.properties.reason"),
        ),
        Field(
            "href",
            FieldType.STRING,
            "Href",
            "The link clicked, for click metrics.",
            default=_path("$.properties.href"),
        ),
        Field(
            "action_name",
            FieldType.STRING,
            "Action Name",
            "The in-app action clicked.",
            default=_path("$.properties.actionName"),
        ),
        Field(
            "action_value",
            FieldType.STRING,
            "Action Value",
            "The value of the in-app action clicked.",
            default=_path("$.properties.actionValue"),
        ),
        Field(
            "timestamp",
            FieldType.DATETIME,
            "Timestamp",
            "When the metric happened; the time of sending when unset.",
            default=_path("$.timestamp"),
        ),
    ),
    plan=_plan_metrics,
    repeat=Repeat.NOT_IDEMPOTENT,
    default_trigger='event = "Report Delivery Event"',
)

ACTIONS = (
    CREATE_UPDATE_PERSON,
    TRACK_EVENT,
    TRACK_PAGE_VIEW,
    TRACK_SCREEN_VIEW,
    DELETE_PERSON,
    CREATE_UPDATE_DEVICE,
    DELETE_DEVICE,
    CREATE_UPDATE_OBJECT,
    DELETE_OBJECT,
    DELETE_RELATIONSHIP,
    MERGE_PEOPLE,
    SUPPRESS_PERSON,
    UNSUPPRESS_PERSON,
    REPORT_CONTENT_EVENT,
    REPORT_DELIVERY_EVENT,
)
