"""The classic "Salesforce Marketing Cloud" destination's fixed behaviour, as three actions.

Identify → Contact + a row in the Identify Data Extension; Track → a row in the conversion
event's Data Extension; Track → a Journey Builder API event. Keys are converted to Title Case,
nested values are left out, and context fields go to fixed column names (reference §5; the
classic destination is closed source, so the rules come from Segment's docs:
https://segment.com/docs/connections/destinations/catalog/salesforce-marketing-cloud/).

Its configuration lives in destination settings, as in Segment: `identifyExtensionExternalKey`,
`events` (conversion events), `doNotCreateOrUpdateContacts`, `apiEvents` and `batching`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.providers.base import (
    Action,
    ActionContext,
    ActionFailed,
    BatchSpec,
    Field,
    FieldType,
    ItemResult,
    Repeat,
    Reply,
    Request,
    RequestPlan,
    Skip,
    Upsert,
    is_retryable,
)
from cdpctl.providers.payload import describe
from cdpctl.providers.sfmc import api
from cdpctl.providers.sfmc.actions import (
    api_event_request,
    async_batch,
    async_request,
    chunks,
    colon_error,
    contact_request,
    dropped_columns,
    rowset_request,
)
from cdpctl.providers.sfmc.auth import authorized, bearer_headers, checked_subdomain
from cdpctl.providers.sfmc.titlecase import title_case

CONTACT_KEY = "Contact Key"
UUID_KEY = "Uuid"

# Segment context path → the fixed Data Extension column (not title-cased: note "Device-model").
CONTEXT_COLUMNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("app", "name"), "App Name"),
    (("app", "version"), "App Version"),
    (("app", "build"), "App Build"),
    (("campaign", "name"), "UTM Campaign"),
    (("campaign", "source"), "UTM Source"),
    (("campaign", "medium"), "UTM Medium"),
    (("campaign", "term"), "UTM Term"),
    (("campaign", "content"), "UTM Content"),
    (("locale",), "Locale"),
    (("userAgent",), "User Agent"),
    (("ip",), "IP Address"),
    (("device", "adTrackingEnabled"), "Ad Tracking Enabled"),
    (("device", "manufacturer"), "Device Manufacturer"),
    (("device", "model"), "Device-model"),
    (("device", "name"), "Device Name"),
    (("device", "type"), "Device Type"),
    (("network", "bluetooth"), "Bluetooth Enabled"),
    (("network", "carrier"), "Network Carrier"),
    (("network", "cellular"), "Cellular Enabled"),
    (("network", "wifi"), "Wifi Enabled"),
    (("screen", "density"), "Screen Density"),
    (("screen", "height"), "Screen Height"),
    (("screen", "width"), "Screen Width"),
)


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    """One entry of the "Conversion events" setting."""

    event: str
    external_key: str
    primary_keys: tuple[str, ...]
    uuid: bool


_EVENT_ENTRY_KEYS = ("event", "externalKey", "primaryKey", "uuidPrimaryKey")


def _setting_error(message: str, *, hint: str | None = None) -> Diagnostic:
    return Diagnostic(codes.INVALID_SETTING, message, hint=hint)


def _entry(index: int, item: Any) -> tuple[ConversionEvent | None, list[Diagnostic]]:
    where = f"settings.events[{index}]"
    if not isinstance(item, dict):
        return None, [_setting_error(f"{where} must be a mapping with event and externalKey")]
    problems = [
        Diagnostic(
            codes.INVALID_SETTING,
            f'{where} has the unknown key "{key}"',
            hint="keys: " + ", ".join(_EVENT_ENTRY_KEYS),
            severity=Severity.WARNING,
        )
        for key in item
        if key not in _EVENT_ENTRY_KEYS
    ]
    for key in ("event", "externalKey"):
        if not isinstance(item.get(key), str) or not item[key]:
            problems.append(_setting_error(f"{where}.{key} must be a non-empty string"))
    primary = item.get("primaryKey", CONTACT_KEY)
    names: tuple[str, ...] = ()
    if not isinstance(primary, str):
        problems.append(_setting_error(f"{where}.primaryKey must be a string"))
    else:
        names = tuple(name.strip() for name in primary.split(","))
        if not all(names):
            problems.append(
                _setting_error(
                    f'{where}.primaryKey "{primary}" has an empty column name',
                    hint='separate column names with single commas: "Contact Key, Order Id"',
                )
            )
        for name in names:
            if ":" in name:
                problems.append(
                    _setting_error(
                        f"{where}.primaryKey column \"{name}\" contains ':', the separator of "
                        "SFMC's row address"
                    )
                )
    uuid = item.get("uuidPrimaryKey", False)
    if not isinstance(uuid, bool):
        problems.append(_setting_error(f"{where}.uuidPrimaryKey must be true or false"))
    if any(p.severity is Severity.ERROR for p in problems):
        return None, problems
    return ConversionEvent(item["event"], item["externalKey"], names, uuid), problems


def conversion_events(
    settings: Mapping[str, Any],
) -> tuple[dict[str, ConversionEvent], list[Diagnostic]]:
    """The valid conversion events by event name, and the problems of the setting."""
    raw = settings.get("events")
    if raw is None:
        return {}, []
    if not isinstance(raw, list):
        return {}, [_setting_error("settings.events must be a list of conversion events")]
    found: dict[str, ConversionEvent] = {}
    problems: list[Diagnostic] = []
    for index, item in enumerate(raw):
        entry, entry_problems = _entry(index, item)
        problems.extend(entry_problems)
        if entry is None:
            continue
        if entry.event in found:
            problems.append(
                _setting_error(f'settings.events[{index}]: "{entry.event}" is configured twice')
            )
            continue
        found[entry.event] = entry
    return found, problems


def api_events(settings: Mapping[str, Any]) -> tuple[dict[str, str], list[Diagnostic]]:
    """Event name → Journey Builder event definition key, and the problems of the setting."""
    raw = settings.get("apiEvents")
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [
            _setting_error("settings.apiEvents must map event names to event definition keys")
        ]
    found = {k: v for k, v in raw.items() if isinstance(v, str) and v}
    problems = [
        _setting_error(f'settings.apiEvents."{k}" must be a non-empty event definition key')
        for k in raw
        if k not in found
    ]
    return found, problems


def _identify_key_problem(settings: Mapping[str, Any]) -> Diagnostic | None:
    value = settings.get("identifyExtensionExternalKey")
    if isinstance(value, str) and value:
        return None
    return _setting_error(
        "identify needs settings.identifyExtensionExternalKey (the Identify Data Extension's "
        "external key)",
        hint="copy the External Key of the data extension from SFMC's Contact Builder",
    )


def settings_problems(settings: Mapping[str, Any]) -> list[Diagnostic]:
    """Problems with the classic settings that are present (none are required)."""
    problems = conversion_events(settings)[1] + api_events(settings)[1]
    if "identifyExtensionExternalKey" in settings:
        problem = _identify_key_problem(settings)
        if problem is not None:
            problems.append(problem)
    return problems


def _batching(settings: Mapping[str, Any]) -> bool:
    return settings.get("batching") is True


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClassicRow:
    """A Data Extension row: the primary-key columns and every column's value."""

    external_key: str
    keys: dict[str, Any]
    values: dict[str, Any]

    def merged(self) -> dict[str, Any]:
        """The async API's row: keys and values in one object."""
        return {**self.keys, **self.values}


