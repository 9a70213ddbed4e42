"""`updateUserProfile` ("Upsert Contact"): Marketing Campaigns contacts and list membership.

One field-definitions lookup (cached per run) turns custom-field names into IDs, then
`PUT /v3/marketing/contacts` upserts every contact; removal from lists searches the contacts'
IDs and deletes them from each list. SendGrid answers the upsert with 202 and a `job_id`: the
contacts are queued, not yet written.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cdpctl import codes, jsonwire
from cdpctl.diagnostics import Diagnostic
from cdpctl.providers.base import (
    ActionContext,
    ActionFailed,
    Field,
    FieldType,
    Format,
    ItemResult,
    Repeat,
    Reply,
    Request,
    RequestPlan,
    is_retryable,
    learnt_id,
    unanswered,
)
from cdpctl.providers.payload import E164_HINT
from cdpctl.providers.sendgrid import api

IDENTIFIER_ERROR = (
    "Contact must have at least one identifying field included "
    "(email, phone_number_id, external_id, anonymous_id)."
)
UNKNOWN_FIELD_ERROR = (
    "Unknown custom field '{key}'. To see your defined custom fields, visit "
    "https://mc.sendgrid.com/custom-fields"
)
# The shape Segment's audience action checks (RA); the number need not be assigned.
E164_SHAPE = re.compile(r"^\+[1-9]\d{1,14}$")
DEFINITIONS_TTL = 300.0  # seconds a run reuses the custom-field lookup
REFUSED_KEY = frozenset({401, 403})  # the API key is wrong, or lacks the Marketing scope
_CACHE_KEY = "sendgrid.field_definitions {url}"


def _traits_or_properties(path: str) -> dict[str, Any]:
    """Segment's default for every contact field: `$.traits.<x>`, else `$.properties.<x>`."""
    traits = f"$.traits.{path}"
    return {
        "@if": {
            "exists": {"@path": traits},
            "then": {"@path": traits},
            "else": {"@path": f"$.properties.{path}"},
        }
    }


def _contact_field(
    name: str,
    title: str,
    path: str,
    description: str = "",
    *,
    max_length: int | None = None,
    format: Format | None = None,
) -> Field:
    return Field(
        name,
        FieldType.STRING,
        title,
        description,
        default=_traits_or_properties(path),
        max_length=max_length,
        format=format,
        allow_null=True,
    )


# Lengths and formats are those of SendGrid's contact schema (api.CONTACTS_DOC); Segment's
# action checks none of them and lets SendGrid answer 400.
FIELDS = (
    Field(
        "enable_batching",
        FieldType.BOOLEAN,
        "Batch Data to SendGrid",
        "Batches can contain up to 30k records in a request. Never sent to SendGrid.",
        default=True,
    ),
    _contact_field("first_name", "First Name", "first_name", max_length=50),
    _contact_field("last_name", "Last Name", "last_name", max_length=50),
    _contact_field("country", "Country", "address.country", max_length=50),
    _contact_field("postal_code", "Postal Code", "address.postal_code"),
    _contact_field("city", "City", "address.city", max_length=60),
    _contact_field(
        "state", "State", "address.state", "Sent as state_province_region.", max_length=50
    ),
    _contact_field("address_line_1", "Address Line 1", "address.line1", max_length=100),
    _contact_field("address_line_2", "Address Line 2", "address.line2", max_length=100),
    _contact_field("phone_number", "Phone Number", "phone", "A contact attribute, not an ID."),
    _contact_field("whatsapp", "WhatsApp", "whatsapp"),
    _contact_field("line", "Line", "line"),
    _contact_field("facebook", "Facebook", "facebook"),
    _contact_field("unique_name", "Unique Name", "unique_name"),
    _contact_field(
        "primary_email",
        "Email Address",
        "email",
        "Identifier. Sent as email; SendGrid stores it in lower case. Not checked as an email "
        "address, as in Segment (jöe@example.com is sent; SendGrid judges it).",
        max_length=254,
    ),
    _contact_field(
        "phone_number_id",
        "Phone Number ID",
        "phone",
        "Identifier. Must be an E.164 phone number (+, country code, number; at most 15 digits).",
    ),
    _contact_field("external_id", "External ID", "external_id", "Identifier.", max_length=254),
    Field(
        "anonymous_id",
        FieldType.STRING,
        "Anonymous ID",
        "Identifier.",
        default={"@path": "$.anonymousId"},
        max_length=254,
        allow_null=True,
    ),
    Field(
        "customFields",
        FieldType.OBJECT,
        "Custom Fields",
        "Keyed by custom field ID or name (names are looked up, case-insensitively, and sent "
        "as IDs). Booleans, arrays, objects and null are sent as JSON text.",
    ),
    Field(
        "list_ids",
        FieldType.STRING,
        "Add to Lists",
        "IDs of the Marketing Campaigns lists to add the contact to (cdpctl addition: "
        "Segment's upsert cannot set lists).",
        multiple=True,
    ),
    Field(
        "remove_from_list_ids",
        FieldType.STRING,
        "Remove from Lists",
        "IDs of lists to remove the contact from: the contact is upserted, its ID searched by "
        "its identifiers, then deleted from each list (cdpctl addition).",
        multiple=True,
    ),
)

