"""The actions of Segment's "Salesforce Marketing Cloud (Actions)" destination, by their Segment
names, so a mapping exported from Segment reads the same here (reference §2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from cdpctl import codes, jsonwire
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
    Upsert,
    learnt_id,
)
from cdpctl.providers.sfmc import api
from cdpctl.providers.sfmc.auth import authorized, bearer_headers, checked_subdomain

NO_DE_MESSAGE = (
    "In order to send an event to a data extension either Data Extension ID or Data Extension "
    "Key must be defined."
)
NOT_CONNECTED_MESSAGE = "No Data Extension Connected"
USER_ID = {"@path": "$.userId"}
T = TypeVar("T")


def colon_error(field: str, value: Any) -> Diagnostic:
    """SFMC does not allow ':' in a Contact Key; cdpctl refuses before sending (not retryable)."""
    return Diagnostic(
        codes.PAYLOAD_RULE,
        f"Contact Key \"{value}\" contains ':' which SFMC does not allow",
        json_path=(field,),
        hint="remove ':' from the identifier you map here; cdpctl does not strip it silently",
    )


# --- fields shared by the data-extension actions (Segment's sfmc-properties) ------------------

KEY = Field(
    "key",
    FieldType.STRING,
    "Data Extension Key",
    "External key of an existing data extension. Needed when no Data Extension ID is given; "
    "wins when both are set.",
)
ID = Field(
    "id",
    FieldType.STRING,
    "Data Extension ID",
    "Id (GUID) of an existing data extension. Needed when no Data Extension Key is given.",
)
KEYS = Field(
    "keys",
    FieldType.OBJECT,
    "Data Extension Primary Keys",
    "Primary-key column name → value; names exactly as in the data extension. When every key "
    "matches an existing row, SFMC updates it, otherwise it adds a row.",
    required=True,
)
CONTACT_KEYS = Field(
    "keys",
    FieldType.OBJECT,
    "Contact Key",
    "Primary keys: must contain contactKey (the column is named contactKey in SFMC); more keys "
    "may be added.",
    required=True,
    default={"contactKey": USER_ID},
    properties=(Field("contactKey", FieldType.STRING, "Contact Key", required=True),),
    additional_properties=True,  # as Segment's sfmc-properties `keys`
)
EVENT_VALUES = Field(
    "values",
    FieldType.OBJECT,
    "Data Extension Fields",
    "Non-key column name → value, e.g. Product Name, Revenue. Columns must exist in the data "
    "extension; names exactly as there.",
    required=True,
)
CONTACT_VALUES = Field(
    "values",
    FieldType.OBJECT,
    "Contact Fields",
    "Column name → value about the contact, e.g. Email, Last Name. Columns must exist in the "
    "data extension; names exactly as there.",
    required=True,
)
ENABLE_BATCHING = Field(
    "enable_batching",
    FieldType.BOOLEAN,
    "Batch data to SFMC",
    "When true, replays send up to batch_size rows per /rowset call.",
    default=False,
)
BATCH_SIZE = Field(
    "batch_size",
    FieldType.NUMBER,
    "Batch Size",
    f"Rows per /rowset call (hidden in Segment; default {api.ROWSET_BATCH_SIZE}, which is also "
    "cdpctl's cap).",
    default=api.ROWSET_BATCH_SIZE,
    minimum=1,
)
ON_MAPPING_SAVE = Field(
    "onMappingSave",
    FieldType.OBJECT,
    "Connected Data Extension",
    'Output of Segment\'s "Create or Select Data Extension" hook, as Segment exports it: '
    '{"outputs": {"id": "<data extension id>"}}.',
)
RETL_ON_MAPPING_SAVE = Field(
    "retlOnMappingSave",
    FieldType.OBJECT,
    "Connected Data Extension (Reverse ETL)",
    "The same hook output for Reverse ETL mappings; used when onMappingSave has no id.",
)


def hook_id(payload: Mapping[str, Any]) -> str | None:
    """The data extension id from `onMappingSave.outputs.id` or `retlOnMappingSave.outputs.id`."""
    for name in ("onMappingSave", "retlOnMappingSave"):
        hook = payload.get(name)
        outputs = hook.get("outputs") if isinstance(hook, dict) else None
        found = outputs.get("id") if isinstance(outputs, dict) else None
        if found not in (None, ""):
            return str(found)
    return None


def v1_de(payload: Mapping[str, Any]) -> str | None:
    """Where a V1 row goes: `key:{key}` when a key is set (it wins), else the id."""
    if payload.get("key"):
        return api.de_by_key(payload["key"])
    if payload.get("id"):
        return api.de_by_id(payload["id"])
    return None


def v2_de(payload: Mapping[str, Any]) -> str | None:
    found = hook_id(payload)
    return api.de_by_id(found) if found else None


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"keys": payload.get("keys", {}), "values": payload.get("values", {})}


def flat_row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """An async-API row: keys and values in one object (a value wins over a same-named key)."""
    return {**payload.get("keys", {}), **payload.get("values", {})}


# --- contact ---------------------------------------------------------------------------------

CONTACT_FIELDS = (
    Field(
        "contactKey",
        FieldType.STRING,
        "Contact Key",
        "Unique contact identifier; the contact is created when none has this key yet. SFMC "
        "forbids ':'.",
        required=True,
        default=USER_ID,
    ),
)


def _check_contact_key(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    value = payload.get("contactKey")
    return [colon_error("contactKey", value)] if isinstance(value, str) and ":" in value else []


def contact_request(
    subdomain: str, contact_key: str, token: str, *, sees_failure: bool = False
) -> Request:
    """`sees_failure` for one event's request inside a batch plan: its failure fails that
    event only (see `api.gave_up`)."""
    return Request(
        "POST",
        api.CONTACTS.url(api.rest_host(subdomain)),
        bearer_headers(token),
        json={"contactKey": contact_key, "attributeSets": []},
        purpose="create the contact (if new)",
        handles=api.CLIENT_ERRORS,
        sees_failure=sees_failure,
    )


def _plan_contact(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    subdomain = checked_subdomain(ctx.settings)
    reply = yield from authorized(
        ctx, lambda token: contact_request(subdomain, payload["contactKey"], token)
    )
    api.judge(reply)


# --- data extension rows (V1 and V2, /rowset) --------------------------------------------------


def rowset_request(
    subdomain: str, de: str, rows: list[dict[str, Any]], token: str, *, sees_failure: bool = False
) -> Request:
    """`sees_failure` for one chunk of a batch plan: its failure fails that chunk's rows only."""
    return Request(
        "POST",
        api.ROWSET.url(api.rest_host(subdomain), de=de),
        bearer_headers(token),
        json=rows,
        purpose=f"upsert {len(rows)} row(s) into data extension {de}",
        dry_run_reply=Reply(200, rows),
        handles=api.CLIENT_ERRORS,
        sees_failure=sees_failure,
    )