@dataclass(frozen=True, slots=True)
class Built:
    """What an event becomes: a row (or API-event body), or why not."""

    row: ClassicRow | None = None
    body: dict[str, Any] | None = None
    problems: tuple[Diagnostic, ...] = ()
    skip: str | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


def contact_key(user_id: Any, email: Any) -> str | None:
    """userId when present, else the email."""
    for candidate in (user_id, email):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _note(message: str, path: tuple[str | int, ...], severity: Severity) -> Diagnostic:
    return Diagnostic(codes.PAYLOAD_RULE, message, json_path=path, severity=severity)


def scalar_columns(data: Any, field: str) -> tuple[list[tuple[str, Any]], list[Diagnostic]]:
    """Title-cased columns of the single values in `data` (traits or properties), with a note
    for everything left out and for names that collide."""
    if not isinstance(data, dict):
        return [], []
    columns: list[tuple[str, Any]] = []
    notes: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for key, value in data.items():
        path = (field, key)
        if value is None or isinstance(value, (dict, list)):
            notes.append(
                _note(
                    f"{field}.{key} is {describe(value)}: left out (Data Extension columns hold "
                    "single values)",
                    path,
                    Severity.INFO,
                )
            )
            continue
        name = title_case(key)
        folded = name.casefold()
        if not name:
            notes.append(
                _note(
                    f'{field} key "{key}" has no letters or digits: left out',
                    path,
                    Severity.WARNING,
                )
            )
            continue
        if folded == CONTACT_KEY.casefold():
            notes.append(
                _note(
                    f"{field}.{key} is left out: the {CONTACT_KEY} column always holds the "
                    "computed Contact Key",
                    path,
                    Severity.WARNING,
                )
            )
            continue
        if folded in seen:
            notes.append(
                _note(
                    f'{field}.{seen[folded]} and {field}.{key} both become the column "{name}"; '
                    f"the later one ({key}) wins",
                    path,
                    Severity.WARNING,
                )
            )
        seen[folded] = key
        columns.append((name, value))
    return columns, notes