# Payload key → wire key of the reserved fields sent at the top level of a contact, in the
# order Segment sends them after the ones mapped: state, then email.
_RENAMED = {"state": "state_province_region", "primary_email": "email"}
_RESERVED = frozenset(
    {
        "first_name",
        "last_name",
        "country",
        "postal_code",
        "city",
        "address_line_1",
        "address_line_2",
        "phone_number",
        "whatsapp",
        "line",
        "facebook",
        "unique_name",
        "phone_number_id",
        "external_id",
        "anonymous_id",
    }
)
_IDENTIFIERS = ("primary_email", "phone_number_id", "external_id", "anonymous_id")
# SGQL identifier columns in the order Segment's audience action queries them.
_SEARCH_COLUMNS = ("email", "phone_number_id", "external_id", "anonymous_id")


# --- pure helpers ------------------------------------------------------------------------------


#: Settings keys cdpctl fills from an account snapshot (`cdpctl account pull`): the account's
#: custom fields as field_definitions lists them, and the snapshot's name. A dry run then shows
#: the real field IDs instead of placeholders, and refuses an unknown field as SendGrid would.
ACCOUNT_CUSTOM_FIELDS = "cdpctl.account.customFields"
ACCOUNT_SNAPSHOT = "cdpctl.account.snapshot"


@dataclass(frozen=True, slots=True)
class FieldDefinitions:
    """The account's custom fields: IDs, and lower-cased names → IDs."""

    ids: frozenset[str]
    by_name: Mapping[str, str]
    placeholder: bool = False  # dry run: names are shown as marked placeholders

    @classmethod
    def from_reply(cls, body: Any, *, placeholder: bool = False) -> FieldDefinitions:
        fields = body.get("custom_fields") if isinstance(body, dict) else None
        entries = [f for f in fields or [] if isinstance(f, dict) and isinstance(f.get("id"), str)]
        by_name: dict[str, str] = {}
        for entry in entries:
            if isinstance(entry.get("name"), str):
                by_name.setdefault(entry["name"].lower(), entry["id"])
        return cls(frozenset(e["id"] for e in entries), by_name, placeholder)

    def resolve(self, key: str) -> str | None:
        """An exact ID match, else a case-insensitive name match, else None."""
        if key in self.ids:
            return key
        found = self.by_name.get(key.lower())
        if found is not None:
            return found
        return f"<id of custom field {key}>" if self.placeholder else None


def custom_field_value(value: Any) -> Any:
    """Numbers and strings as they are; booleans, arrays, objects and null as JSON text."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return jsonwire.dumps_text(value)


def has_identifier(payload: Mapping[str, Any]) -> bool:
    return any(payload.get(key) not in (None, "") for key in _IDENTIFIERS)


class InvalidContact(ValueError):
    """A payload SendGrid would refuse (R fails it with 400 before the upsert)."""


def contact_body(payload: Mapping[str, Any], definitions: FieldDefinitions) -> dict[str, Any]:
    """One entry of `contacts`: reserved fields in mapping order, then state_province_region,
    email and custom_fields (always present)."""
    if not has_identifier(payload):
        raise InvalidContact(IDENTIFIER_ERROR)
    contact = {key: value for key, value in payload.items() if key in _RESERVED}
    for key, wire in _RENAMED.items():
        if key in payload:
            contact[wire] = payload[key]
    custom: dict[str, Any] = {}
    fields = payload.get("customFields")
    for key, value in (fields if isinstance(fields, dict) else {}).items():
        field_id = definitions.resolve(key)
        if field_id is None:
            raise InvalidContact(UNKNOWN_FIELD_ERROR.format(key=key))
        custom[field_id] = custom_field_value(value)
    contact["custom_fields"] = custom
    return contact


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values or () if isinstance(v, str) and v))


def list_changes(payload: Mapping[str, Any]) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The `list_ids` to send (None: leave the key out) and the lists to remove from."""
    add, remove = _unique(payload.get("list_ids")), _unique(payload.get("remove_from_list_ids"))
    return (add if add or remove else None), remove