#: Settings keys cdpctl fills from an account snapshot (`cdpctl account pull`): for each data
#: extension the mapping names (`key:…` or `id:…`, lower-cased), its column names; and the
#: snapshot's name. SFMC drops a value whose column does not exist without a word, so each one
#: is said (a warning: the rest of the row is still written).
ACCOUNT_DATA_EXTENSIONS = "cdpctl.account.dataExtensions"
ACCOUNT_SNAPSHOT = "cdpctl.account.snapshot"


def dropped_columns(
    settings: Mapping[str, Any],
    reference: str,
    columns: Mapping[str, tuple[str | int, ...]],
    *,
    code: str = codes.ACCOUNT_COLUMN_NOT_FOUND,
) -> list[Diagnostic]:
    """A warning for each of `columns` (name → where in the payload) that the data extension
    `reference` lacks, by the account snapshot; none without a snapshot that knows it."""
    known = settings.get(ACCOUNT_DATA_EXTENSIONS)
    names = known.get(reference.casefold()) if isinstance(known, Mapping) else None
    if not isinstance(names, (list, tuple)):
        return []
    present = {str(name).casefold() for name in names}
    kind, _, value = reference.partition(":")
    return [
        Diagnostic(
            code,
            f'data extension {kind} "{value}" has no column "{name}" (account snapshot '
            f"{settings.get(ACCOUNT_SNAPSHOT)}): SFMC ignores it, so this value is dropped",
            json_path=where,
            hint="create the column in SFMC (then run `cdpctl account pull`), or map another",
            severity=Severity.WARNING,
        )
        for name, where in columns.items()
        if name.casefold() not in present
    ]