def put_columns(values: dict[str, Any], columns: list[tuple[str, Any]]) -> None:
    """Add columns; SFMC matches names without regard to case, so a name already present in
    any case is updated in place (the later value wins)."""
    existing = {name.casefold(): name for name in values}
    for name, value in columns:
        target = existing.setdefault(name.casefold(), name)
        values[target] = value


def context_columns(context: Any) -> list[tuple[str, Any]]:
    """The fixed context columns whose value is present (single values only)."""
    if not isinstance(context, dict):
        return []
    columns = []
    for path, name in CONTEXT_COLUMNS:
        value: Any = context
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, (dict, list)):
            columns.append((name, value))
    return columns


def _colon_problem(key: str | None) -> list[Diagnostic]:
    return [colon_error("userId", key)] if key and ":" in key else []


def identify_row(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> Built:
    """Identify → the Identify Data Extension row keyed by Contact Key (§5.2)."""
    problem = _identify_key_problem(settings)
    problems = [problem] if problem else []
    key = contact_key(payload.get("userId"), payload.get("email"))
    if key is None:
        return Built(problems=tuple(problems), skip="identify needs userId or traits.email")
    problems += _colon_problem(key)
    columns, notes = scalar_columns(payload.get("traits"), "traits")
    problems += notes
    values: dict[str, Any] = {CONTACT_KEY: key}
    put_columns(values, context_columns(payload.get("context")))
    put_columns(values, columns)
    if any(p.severity is Severity.ERROR for p in problems):
        return Built(problems=tuple(problems))
    row = ClassicRow(settings["identifyExtensionExternalKey"], {CONTACT_KEY: key}, values)
    return Built(row=row, problems=tuple(problems))


def _unconfigured(
    name: Any, configured: Mapping[str, Any], setting: str
) -> tuple[str, list[Diagnostic]]:
    near = [known for known in configured if str(known).casefold() == str(name).casefold()]
    notes = (
        [
            _note(
                f'event "{name}" matches "{near[0]}" in settings.{setting} only when case is '
                "ignored; cdpctl matches event names exactly",
                ("event",),
                Severity.WARNING,
            )
        ]
        if near
        else []
    )
    reason = f'"{name}" is not configured in settings.{setting}: nothing to send'
    if near:
        reason += f' — did you mean "{near[0]}"? (event names match exactly, case included)'
    return reason, notes


def _key_value(name: str, key: str | None, columns: list[tuple[str, Any]]) -> Any:
    if name.casefold() == CONTACT_KEY.casefold():
        return key
    for column, value in columns:
        if column.casefold() == name.casefold():
            return value
    return None


def track_row(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> Built:
    """Track → a row in the conversion event's Data Extension (§5.4)."""
    configured, problems = conversion_events(settings)
    entry = configured.get(payload.get("event", ""))
    if entry is None:
        skip, notes = _unconfigured(payload.get("event"), configured, "events")
        return Built(problems=tuple(problems + notes), skip=skip)
    user_id = payload.get("userId") if isinstance(payload.get("userId"), str) else None
    key = contact_key(user_id, payload.get("email"))
    columns, notes = scalar_columns(payload.get("properties"), "properties")
    problems += notes
    keys: dict[str, Any] = {}
    if entry.uuid:
        keys[UUID_KEY] = payload.get("messageId")
    else:
        for name in entry.primary_keys:
            keys[name] = _key_value(name, key, columns)
    for name, value in keys.items():
        if value is None or value == "":
            problems.append(_missing_key(name, entry))
    values = dict(keys)
    if user_id:
        put_columns(values, [(CONTACT_KEY, user_id)])
    used_key = next((v for k, v in values.items() if k.casefold() == "contact key"), None)
    problems += _colon_problem(used_key if isinstance(used_key, str) else None)
    put_columns(values, context_columns(payload.get("context")))
    put_columns(values, columns)
    if any(p.severity is Severity.ERROR for p in problems):
        return Built(problems=tuple(problems))
    return Built(row=ClassicRow(entry.external_key, keys, values), problems=tuple(problems))


def _missing_key(name: str, entry: ConversionEvent) -> Diagnostic:
    if entry.uuid:
        source = "messageId (UUID Primary Key is on)"
    elif name.casefold() == CONTACT_KEY.casefold():
        source = "userId or context.traits.email"
    else:
        source = f'property whose Title Case is "{name}"'
    return Diagnostic(
        codes.PAYLOAD_RULE,
        f'primary key "{name}" of "{entry.event}" has no value: the event has no {source}; '
        "SFMC would reject the row",
        hint="send the value with the event, or change primaryKey in settings.events",
    )


def api_event_body(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> Built:
    """Track → a Journey Builder API event for the configured definition key (§5.8)."""
    definitions, problems = api_events(settings)
    if _batching(settings):
        return Built(
            problems=tuple(problems),
            skip="API events are not available when batching is on (settings.batching)",
        )
    definition = definitions.get(payload.get("event", ""))
    if definition is None:
        skip, notes = _unconfigured(payload.get("event"), definitions, "apiEvents")
        return Built(problems=tuple(problems + notes), skip=skip)
    key = contact_key(payload.get("userId"), payload.get("email"))
    if key is None:
        return Built(
            problems=tuple(problems),
            skip="an API event needs userId or context.traits.email for its Contact Key",
        )
    problems += _colon_problem(key)
    columns, notes = scalar_columns(payload.get("properties"), "properties")
    problems += notes
    body: dict[str, Any] = {"contactKey": key, "eventDefinitionKey": definition}
    if columns:
        data: dict[str, Any] = {}
        put_columns(data, columns)
        body["data"] = data
    if any(p.severity is Severity.ERROR for p in problems):
        return Built(problems=tuple(problems))
    return Built(body=body, problems=tuple(problems))


# --- requests --------------------------------------------------------------------------------


def row_request(subdomain: str, row: ClassicRow, token: str) -> Request:
    """One row, upserted by its primary keys in the URL (Salesforce: "upsert a row by key")."""
    de = api.de_by_key(row.external_key)
    return Request(
        "PUT",
        api.ROW.url(api.rest_host(subdomain), de=de, keys=api.row_keys(row.keys)),
        bearer_headers(token),
        json={"values": row.values},
        purpose=f"upsert a row into data extension {row.external_key}",
        dry_run_reply=Reply(200, {"keys": row.keys, "values": row.values}),
        handles=api.CLIENT_ERRORS,
    )


RowBuilder = Callable[[Mapping[str, Any], Mapping[str, Any]], Built]


def _built_or_raise(built: Built) -> Built:
    if built.errors:
        raise ActionFailed(built.errors[0].message, status=400, retryable=False)
    if built.skip is not None:
        raise Skip(built.skip)
    return built


def _creates_contacts(settings: Mapping[str, Any]) -> bool:
    return not settings.get("doNotCreateOrUpdateContacts") and not _batching(settings)


def _send_row(ctx: ActionContext, row: ClassicRow) -> RequestPlan:
    subdomain = checked_subdomain(ctx.settings)
    if _batching(ctx.settings):
        de = api.de_by_key(row.external_key)
        reply = yield from authorized(
            ctx, lambda token: async_request(subdomain, de, [row.merged()], token)
        )
    else:
        reply = yield from authorized(ctx, lambda token: row_request(subdomain, row, token))
    api.judge(reply)


def _plan_identify(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    row = _built_or_raise(identify_row(payload, ctx.settings)).row
    assert row is not None
    if _creates_contacts(ctx.settings):
        subdomain = checked_subdomain(ctx.settings)
        key = row.keys[CONTACT_KEY]
        reply = yield from authorized(
            ctx,
            lambda token: contact_request(subdomain, key, token),
        )
        api.judge(reply)
    yield from _send_row(ctx, row)


def _plan_track(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    row = _built_or_raise(track_row(payload, ctx.settings)).row
    assert row is not None
    yield from _send_row(ctx, row)


def _plan_api_event(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    body = _built_or_raise(api_event_body(payload, ctx.settings)).body
    assert body is not None
    subdomain = checked_subdomain(ctx.settings)
    reply = yield from authorized(ctx, lambda token: api_event_request(subdomain, body, token))
    api.judge(reply)


def _batch_plan(
    build: RowBuilder, *, contacts: bool
) -> Callable[[list[dict[str, Any]], ActionContext], RequestPlan]:
    def plan_batch(payloads: list[dict[str, Any]], ctx: ActionContext) -> RequestPlan:
        """Rows grouped by Data Extension: the async API when batching is on, else /rowset
        calls of up to 10 rows (cdpctl decision). Identify creates each contact first."""
        results: list[ItemResult | None] = [None] * len(payloads)
        rows: list[tuple[int, ClassicRow]] = []
        for index, payload in enumerate(payloads):
            built = build(payload, ctx.settings)
            if built.errors:
                results[index] = ItemResult(False, 400, built.errors[0].message)
            elif built.skip is not None or built.row is None:
                results[index] = ItemResult(True, None, f"skipped: {built.skip}")
            else:
                rows.append((index, built.row))
        if not rows:
            return [r or ItemResult(False, None, "not sent") for r in results]
        subdomain = checked_subdomain(ctx.settings)
        if contacts and _creates_contacts(ctx.settings):
            rows = yield from _create_contacts(ctx, subdomain, rows, results)
        groups: dict[str, list[tuple[int, ClassicRow]]] = {}
        for index, row in rows:
            groups.setdefault(row.external_key, []).append((index, row))
        for external_key, members in groups.items():
            de = api.de_by_key(external_key)
            if _batching(ctx.settings):
                items = [(index, row.merged()) for index, row in members]
                yield from async_batch(
                    ctx, subdomain, de, items, api.ASYNC_BATCH_SIZE, api.ASYNC_BATCH_BYTES, results
                )
                continue
            for chunk in chunks(members, api.ROWSET_BATCH_SIZE):
                body = [{"keys": row.keys, "values": row.values} for _, row in chunk]
                reply = yield from authorized(
                    ctx,
                    partial(rowset_request, subdomain, de, body, sees_failure=True),
                )
                for (index, _), result in zip(
                    chunk, api.chunk_rowset_results(reply, len(chunk)), strict=True
                ):
                    results[index] = result
        return [r or ItemResult(False, None, "not sent") for r in results]

    return plan_batch


def _create_contacts(
    ctx: ActionContext,
    subdomain: str,
    rows: list[tuple[int, ClassicRow]],
    results: list[ItemResult | None],
) -> RequestPlan:
    """One contact request per row (SFMC has no batch for it); rows whose contact fails are
    not upserted. Returns the rows that remain."""
    kept = []
    for index, row in rows:
        key = row.keys[CONTACT_KEY]
        reply = yield from authorized(
            ctx, partial(contact_request, subdomain, key, sees_failure=True)
        )
        if reply.ok:
            kept.append((index, row))
        else:
            results[index] = api.gave_up(reply) or ItemResult(
                False, reply.status, api.error_message(reply), is_retryable(reply.status)
            )
    return kept


def _check(build: RowBuilder) -> Callable[[dict[str, Any], Mapping[str, Any]], list[Diagnostic]]:
    def check(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
        built = build(payload, settings)
        problems = list(built.problems)
        if built.row is not None:
            problems += _dropped_title_case(payload, settings, built.row)
        return problems

    return check


def _dropped_title_case(
    payload: Mapping[str, Any], settings: Mapping[str, Any], row: ClassicRow
) -> list[Diagnostic]:
    """The Title Case columns of this row the data extension lacks, by the account snapshot,
    each located at the trait or property it comes from."""
    sources: dict[str, tuple[str | int, ...]] = {}
    for field in ("traits", "properties"):
        data = payload.get(field)
        if isinstance(data, dict):
            for key in data:
                sources.setdefault(title_case(str(key)).casefold(), (field, key))
    columns = {
        name: sources.get(name.casefold(), ("context",)) for name in {**row.keys, **row.values}
    }
    return dropped_columns(
        settings,
        f"key:{row.external_key}",
        columns,
        code=codes.ACCOUNT_TITLE_CASE_COLUMN_MISSING,
    )


# --- fields and actions ----------------------------------------------------------------------

USER_ID = Field(
    "userId",
    FieldType.STRING,
    "User ID",
    "Becomes the Contact Key. SFMC forbids ':' in it.",
    default={"@path": "$.userId"},
)
CONTEXT = Field(
    "context",
    FieldType.OBJECT,
    "Context",
    "Segment's context; fixed fields go to fixed columns (App Name, IP Address, …).",
    default={"@path": "$.context"},
)
EVENT = Field(
    "event",
    FieldType.STRING,
    "Event Name",
    "The Track event name.",
    required=True,
    default={"@path": "$.event"},
)
CONTEXT_EMAIL = Field(
    "email",
    FieldType.STRING,
    "Email",
    "Contact Key when there is no userId.",
    default={"@path": "$.context.traits.email"},
)
PROPERTIES = Field(
    "properties",
    FieldType.OBJECT,
    "Properties",
    "Sent as Title Case columns; nested objects, arrays and nulls are left out.",
    default={"@path": "$.properties"},
)

IDENTIFY_FIELDS = (
    USER_ID,
    Field(
        "email",
        FieldType.STRING,
        "Email",
        "Contact Key when there is no userId.",
        default={"@path": "$.traits.email"},
    ),
    Field(
        "traits",
        FieldType.OBJECT,
        "Traits",
        "Sent as Title Case columns; nested objects, arrays and nulls are left out.",
        default={"@path": "$.traits"},
    ),
    CONTEXT,
)
TRACK_FIELDS = (
    EVENT,
    Field(
        "messageId",
        FieldType.STRING,
        "Message ID",
        "The Uuid primary key when a conversion event has UUID Primary Key on.",
        default={"@path": "$.messageId"},
    ),
    USER_ID,
    CONTEXT_EMAIL,
    PROPERTIES,
    CONTEXT,
)
API_EVENT_FIELDS = (EVENT, USER_ID, CONTEXT_EMAIL, PROPERTIES)

CLASSIC_BATCH = BatchSpec(
    max_events=api.ASYNC_BATCH_SIZE, max_bytes=api.ASYNC_BATCH_BYTES, doc_url=api.CLASSIC_DOCS_URL
)

ACTIONS = (
    Action(
        name="identifyDataExtension",
        upsert=Upsert.CONTACT,
        title="Identify to Contact and Identify Data Extension (classic)",
        description="Classic identify: create the contact, then upsert the user's traits "
        "(Title Case) and context into the Identify Data Extension, keyed by Contact Key.",
        fields=IDENTIFY_FIELDS,
        plan=_plan_identify,
        repeat=Repeat.IDEMPOTENT,
        default_trigger='type = "identify"',
        check=_check(identify_row),
        batch=CLASSIC_BATCH,
        plan_batch=_batch_plan(identify_row, contacts=True),
    ),
    Action(
        name="trackDataExtension",
        title="Track to conversion-event Data Extension (classic)",
        description="Classic track: upsert the event's properties (Title Case) and context into "
        "the Data Extension configured for it in settings.events.",
        fields=TRACK_FIELDS,
        plan=_plan_track,
        repeat=Repeat.IDEMPOTENT,
        default_trigger='type = "track"',
        check=_check(track_row),
        batch=CLASSIC_BATCH,
        plan_batch=_batch_plan(track_row, contacts=False),
    ),
    Action(
        name="trackApiEvent",
        title="Track to Journey Builder API event (classic)",
        description="Classic API events: start a journey for the events listed in "
        "settings.apiEvents.",
        fields=API_EVENT_FIELDS,
        plan=_plan_api_event,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger='type = "track"',
        check=_check(api_event_body),
    ),
)