def sgql_literal(value: str) -> str:
    """A single-quoted SGQL string; quotes and backslashes escaped (cdpctl decision)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def search_identifiers(contact: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, value) pairs a search can find the contact by; emails lower-cased, as stored."""
    pairs = []
    for column in _SEARCH_COLUMNS:
        value = contact.get(column)
        if isinstance(value, str) and value:
            pairs.append((column, value.lower() if column == "email" else value))
    return pairs


def search_query(contacts: Sequence[Mapping[str, Any]]) -> str:
    """`email IN (…) OR phone_number_id IN (…) …`, only for the columns that have values."""
    values: dict[str, list[str]] = {column: [] for column in _SEARCH_COLUMNS}
    for contact in contacts:
        for column, value in search_identifiers(contact):
            if value not in values[column]:
                values[column].append(value)
    return " OR ".join(
        f"{column} IN ({','.join(sgql_literal(v) for v in found)})"
        for column, found in values.items()
        if found
    )


def chunk_by_identifiers(
    contacts: Sequence[Mapping[str, Any]], limit: int = api.MAX_SEARCH_IDENTIFIERS
) -> list[list[int]]:
    """Positions of `contacts` split so one search holds at most `limit` identifier values."""
    chunks: list[list[int]] = []
    current: list[int] = []
    used = 0
    for position, contact in enumerate(contacts):
        count = len(search_identifiers(contact))
        if current and used + count > limit:
            chunks.append(current)
            current, used = [], 0
        current.append(position)
        used += count
    if current:
        chunks.append(current)
    return chunks


def pack_contacts(
    sizes: list[int],
    envelope: int,
    max_bytes: int = api.MAX_UPSERT_BYTES,
    max_count: int = api.MAX_CONTACTS_PER_UPSERT,
) -> list[list[int]]:
    """Greedy split of serialised contacts into upserts within both of SendGrid's limits."""
    chunks: list[list[int]] = []
    current: list[int] = []
    used = envelope
    for position, size in enumerate(sizes):
        cost = size + (1 if current else 0)  # the comma between contacts
        if current and (used + cost > max_bytes or len(current) >= max_count):
            chunks.append(current)
            current, used, cost = [], envelope, size
        current.append(position)
        used += cost
    if current:
        chunks.append(current)
    return chunks


_BLAMED_INDEX = re.compile(r"contacts[\[.](\d+)")
_BLAMED_EMAIL = re.compile(r"email '(.+?)' is not valid")