def _row_columns(payload: Mapping[str, Any]) -> dict[str, tuple[str | int, ...]]:
    out: dict[str, tuple[str | int, ...]] = {}
    for part in ("keys", "values"):
        found = payload.get(part)
        if isinstance(found, dict):
            out.update((str(name), (part, name)) for name in found)
    return out


def _account_reference(payload: Mapping[str, Any], by_hook: bool) -> str | None:
    if by_hook:
        found = hook_id(payload)
        return f"id:{found}" if found else None
    if payload.get("key"):
        return f"key:{payload['key']}"
    return f"id:{payload['id']}" if payload.get("id") else None


def _check_columns(
    payload: Mapping[str, Any], settings: Mapping[str, Any], by_hook: bool
) -> list[Diagnostic]:
    reference = _account_reference(payload, by_hook)
    if reference is None:
        return []
    return dropped_columns(settings, reference, _row_columns(payload))


def _check_v1(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    return _check_v1_target(payload, settings) + _check_columns(payload, settings, False)


def _check_v1_target(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    if v1_de(payload) is None:
        return [
            Diagnostic(
                codes.PAYLOAD_RULE,
                NO_DE_MESSAGE,
                json_path=("key",),
                hint="map key (the external key) or id of the data extension",
            )
        ]
    if payload.get("key") and payload.get("id"):
        return [
            Diagnostic(
                codes.PAYLOAD_RULE,
                "both key and id are set: the row goes to the data extension with key "
                f'"{payload["key"]}" and id is ignored',
                json_path=("id",),
                severity=Severity.WARNING,
            )
        ]
    return []


def _check_v2(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    if hook_id(payload) is None:
        return [
            Diagnostic(
                codes.PAYLOAD_RULE,
                NOT_CONNECTED_MESSAGE,
                json_path=("onMappingSave",),
                hint='set onMappingSave: {"outputs": {"id": "<data extension id>"}}',
            )
        ]
    return _check_columns(payload, settings, True)


def _check_v1_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    return _check_v1(payload, settings) + _contact_key_warning(payload)


def _check_v2_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    return _check_v2(payload, settings) + _contact_key_warning(payload)


def _contact_key_warning(payload: Mapping[str, Any]) -> list[Diagnostic]:
    keys = payload.get("keys")
    value = keys.get("contactKey") if isinstance(keys, dict) else None
    if isinstance(value, str) and ":" in value:
        return [
            Diagnostic(
                codes.PAYLOAD_RULE,
                f"contactKey \"{value}\" contains ':'; SFMC does not allow it in a Contact Key",
                json_path=("keys", "contactKey"),
                severity=Severity.WARNING,
            )
        ]
    return []


DeOf = Callable[[Mapping[str, Any]], str | None]


def _rowset_plan(
    de_of: DeOf, missing: str
) -> Callable[[dict[str, Any], ActionContext], RequestPlan]:
    def plan(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
        de = de_of(payload)
        if de is None:
            raise ActionFailed(missing, status=400, retryable=False)
        subdomain = checked_subdomain(ctx.settings)
        reply = yield from authorized(
            ctx, lambda token: rowset_request(subdomain, de, [row(payload)], token)
        )
        api.judge(reply)

    return plan


def chunks(items: list[T], size: int) -> list[list[T]]:
    size = max(1, size)
    return [items[start : start + size] for start in range(0, len(items), size)]


def _batch_size(payloads: list[dict[str, Any]], indexes: list[int]) -> int:
    sizes = [payloads[i].get("batch_size") for i in indexes]
    numbers = [int(s) for s in sizes if isinstance(s, (int, float)) and not isinstance(s, bool)]
    return min([api.ROWSET_BATCH_SIZE, *numbers])


def _rowset_batch_plan(
    de_of: DeOf, missing: str
) -> Callable[[list[dict[str, Any]], ActionContext], RequestPlan]:
    def plan_batch(payloads: list[dict[str, Any]], ctx: ActionContext) -> RequestPlan:
        """Rows grouped by data extension (cdpctl decision: Segment sends a whole batch to the
        first row's one), `batch_size` rows per call; a row with enable_batching false goes
        alone. Returns one result per payload."""
        results: list[ItemResult | None] = [None] * len(payloads)
        groups: dict[tuple[str, bool], list[int]] = {}
        for index, payload in enumerate(payloads):
            de = de_of(payload)
            if de is None:
                results[index] = ItemResult(False, 400, missing)
                continue
            alone = not payload.get("enable_batching")
            groups.setdefault((de, alone), []).append(index)
        subdomain = checked_subdomain(ctx.settings) if groups else ""
        for (de, alone), members in groups.items():
            size = 1 if alone else _batch_size(payloads, members)
            for chunk in chunks(members, size):
                rows = [row(payloads[i]) for i in chunk]
                reply = yield from authorized(
                    ctx,
                    partial(rowset_request, subdomain, de, rows, sees_failure=True),
                )
                for i, result in zip(
                    chunk, api.chunk_rowset_results(reply, len(chunk)), strict=True
                ):
                    results[i] = result
        return [r if r is not None else ItemResult(False, None, "not sent") for r in results]

    return plan_batch


# --- apiEvent --------------------------------------------------------------------------------

API_EVENT_FIELDS = (
    Field(
        "eventDefinitionKey",
        FieldType.STRING,
        "Event Definition Key",
        "Key of a Journey Builder API event definition that already exists in SFMC.",
        required=True,
    ),
    Field(
        "contactKey",
        FieldType.STRING,
        "Contact Key",
        "The subscriber or contact the journey starts for. SFMC forbids ':'.",
        required=True,
        default=USER_ID,
    ),
    Field(
        "data",
        FieldType.OBJECT,
        "Event Data",
        "Field name → value; names must match the event definition's schema.",
    ),
)
_API_EVENT_KEYS = tuple(f.name for f in API_EVENT_FIELDS)


def api_event_request(subdomain: str, body: dict[str, Any], token: str) -> Request:
    return Request(
        "POST",
        api.API_EVENT.url(api.rest_host(subdomain)),
        bearer_headers(token),
        json=body,
        purpose="inject a Journey Builder API event",
        dry_run_reply=Reply(201, {"eventInstanceId": "<eventInstanceId>"}),
        handles=api.CLIENT_ERRORS,
    )


def _plan_api_event(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    subdomain = checked_subdomain(ctx.settings)
    # Segment sends the mapped payload as it is (camelCase; SFMC accepts it).
    body = {key: value for key, value in payload.items() if key in _API_EVENT_KEYS}
    reply = yield from authorized(ctx, lambda token: api_event_request(subdomain, body, token))
    api.judge(reply)


# --- asyncDataExtension ----------------------------------------------------------------------

ASYNC_FIELDS = (
    KEYS,
    Field(
        EVENT_VALUES.name,
        EVENT_VALUES.type,
        EVENT_VALUES.title,
        EVENT_VALUES.description,
        required=True,
    ),
    Field(
        "enable_batching",
        FieldType.BOOLEAN,
        "Batch data to SFMC",
        "Hidden in Segment and always on: rows are sent in batches.",
        default=True,
    ),
    Field(
        "batch_bytes",
        FieldType.NUMBER,
        "Batch Bytes",
        f"Largest request body in bytes (default and cap {api.ASYNC_BATCH_BYTES}).",
        default=api.ASYNC_BATCH_BYTES,
        minimum=1,
        maximum=api.ASYNC_BATCH_BYTES,
    ),
    Field(
        "batch_size",
        FieldType.NUMBER,
        "Batch Size",
        f"Rows per request ({api.ASYNC_BATCH_SIZE_MIN}–{api.ASYNC_BATCH_SIZE_MAX}).",
        default=api.ASYNC_BATCH_SIZE,
        minimum=api.ASYNC_BATCH_SIZE_MIN,
        maximum=api.ASYNC_BATCH_SIZE_MAX,
    ),
    Field(
        "subscription_type",
        FieldType.STRING,
        "Subscription Type",
        "Segment's pipeline flag: async (submit, then poll) or sync.",
        default="async",
        enum=("sync", "async"),
    ),
    ON_MAPPING_SAVE,
    RETL_ON_MAPPING_SAVE,
)


def async_request(
    subdomain: str, de: str, items: list[dict[str, Any]], token: str, *, sees_failure: bool = False
) -> Request:
    """`sees_failure` for one chunk of a batch plan: its failure fails that chunk's rows only."""
    return Request(
        "PUT",
        api.ASYNC_ROWS.url(api.rest_host(subdomain), de=de),
        bearer_headers(token),
        json={"items": items},
        purpose=f"submit {len(items)} row(s) to the async Data Extensions API",
        dry_run_reply=Reply(202, {"requestId": "<requestId>", "resultMessages": []}),
        handles=api.CLIENT_ERRORS,
        sees_failure=sees_failure,
    )


def _plan_async(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    de = v2_de(payload)
    if de is None:
        raise ActionFailed(NOT_CONNECTED_MESSAGE, status=400, retryable=False)
    subdomain = checked_subdomain(ctx.settings)
    reply = yield from authorized(
        ctx, lambda token: async_request(subdomain, de, [flat_row(payload)], token)
    )
    api.judge(reply)
    request_id = reply.json.get("requestId") if isinstance(reply.json, dict) else None
    if request_id:
        checked = learnt_id(request_id, "the async request", ctx)
        (row,) = yield from settle_async(str(checked), 1, ctx)
        if not row.ok:
            raise ActionFailed(row.reason, status=row.status, retryable=row.retryable)


def byte_chunks(
    items: list[tuple[int, dict[str, Any]]], max_rows: int, max_bytes: int
) -> tuple[list[list[tuple[int, dict[str, Any]]]], list[tuple[int, int]]]:
    """Greedy split of (index, row) pairs so each `{"items":[…]}` body stays within both limits.
    Also returns (index, size) of rows too large to send on their own."""
    overhead = len(b'{"items":[]}')
    groups: list[list[tuple[int, dict[str, Any]]]] = []
    too_large: list[tuple[int, int]] = []
    current: list[tuple[int, dict[str, Any]]] = []
    size = overhead
    for index, item in items:
        item_size = len(jsonwire.dumps(item))
        if overhead + item_size > max_bytes:
            too_large.append((index, item_size))
            continue
        extra = item_size + (1 if current else 0)
        if current and (len(current) >= max_rows or size + extra > max_bytes):
            groups.append(current)
            current, size, extra = [], overhead, item_size
        current.append((index, item))
        size += extra
    if current:
        groups.append(current)
    return groups, too_large


def async_batch(
    ctx: ActionContext,
    subdomain: str,
    de: str,
    items: list[tuple[int, dict[str, Any]]],
    max_rows: int,
    max_bytes: int,
    results: list[ItemResult | None],
) -> RequestPlan:
    """Submit rows to one data extension in as many requests as the limits need, filling
    `results` (Segment's async submit rules, §2.6 b). A request that fails, even after the
    transport's retries, fails its own rows only."""
    groups, too_large = byte_chunks(items, max_rows, max_bytes)
    for index, item_size in too_large:
        results[index] = ItemResult(
            False,
            400,
            f"row is {item_size} bytes; one async request carries at most {max_bytes} bytes",
        )
    for group in groups:
        rows = [item for _, item in group]
        reply = yield from authorized(
            ctx,
            partial(async_request, subdomain, de, rows, sees_failure=True),
        )
        submitted = api.chunk_async_submit_results(reply, len(group))
        request_id = (
            reply.json.get("requestId") if reply.ok and isinstance(reply.json, dict) else None
        )
        if request_id:
            checked = learnt_id(request_id, "the async request", ctx)
            submitted = yield from settle_async(str(checked), len(group), ctx)
        for (index, _), result in zip(group, submitted, strict=True):
            results[index] = result


def settle_async(job_id: str, count: int, ctx: ActionContext) -> RequestPlan:
    """The rows' real outcomes: poll the accepted async request until it settles (cdpctl
    decision — Segment counts an accepted submit as delivered, so rows SFMC rejects later
    would be lost without a trace)."""
    for wait in api.ASYNC_POLL_WAITS:
        outcome = yield from plan_poll(job_id, count, ctx, wait=wait)
        if outcome.job_status == "SUCCEEDED":
            missing = ItemResult(False, None, f"async request {job_id} returned no result")
            return [*outcome.items, *[missing] * (count - len(outcome.items))][:count]
        if outcome.job_status == "FAILED":
            failed = ItemResult(False, None, f"SFMC failed async request {job_id}")
            return list(outcome.items) if len(outcome.items) == count else [failed] * count
    undetermined = ItemResult(
        False,
        None,
        f"async request {job_id} was still running after {len(api.ASYNC_POLL_WAITS)} checks; "
        "its rows may yet be written (rows are upserts, so replaying them is safe)",
    )
    return [undetermined] * count


def _limit(payload: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = payload.get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return default
    return int(min(max(value, low), high))


def _plan_async_batch(payloads: list[dict[str, Any]], ctx: ActionContext) -> RequestPlan:
    results: list[ItemResult | None] = [None] * len(payloads)
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, payload in enumerate(payloads):
        de = v2_de(payload)
        if de is None:
            results[index] = ItemResult(False, 400, NOT_CONNECTED_MESSAGE)
            continue
        groups.setdefault(de, []).append((index, flat_row(payload)))
    subdomain = checked_subdomain(ctx.settings) if groups else ""
    for de, items in groups.items():
        first = payloads[items[0][0]]
        max_rows = _limit(
            first,
            "batch_size",
            api.ASYNC_BATCH_SIZE,
            api.ASYNC_BATCH_SIZE_MIN,
            api.ASYNC_BATCH_SIZE_MAX,
        )
        max_bytes = _limit(first, "batch_bytes", api.ASYNC_BATCH_BYTES, 1, api.ASYNC_BATCH_BYTES)
        yield from async_batch(ctx, subdomain, de, items, max_rows, max_bytes, results)
    return [r if r is not None else ItemResult(False, None, "not sent") for r in results]


# --- the actions -----------------------------------------------------------------------------

ROWSET_BATCH = BatchSpec(max_events=api.ROWSET_BATCH_SIZE, doc_url=api.ROWSET_DOCS_URL)
ASYNC_BATCH = BatchSpec(
    max_events=api.ASYNC_BATCH_SIZE, max_bytes=api.ASYNC_BATCH_BYTES, doc_url=api.ASYNC_DOCS_URL
)

ACTIONS = (
    Action(
        name="contact",
        upsert=Upsert.CONTACT,
        title="Create Contact",
        description="Create a contact in SFMC's Contact Builder when none has this key yet.",
        fields=CONTACT_FIELDS,
        plan=_plan_contact,
        repeat=Repeat.IDEMPOTENT,
        default_trigger='type = "identify"',
        check=_check_contact_key,
    ),
    Action(
        name="dataExtension",
        upsert=Upsert.ROW,
        title="Send Event to Data Extension",
        description="Upsert events as rows into an existing data extension (by key or id).",
        fields=(KEY, ID, KEYS, EVENT_VALUES, ENABLE_BATCHING, BATCH_SIZE),
        plan=_rowset_plan(v1_de, NO_DE_MESSAGE),
        repeat=Repeat.IDEMPOTENT,
        check=_check_v1,
        batch=ROWSET_BATCH,
        plan_batch=_rowset_batch_plan(v1_de, NO_DE_MESSAGE),
    ),
    Action(
        name="contactDataExtension",
        upsert=Upsert.CONTACT,
        title="Send Contact to Data Extension",
        description="Upsert contact data as rows into an existing data extension (by key or id).",
        fields=(KEY, ID, CONTACT_KEYS, CONTACT_VALUES, ENABLE_BATCHING, BATCH_SIZE),
        plan=_rowset_plan(v1_de, NO_DE_MESSAGE),
        repeat=Repeat.IDEMPOTENT,
        default_trigger='type = "identify"',
        check=_check_v1_contact,
        batch=ROWSET_BATCH,
        plan_batch=_rowset_batch_plan(v1_de, NO_DE_MESSAGE),
    ),
    Action(
        name="dataExtensionV2",
        upsert=Upsert.ROW,
        title="Send Event to Data Extension (V2)",
        description="Upsert events as rows into the data extension connected by Segment's hook "
        "(by id).",
        fields=(
            KEYS,
            EVENT_VALUES,
            ENABLE_BATCHING,
            BATCH_SIZE,
            ON_MAPPING_SAVE,
            RETL_ON_MAPPING_SAVE,
        ),
        plan=_rowset_plan(v2_de, NOT_CONNECTED_MESSAGE),
        repeat=Repeat.IDEMPOTENT,
        check=_check_v2,
        batch=ROWSET_BATCH,
        plan_batch=_rowset_batch_plan(v2_de, NOT_CONNECTED_MESSAGE),
    ),
    Action(
        name="contactDataExtensionV2",
        upsert=Upsert.CONTACT,
        title="Send Contact to Data Extension (V2)",
        description="Upsert contact data as rows into the data extension connected by Segment's "
        "hook (by id).",
        fields=(
            CONTACT_KEYS,
            CONTACT_VALUES,
            ENABLE_BATCHING,
            BATCH_SIZE,
            ON_MAPPING_SAVE,
            RETL_ON_MAPPING_SAVE,
        ),
        plan=_rowset_plan(v2_de, NOT_CONNECTED_MESSAGE),
        repeat=Repeat.IDEMPOTENT,
        default_trigger='type = "identify"',
        check=_check_v2_contact,
        batch=ROWSET_BATCH,
        plan_batch=_rowset_batch_plan(v2_de, NOT_CONNECTED_MESSAGE),
    ),
    Action(
        name="apiEvent",
        title="Send API Event",
        description="Inject an entry event into a Journey Builder API event, starting the journey.",
        fields=API_EVENT_FIELDS,
        plan=_plan_api_event,
        repeat=Repeat.NOT_IDEMPOTENT,
        check=_check_contact_key,
    ),
    Action(
        name="asyncDataExtension",
        upsert=Upsert.ROW,
        title="Send Event asynchronously to Data Extension",
        description="Upsert rows through SFMC's async Data Extensions API (must be enabled for "
        "the account by Salesforce).",
        fields=ASYNC_FIELDS,
        plan=_plan_async,
        repeat=Repeat.IDEMPOTENT,
        check=_check_v2,
        batch=ASYNC_BATCH,
        plan_batch=_plan_async_batch,
    ),
)


# --- polling an async request (Segment's async pipeline, §2.6 b) -----------------------------

DEADLOCK_SUFFIX = "Rerun the transaction."


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Where an async request stands, in Segment's job terms (IN_PROGRESS, SUCCEEDED, FAILED,
    RETRYABLE_ERROR), with one result per uploaded row once they are known."""

    job_status: str
    items: tuple[ItemResult, ...] = ()


def _get(url: str, purpose: str, example: Any, wait: float = 0.0) -> Callable[[str], Request]:
    return lambda token: Request(
        "GET",
        url,
        (("Authorization", f"Bearer {token}"),),
        purpose=purpose,
        dry_run_reply=Reply(200, example),
        handles=api.ALL_ERRORS,
        wait=wait,
    )


def _poll_failure(status: int) -> PollOutcome:
    return PollOutcome("RETRYABLE_ERROR" if status in (429, 500) else "FAILED")


def row_result(item: Any) -> ItemResult:
    """One row of `/results`: OK, a deadlock worth retrying (429), or a rejected row (400)."""
    if isinstance(item, dict) and item.get("status") == "OK":
        return ItemResult(True, 200, "OK")
    message = str(item.get("message", "")) if isinstance(item, dict) else ""
    if message.rstrip().endswith(DEADLOCK_SUFFIX):
        return ItemResult(False, 429, message, retryable=True)
    return ItemResult(False, 400, message)


def plan_poll(job_id: str, upload_count: int, ctx: ActionContext, wait: float = 0.0) -> RequestPlan:
    """Ask SFMC about an async request (`/status`, then `/results` when some rows failed);
    returns a `PollOutcome`. For a poller that calls it until the job settles."""
    subdomain = checked_subdomain(ctx.settings)
    reply = yield from authorized(
        ctx,
        _get(
            api.ASYNC_STATUS.url(api.rest_host(subdomain), request_id=api.segment(job_id)),
            "ask how the async request is going",
            {"status": {"requestStatus": "Complete", "resultStatus": "OK"}},
            wait,
        ),
    )
    if not reply.ok:
        return _poll_failure(reply.status)
    status = reply.json.get("status") if isinstance(reply.json, dict) else None
    if not isinstance(status, dict):
        return PollOutcome("RETRYABLE_ERROR")  # not picked up yet, or unknown
    request_status = status.get("requestStatus")
    if request_status in ("Pending", "Executing"):
        return PollOutcome("IN_PROGRESS")
    if request_status == "Error":
        return PollOutcome("FAILED")
    if request_status == "Complete" and status.get("resultStatus") == "OK":
        return PollOutcome("SUCCEEDED", (ItemResult(True, 200, "OK"),) * upload_count)
    reply = yield from authorized(
        ctx,
        _get(
            api.ASYNC_RESULTS.url(api.rest_host(subdomain), request_id=api.segment(job_id)),
            "fetch per-row results",
            {"items": []},
        ),
    )
    if not reply.ok:
        return _poll_failure(reply.status)
    rows = reply.json.get("items") if isinstance(reply.json, dict) else None
    items = tuple(row_result(item) for item in rows or [])
    return PollOutcome("SUCCEEDED" if any(i.ok for i in items) else "FAILED", items)