def blamed_contacts(body: Any, contacts: list[Mapping[str, Any]]) -> dict[int, str]:
    """Positions of the contacts a 400 answer names (by `contacts[i]` or by invalid email)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    blamed: dict[int, str] = {}
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        field, message = str(error.get("field") or ""), str(error.get("message") or "")
        text = f"{field}: {message}" if field else message
        index = _BLAMED_INDEX.match(field)
        if index and int(index.group(1)) < len(contacts):
            blamed.setdefault(int(index.group(1)), text)
        email = _BLAMED_EMAIL.search(message)
        if email:
            for position, contact in enumerate(contacts):
                if str(contact.get("email", "")).lower() == email.group(1).lower():
                    blamed.setdefault(position, text)
    return blamed


# --- validation before any request -------------------------------------------------------------


def check(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    """The identifier rule, the E.164 shape of phone_number_id, and coherent list changes."""
    errors = []
    if not has_identifier(payload):
        errors.append(
            Diagnostic(
                codes.PAYLOAD_MISSING_FIELD,
                IDENTIFIER_ERROR,
                hint="map primary_email, phone_number_id, external_id or anonymous_id",
            )
        )
    phone = payload.get("phone_number_id")
    if isinstance(phone, str) and phone and not E164_SHAPE.match(phone):
        errors.append(
            Diagnostic(
                codes.PAYLOAD_BAD_FORMAT,
                f"'phone_number_id' is not an E.164 phone number: \"{phone}\"",
                json_path=("phone_number_id",),
                hint=E164_HINT,
            )
        )
    add, remove = list_changes(payload)
    for list_id in sorted(set(add or ()) & set(remove)):
        errors.append(
            Diagnostic(
                codes.PAYLOAD_RULE,
                f'list "{list_id}" is in both list_ids and remove_from_list_ids',
                json_path=("remove_from_list_ids",),
                hint="a contact is either added to a list or removed from it",
            )
        )
    return errors


# --- plans -------------------------------------------------------------------------------------


Lookup = Generator[Request, Reply, tuple[FieldDefinitions, bool]]
Step = Generator[Request, Reply, dict[int, ItemResult]]


def field_definitions(ctx: ActionContext, *, refresh: bool = False) -> Lookup:
    """The account's custom fields, fetched once per run (then served from `ctx.cache`).
    Returns them and whether they were fetched just now."""
    url = api.FIELD_DEFINITIONS.url(api.base_url(ctx.settings))
    known = ctx.settings.get(ACCOUNT_CUSTOM_FIELDS)  # from an account snapshot, if any
    snapshot = ctx.settings.get(ACCOUNT_SNAPSHOT) if known is not None else None
    key = _CACHE_KEY.format(url=url)
    cached = ctx.cache.get(key)
    if cached is not None and not refresh and cached[0] > ctx.clock():
        return cached[1], False
    reply = yield Request(
        "GET",
        url,
        api.headers(ctx.settings, json=False),
        purpose="look up custom field IDs (once per run)"
        + (f"; dry run: those of account snapshot {snapshot}" if snapshot else ""),
        dry_run_reply=Reply(200, {"custom_fields": list(known or [])}),
    )
    definitions = FieldDefinitions.from_reply(reply.json, placeholder=ctx.dry_run and known is None)
    ctx.cache[key] = (ctx.clock() + DEFINITIONS_TTL, definitions)
    return definitions, True


def request_failure(reply: Reply, what: str) -> ItemResult:
    """Why SendGrid did not do `what` for a request's contacts. Requests that `sees_failure`
    get here with any status, including a transient one still there when the transport's
    attempts ran out, or 0 when nothing answered. Not retryable: the attempts are spent."""
    if reply.status == 0:
        return unanswered(reply, f"SendGrid to the {what}")
    detail = "; ".join(api.error_messages(reply.json)) or reply.text.strip()
    suffix = f": {detail}" if detail else ""
    if reply.status in REFUSED_KEY:
        reason = (
            f"SendGrid refused the API key for the {what} (HTTP {reply.status}{suffix}) — "
            "check sendGridApiKey (it needs Full Access to Marketing)"
        )
    elif is_retryable(reply.status):
        reason = f"SendGrid answered the {what} with HTTP {reply.status} on the last attempt"
        reason += suffix
    else:
        reason = f"SendGrid refused the {what} (HTTP {reply.status}{suffix})"
    return ItemResult(False, reply.status, reason)


def _refusal(results: Mapping[int, ItemResult]) -> ItemResult | None:
    """Once SendGrid refused the API key, what the contacts of every later request get instead
    of being sent (the key is refused for them too)."""
    refused = next((r for r in results.values() if r.status in REFUSED_KEY), None)
    if refused is None or refused.reason.startswith("not sent: "):
        return refused
    return ItemResult(False, refused.status, "not sent: " + refused.reason)


@dataclass(frozen=True, slots=True)
class _Item:
    index: int  # position in the payloads
    contact: dict[str, Any]
    add: tuple[str, ...] | None
    remove: tuple[str, ...]


def _upsert(ctx: ActionContext, list_ids: tuple[str, ...] | None, items: list[_Item]) -> Step:
    """One PUT; on a 400 the contacts SendGrid names fail and the rest are sent again (or, when
    none is named, both halves are), so one bad contact never sinks the others. Any other
    failure fails this PUT's contacts only, never those SendGrid already queued."""
    body: dict[str, Any] = {} if list_ids is None else {"list_ids": list(list_ids)}
    body["contacts"] = [item.contact for item in items]
    reply = yield Request(
        "PUT",
        api.CONTACTS_UPSERT.url(api.base_url(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json=body,
        purpose=f"upsert {len(items)} contact(s)"
        + (f" and add them to {len(list_ids)} list(s)" if list_ids else ""),
        dry_run_reply=Reply(202, {"job_id": "<job_id>"}),
        handles=frozenset({400}),
        sees_failure=True,
    )
    if reply.ok:
        job = reply.json.get("job_id") if isinstance(reply.json, dict) else None
        queued = f"queued as job {job}" if job else "queued"
        return {item.index: ItemResult(True, reply.status, queued) for item in items}
    if reply.status != 400:
        failed = request_failure(reply, "upsert")
        return {item.index: failed for item in items}
    blamed = blamed_contacts(reply.json, [item.contact for item in items])
    reason = "; ".join(api.error_messages(reply.json)) or reply.text or "HTTP 400"
    if not blamed and len(items) == 1:
        blamed = {0: reason}
    results = {
        items[position].index: ItemResult(False, 400, f"SendGrid refused the contact: {text}")
        for position, text in blamed.items()
    }
    rest = [item for position, item in enumerate(items) if position not in blamed]
    if blamed and rest:
        results.update((yield from _upsert(ctx, list_ids, rest)))
    elif rest:
        middle = len(rest) // 2
        results.update((yield from _upsert(ctx, list_ids, rest[:middle])))
        results.update((yield from _upsert(ctx, list_ids, rest[middle:])))
    return results


def _search_ids(
    ctx: ActionContext, contacts: list[dict[str, Any]]
) -> Generator[Request, Reply, list[str] | ItemResult]:
    """Contact IDs found by the contacts' identifiers, or why the search failed."""
    placeholders = (
        [{"id": "<contactId>"}]
        if len(contacts) == 1
        else [{"id": f"<contactId {n}>"} for n in range(1, len(contacts) + 1)]
    )
    reply = yield Request(
        "POST",
        api.CONTACTS_SEARCH.url(api.base_url(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json={"query": search_query(contacts)},
        purpose=f"find the IDs of {len(contacts)} contact(s) to remove from a list",
        repeat=Repeat.IDEMPOTENT,  # a search
        dry_run_reply=Reply(200, {"result": placeholders, "contact_count": len(placeholders)}),
        handles=frozenset({400}),
        sees_failure=True,
    )
    if reply.status == 400:
        detail = "; ".join(api.error_messages(reply.json)) or reply.text
        return ItemResult(False, 400, f"SendGrid refused the contact search (400): {detail}")
    if not reply.ok:
        return request_failure(reply, "contact search")
    found = reply.json.get("result") if isinstance(reply.json, dict) else None
    ids = [r["id"] for r in found or [] if isinstance(r, dict) and isinstance(r.get("id"), str)]
    try:  # the ids go into the removal's query string
        return [learnt_id(contact_id, "the contact search", ctx) for contact_id in ids]
    except ActionFailed as unusable:
        return ItemResult(False, reply.status, unusable.reason)


def _remove_from_list(ctx: ActionContext, list_id: str, items: list[_Item]) -> Step:
    """Search the contacts' IDs (≤50 identifiers a query), then DELETE them from the list
    (≤100 IDs a request). Contacts not found are not in the list: nothing to remove. A failed
    search fails its contacts only; a failed DELETE fails every contact of the list (which
    IDs were whose is not known), and a refused API key every contact not searched yet."""
    failed: dict[int, ItemResult] = {}
    contact_ids: list[str] = []
    contacts = [item.contact for item in items]
    for chunk in chunk_by_identifiers(contacts):
        refused = _refusal(failed)
        if refused is not None:
            failed.update((items[p].index, refused) for p in chunk)
            continue
        found = yield from _search_ids(ctx, [contacts[position] for position in chunk])
        if isinstance(found, ItemResult):
            failed.update((items[p].index, found) for p in chunk)
        else:
            contact_ids.extend(i for i in found if i not in contact_ids)
    if _refusal(failed) is not None:
        return failed
    url = api.LIST_CONTACTS_REMOVE.url(api.base_url(ctx.settings), list_id=quote(list_id, safe=""))
    for start in range(0, len(contact_ids), api.MAX_REMOVE_CONTACT_IDS):
        batch = contact_ids[start : start + api.MAX_REMOVE_CONTACT_IDS]
        reply = yield Request(
            "DELETE",
            f"{url}?contact_ids={','.join(batch)}",
            api.headers(ctx.settings, json=False),
            purpose=f'remove {len(batch)} contact(s) from list "{list_id}"',
            dry_run_reply=Reply(202, {"job_id": "<job_id>"}),
            handles=frozenset({404}),
            sees_failure=True,
        )
        if reply.status == 404:
            reason = f'SendGrid list "{list_id}" does not exist (404): nothing removed'
            return {item.index: ItemResult(False, 404, reason) for item in items}
        if not reply.ok:
            removal = request_failure(reply, f'removal from list "{list_id}"')
            return {item.index: removal for item in items}
    return failed


Items = Generator[Request, Reply, list[_Item]]


def _build_items(
    payloads: list[dict[str, Any]], ctx: ActionContext, results: dict[int, ItemResult]
) -> Items:
    """The sendable contacts; the others get their failure in `results` (cdpctl decision:
    they fail alone, where Segment fails the whole batch)."""
    wanted = []
    for index, payload in enumerate(payloads):
        if has_identifier(payload):
            wanted.append(index)
        else:
            results[index] = ItemResult(False, 400, IDENTIFIER_ERROR)
    if not wanted:
        return []
    definitions, fresh = yield from field_definitions(ctx)
    items: list[_Item] = []
    for index in wanted:
        try:
            contact = contact_body(payloads[index], definitions)
        except InvalidContact as invalid:
            if fresh:
                results[index] = ItemResult(False, 400, str(invalid))
                continue
            # The field may have been created since the cached lookup: look again, once.
            definitions, fresh = yield from field_definitions(ctx, refresh=True)
            try:
                contact = contact_body(payloads[index], definitions)
            except InvalidContact as still:
                results[index] = ItemResult(False, 400, str(still))
                continue
        add, remove = list_changes(payloads[index])
        items.append(_Item(index, contact, add, remove))
    return items


def _envelope_size(list_ids: tuple[str, ...] | None) -> int:
    body: dict[str, Any] = {} if list_ids is None else {"list_ids": list(list_ids)}
    body["contacts"] = []
    return len(jsonwire.dumps(body))


def _upsert_all(ctx: ActionContext, items: list[_Item]) -> Step:
    """One upsert per distinct `list_ids`, each split by SendGrid's count and size limits. Once
    SendGrid refuses the API key, the remaining contacts fail without being sent."""
    results: dict[int, ItemResult] = {}
    groups: dict[tuple[str, ...] | None, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.add, []).append(item)
    for list_ids, members in groups.items():
        envelope = _envelope_size(list_ids)
        sendable: list[tuple[_Item, int]] = []
        for item in members:
            size = len(jsonwire.dumps(item.contact))
            if envelope + size > api.MAX_UPSERT_BYTES:
                reason = f"contact is {size} bytes; one SendGrid upsert carries at most 6 MB"
                results[item.index] = ItemResult(False, 413, reason)
            else:
                sendable.append((item, size))
        for chunk in pack_contacts([size for _, size in sendable], envelope):
            batch = [sendable[position][0] for position in chunk]
            refused = _refusal(results)
            if refused is not None:
                results.update((item.index, refused) for item in batch)
            else:
                results.update((yield from _upsert(ctx, list_ids, batch)))
    return results


def plan_batch(payloads: list[dict[str, Any]], ctx: ActionContext) -> RequestPlan:
    """Upserts for many payloads, then the list removals of those upserted; returns one
    `ItemResult` per payload."""
    results: dict[int, ItemResult] = {}
    items = yield from _build_items(payloads, ctx, results)
    results.update((yield from _upsert_all(ctx, items)))
    removals: dict[str, list[_Item]] = {}
    for item in items:
        if results[item.index].ok:
            for list_id in item.remove:
                removals.setdefault(list_id, []).append(item)
    for list_id, members in removals.items():
        refused = _refusal(results)
        if refused is not None:
            results.update((item.index, refused) for item in members)
        else:
            results.update((yield from _remove_from_list(ctx, list_id, members)))
    return [results[index] for index in range(len(payloads))]


def plan(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    """One contact through the batch plan; a failed item ends the plan as a failure."""
    (result,) = yield from plan_batch([payload], ctx)
    if not result.ok:
        raise ActionFailed(result.reason, status=result.status, retryable=result.retryable)
