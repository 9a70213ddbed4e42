"""SendGrid v3 emulation: Marketing Campaigns contacts, custom fields, lists, and Mail Send.

Credentials: `Authorization: Bearer SG.cdpctl-sandbox` has full access (setting
`sendGridApiKey`); `Bearer SG.cdpctl-sandbox-marketing` may use Marketing but not Mail Send
(403). Any other key gets SendGrid's 401 `authorization required`.

State (`GET /_sandbox/state` → providers.sendgrid):
- `contacts`: keyed by lower-case email (or `<identifier>:<value>` for contacts without one),
  with `custom_fields` keyed by field ID and `list_ids`;
- `custom_fields` (by ID), `lists` (by ID), `jobs` (upsert/removal jobs by job ID), `mail`
  (every accepted send).

Seeded: custom fields Age (`e1_N`, Number), Source (`e2_T`, Text), Signup Date (`e3_D`,
Date), Plan (`e4_T`, Text); lists Newsletter (`NEWSLETTER_LIST`) and Customers (`CUSTOMERS_LIST`);
dynamic templates "Welcome" (`WELCOME_TEMPLATE`), "Order receipt" (`RECEIPT_TEMPLATE`) and
"Order confirmation" (`ORDER_TEMPLATE`, the one examples/sendgrid.yaml sends) and the legacy
template "Old newsletter". Lists and templates are served in pages (`page_size`,
then the `page_token` of `_metadata.next`).

Upserts are applied at once (SendGrid queues them) and answer 202 with a `job_id`; a contact
the job cannot apply (it matches an existing contact without all of that contact's
identifiers) is counted in the job's `errored_count`, as SendGrid reports it only there.
Validation messages follow SendGrid's documented errors where they are documented; the rest
are modelled on them.

Receipts (`GET /_sandbox/receipts` → sendgrid): `contacts/upsert <key>` per contact of an
accepted upsert (key: the lower-case email, else `<identifier>:<value>`),
`lists/<list_id>/remove <contact_id>` per contact removed from a list, and mail sends (not
idempotent, no key) `mail/send <first recipient> #<digest of the body>`.
"""

from __future__ import annotations

import re
from typing import Any

from cdpctl.providers.base import Endpoint
from cdpctl.providers.sendgrid import api
from cdpctl.providers.sendgrid.api import MAX_CONTACTS_PER_UPSERT, MAX_UPSERT_BYTES
from cdpctl.sandbox.emulator import (
    Emulator,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

API_KEY = "SG.cdpctl-sandbox"
MARKETING_ONLY_KEY = "SG.cdpctl-sandbox-marketing"
NEWSLETTER_LIST = "5c8d0f3e-6b1a-4a8e-9a52-0f3a1c7e2b10"
CUSTOMERS_LIST = "9e0c1d2b-3f4a-4b5c-8d6e-7f8091a2b3c4"
WELCOME_TEMPLATE = "d-13b8f94fbcae4ec6b75270d6cb59f932"
RECEIPT_TEMPLATE = "d-5b2d7c1e0a9f4e3d8c6b5a4f3e2d1c0b"
ORDER_TEMPLATE = "d-8f2c1a7e0b3d4c5e9f6a7b8c9d0e1f2a"
LEGACY_TEMPLATE = "0c3a9d5e-6f7b-4c8d-9e0f-1a2b3c4d5e6f"

_MAIL_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_IDENTIFIERS = ("email", "phone_number_id", "external_id", "anonymous_id")
# Reserved contact fields SendGrid accepts, with their maximum lengths (None: unlimited).
_RESERVED: dict[str, int | None] = {
    "email": 254,
    "phone_number_id": None,
    "external_id": 254,
    "anonymous_id": 254,
    "alternate_emails": None,
    "first_name": 50,
    "last_name": 50,
    "address_line_1": 100,
    "address_line_2": 100,
    "city": 60,
    "state_province_region": 50,
    "postal_code": None,
    "country": 50,
    "phone_number": None,
    "whatsapp": None,
    "line": None,
    "facebook": None,
    "unique_name": None,
}
_FIELD_TYPES = ("Text", "Number", "Date")


def _errors(status: int, *errors: tuple[str | None, str]) -> SandboxResponse:
    return json_response(
        status, {"errors": [{"field": field, "message": message} for field, message in errors]}
    )


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.header("authorization") in (f"Bearer {API_KEY}", f"Bearer {MARKETING_ONLY_KEY}"):
        return None
    return _errors(401, (None, "authorization required"))


def _initial_state() -> dict[str, Any]:
    return {
        "contacts": {},
        "custom_fields": {
            "e1_N": {"id": "e1_N", "name": "Age", "field_type": "Number"},
            "e2_T": {"id": "e2_T", "name": "Source", "field_type": "Text"},
            "e3_D": {"id": "e3_D", "name": "Signup Date", "field_type": "Date"},
            "e4_T": {"id": "e4_T", "name": "Plan", "field_type": "Text"},
        },
        "lists": {
            NEWSLETTER_LIST: {"id": NEWSLETTER_LIST, "name": "Newsletter"},
            CUSTOMERS_LIST: {"id": CUSTOMERS_LIST, "name": "Customers"},
        },
        "jobs": {},
        "mail": [],
        "next_id": 0,
        "templates": _templates(),
    }


def _templates() -> list[dict[str, Any]]:
    return [
        {"id": WELCOME_TEMPLATE, "name": "Welcome", "generation": "dynamic"},
        {"id": RECEIPT_TEMPLATE, "name": "Order receipt", "generation": "dynamic"},
        {"id": ORDER_TEMPLATE, "name": "Order confirmation", "generation": "dynamic"},
        {"id": LEGACY_TEMPLATE, "name": "Old newsletter", "generation": "legacy"},
    ]


def _paged(
    request: SandboxRequest, items: list[dict[str, Any]], key: str, most: int
) -> SandboxResponse:
    """One page of `items` under `key`, with `_metadata.next` when more follow. The page token
    is the offset (SendGrid's are opaque)."""
    size_text = request.query.get("page_size", str(most))
    token = request.query.get("page_token", "0")
    if not size_text.isdigit() or not 1 <= int(size_text) <= most:
        return _errors(400, ("page_size", f"page_size must be between 1 and {most}"))
    if not token.isdigit():
        return _errors(400, ("page_token", "invalid page_token"))
    size, start = int(size_text), int(token)
    page = items[start : start + size]
    metadata: dict[str, Any] = {"count": len(items)}
    path = request.path
    metadata["self"] = f"https://api.sendgrid.com{path}?page_size={size}&page_token={start}"
    if start + size < len(items):
        metadata["next"] = (
            f"https://api.sendgrid.com{path}?page_size={size}&page_token={start + size}"
        )
    return json_response(200, {key: page, "_metadata": metadata})


def _templates_page(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    wanted = set(request.query.get("generations", "legacy").split(","))
    if not wanted <= {"legacy", "dynamic"}:
        return _errors(400, ("generations", "generations must be legacy, dynamic or both"))
    found = [t for t in state.get("templates", _templates()) if t["generation"] in wanted]
    return _paged(request, found, "result", api.TEMPLATES_PAGE_SIZE)


def _new_id(state: dict[str, Any]) -> str:
    state["next_id"] += 1
    number = state["next_id"]
    return f"{number:08x}-5a4d-4b0c-8d1e-{number:012x}"


# --- account, custom fields, lists ---------------------------------------------------------------


def _account(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    return json_response(200, {"type": "paid", "reputation": 100})


def _field_definitions(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    return json_response(
        200,
        {
            "custom_fields": list(state["custom_fields"].values()),
            "reserved_fields": [
                {"id": f"_rf{n}_T", "name": name, "field_type": "Text", "read_only": False}
                for n, name in enumerate(_RESERVED)
            ],
        },
    )


def _create_field(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    name = body.get("name") if isinstance(body, dict) else None
    kind = body.get("field_type") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        return _errors(400, ("name", "name is required"))
    if kind not in _FIELD_TYPES:
        return _errors(400, ("field_type", "field_type must be one of Text, Number, Date"))
    if any(f["name"].lower() == name.lower() for f in state["custom_fields"].values()):
        return _errors(400, ("name", f"a custom field named '{name}' already exists"))
    field_id = f"e{len(state['custom_fields']) + 1}_{kind[0]}"
    state["custom_fields"][field_id] = {"id": field_id, "name": name, "field_type": kind}
    return json_response(200, state["custom_fields"][field_id])


def _list_view(state: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    members = sum(entry["id"] in c["list_ids"] for c in state["contacts"].values())
    return {**entry, "contact_count": members}


def _lists(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    views = [_list_view(state, e) for e in state["lists"].values()]
    return _paged(request, views, "result", api.LISTS_PAGE_SIZE)


def _create_list(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        return _errors(400, ("name", "name is required"))
    if any(entry["name"] == name for entry in state["lists"].values()):
        return _errors(400, ("name", "list name is a duplicate of an existing list or segment"))
    list_id = _new_id(state)
    state["lists"][list_id] = {"id": list_id, "name": name}
    return json_response(201, _list_view(state, state["lists"][list_id]))


# --- contacts ----------------------------------------------------------------------------------


def _contact_problems(
    index: int, contact: Any, fields: dict[str, dict[str, Any]]
) -> list[tuple[str | None, str]]:
    where = f"contacts[{index}]"
    if not isinstance(contact, dict):
        return [(where, "contact must be an object")]
    problems: list[tuple[str | None, str]] = []
    if not any(isinstance(contact.get(k), str) and contact[k] for k in _IDENTIFIERS):
        problems.append(
            (
                where,
                "contact must include at least one of email, phone_number_id, "
                "external_id or anonymous_id",
            )
        )
    for key, value in contact.items():
        if key == "custom_fields":
            continue
        if key not in _RESERVED:
            problems.append((f"{where}.{key}", f"'{key}' is not a contact field"))
            continue
        limit = _RESERVED[key]
        if isinstance(value, str) and limit is not None and len(value) > limit:
            problems.append((f"{where}.{key}", f"{key} must be at most {limit} characters"))
    email = contact.get("email")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        problems.append((f"{where}.email", f"email '{email}' is not valid"))
    phone = contact.get("phone_number_id")
    if isinstance(phone, str) and phone and not _E164.match(phone):
        problems.append(
            (f"{where}.phone_number_id", f"phone_number_id '{phone}' is not a valid phone number")
        )
    custom = contact.get("custom_fields", {})
    if not isinstance(custom, dict):
        return [*problems, (f"{where}.custom_fields", "custom_fields must be an object")]
    for key, value in custom.items():
        field = fields.get(key)
        if field is None:
            problems.append(
                (f"{where}.custom_fields.{key}", f"custom field ID '{key}' does not exist")
            )
        elif field["field_type"] == "Number" and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            problems.append(
                (f"{where}.custom_fields.{key}", f"custom field '{field['name']}' expects a number")
            )
    return problems


def _key_of(contact: dict[str, Any]) -> str:
    if contact.get("email"):
        return contact["email"]
    column = next(k for k in _IDENTIFIERS if contact.get(k))
    return f"{column}:{contact[column]}"


def _apply(state: dict[str, Any], contact: dict[str, Any], list_ids: list[str]) -> str:
    """Upsert one validated contact; returns "created", "updated" or an error text."""
    incoming = dict(contact)
    if isinstance(incoming.get("email"), str):
        incoming["email"] = incoming["email"].lower()
    given = {k: incoming[k] for k in _IDENTIFIERS if incoming.get(k)}
    matches = [
        (key, stored)
        for key, stored in state["contacts"].items()
        if any(stored.get(k) == v for k, v in given.items())
    ]
    if len(matches) > 1:
        return "the identifiers belong to more than one existing contact"
    if matches:
        key, stored = matches[0]
        missing = [k for k in _IDENTIFIERS if stored.get(k) and stored.get(k) != given.get(k)]
        if missing:
            return "to update a contact, all of its existing identifiers must be present: " + (
                ", ".join(missing)
            )
        del state["contacts"][key]
        outcome = "updated"
    else:
        stored = {"id": _new_id(state), "custom_fields": {}, "list_ids": []}
        outcome = "created"
    for field, value in incoming.items():
        if field == "custom_fields":
            stored["custom_fields"].update(value)
        else:
            stored[field] = value
    stored["list_ids"] += [i for i in list_ids if i not in stored["list_ids"]]
    state["contacts"][_key_of(stored)] = stored
    return outcome


def _upsert(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    if len(request.body) > MAX_UPSERT_BYTES:
        return _errors(413, (None, "request body is larger than 6 MB"))
    body = request.json()
    if not isinstance(body, dict):
        return _errors(400, (None, "invalid JSON"))
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        return _errors(400, ("contacts", "contacts is required and must hold at least one contact"))
    if len(contacts) > MAX_CONTACTS_PER_UPSERT:
        return _errors(400, ("contacts", f"at most {MAX_CONTACTS_PER_UPSERT} contacts a request"))
    list_ids = body.get("list_ids", [])
    if not isinstance(list_ids, list) or not all(isinstance(i, str) for i in list_ids):
        return _errors(400, ("list_ids", "list_ids must be an array of strings"))
    problems: list[tuple[str | None, str]] = [
        ("list_ids", f"list ID '{i}' does not exist") for i in list_ids if i not in state["lists"]
    ]
    for index, contact in enumerate(contacts):
        problems.extend(_contact_problems(index, contact, state["custom_fields"]))
    if problems:
        return _errors(400, *problems)
    counts = {"created": 0, "updated": 0}
    errors = []
    for index, contact in enumerate(contacts):
        outcome = _apply(state, contact, list_ids)
        if outcome in counts:
            counts[outcome] += 1
        else:
            errors.append({"contact": index, "message": outcome})
    job_id = _new_id(state)
    state["jobs"][job_id] = {
        "id": job_id,
        "status": "completed" if not errors else "errored",
        "job_type": "upsert",
        "results": {
            "requested_count": len(contacts),
            "created_count": counts["created"],
            "updated_count": counts["updated"],
            "errored_count": len(errors),
        },
        "errors": errors,
    }
    return json_response(202, {"job_id": job_id})


def _import_status(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    job = state["jobs"].get(request.params["job_id"])
    if job is None:
        return _errors(404, (None, "job not found"))
    return json_response(200, job)


_CLAUSE = re.compile(r"\s*(\w+)\s+IN\s*\(")
_LITERAL = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*")


def parse_query(query: str) -> list[tuple[str, list[str]]] | None:
    """`col IN ('a','b') OR col2 IN (…)` → [(col, [values])]; None when not that shape."""
    clauses = []
    position = 0
    while True:
        clause = _CLAUSE.match(query, position)
        if clause is None:
            return None
        position, values = clause.end(), []
        while True:
            literal = _LITERAL.match(query, position)
            if literal is None:
                return None
            values.append(re.sub(r"\\(.)", r"\1", literal.group(1)))
            position = literal.end()
            if query.startswith(",", position):
                position += 1
                continue
            if query.startswith(")", position):
                position += 1
                break
            return None
        clauses.append((clause.group(1), values))
        rest = re.match(r"\s+OR\s+", query[position:])
        if rest is None:
            return clauses if not query[position:].strip() else None
        position += rest.end()


def _search(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    query = body.get("query") if isinstance(body, dict) else None
    clauses = parse_query(query) if isinstance(query, str) else None
    if clauses is None or any(column not in _RESERVED for column, _ in clauses):
        return _errors(400, ("query", f"the sandbox cannot run the SGQL query {query!r}"))
    found = [
        contact
        for contact in state["contacts"].values()
        if any(contact.get(column) in values for column, values in clauses)
    ]
    return json_response(200, {"result": found[:50], "contact_count": len(found)})


def _remove_from_list(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    list_id = request.params["list_id"]
    ids = [i for i in request.query.get("contact_ids", "").split(",") if i]
    if not ids:
        return _errors(400, ("contact_ids", "contact_ids is required"))
    if list_id not in state["lists"]:
        return _errors(404, (None, "list not found"))
    by_id = {contact["id"]: contact for contact in state["contacts"].values()}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        return _errors(404, ("contact_ids", "contact IDs not found: " + ",".join(unknown)))
    for contact_id in ids:
        members = by_id[contact_id]["list_ids"]
        if list_id in members:
            members.remove(list_id)
    job_id = _new_id(state)
    state["jobs"][job_id] = {"id": job_id, "status": "completed", "job_type": "delete"}
    return json_response(202, {"job_id": job_id})


# --- mail send ---------------------------------------------------------------------------------


def _mail_problems(body: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def problem(message: str, field: str | None, anchor: str) -> None:
        problems.append({"message": message, "field": field, "help": f"{_MAIL_HELP}#{anchor}"})

    sender = body.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        problem(
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.  e.g. "
            '{"email" : "example@example.com"}  or {"email" : "example@example.com", '
            '"name" : "Example Recipient"}.',
            "from.email",
            "message.from",
        )
    elif not _EMAIL.match(str(sender["email"])):
        problem("The from email does not contain a valid address.", "from.email", "message.from")
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problem(
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
            "-Personalizations-Errors",
        )
        personalizations = []
    for n, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(to, list) or not to:
            problem(
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.",
                f"personalizations.{n}.to",
                "message.personalizations.to",
            )
            continue
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            for i, item in enumerate(personalization.get(kind) or []):
                email = item.get("email") if isinstance(item, dict) else None
                if not isinstance(email, str) or not _EMAIL.match(email):
                    problem(
                        "Does not contain a valid address.",
                        f"personalizations.{n}.{kind}.{i}.email",
                        f"message.personalizations.{kind}",
                    )
                elif email.lower() in seen:
                    problem(
                        "Each email address in the personalization block should be unique "
                        "between to, cc, and bcc. We found the first duplicate instance of "
                        f"[{email}] in the personalizations.{n}.{kind} field.",
                        f"personalizations.{n}",
                        "message.recipient_errors",
                    )
                else:
                    seen.add(email.lower())
    if not body.get("template_id") and not body.get("content"):
        problem(
            "Unless a valid template_id is provided, the content parameter is required. There "
            "must be at least one defined content block. We typically suggest both text/plain "
            "and text/html blocks are included, but only one block is required.",
            "content",
            "message.content",
        )
    return problems


def _send_mail(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    if request.header("authorization") == f"Bearer {MARKETING_ONLY_KEY}":
        return _errors(403, (None, "access forbidden"))
    body = request.json()
    if not isinstance(body, dict):
        return json_response(
            400, {"errors": [{"message": "Bad Request", "field": None, "help": None}]}
        )
    problems = _mail_problems(body)
    if problems:
        return json_response(400, {"errors": problems})
    message_id = f"sandbox-{len(state['mail']) + 1}"
    state["mail"].append({"message_id": message_id, "body": body})
    return SandboxResponse(202, None, (("X-Message-Id", message_id),))


def _upsert_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    keys = []
    for contact in request.json()["contacts"]:
        email = contact.get("email")
        key = email.lower() if isinstance(email, str) and email else _key_of(contact)
        keys.append(f"contacts/upsert {key}")
    return keys


def _remove_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    list_id = request.params["list_id"]
    ids = [i for i in request.query.get("contact_ids", "").split(",") if i]
    return [f"lists/{list_id}/remove {contact_id}" for contact_id in ids]


def _mail_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    first = request.json()["personalizations"][0]["to"][0]["email"]
    return [f"mail/send {first} #{digest(request.body)}"]


# Served though cdpctl never calls them: field and list set-up as in SendGrid's dashboard, and
# the import status a test reads to see what an upsert job did.
_FIELD_CREATE = Endpoint(
    "POST",
    "/v3/marketing/field_definitions",
    "https://www.twilio.com/docs/sendgrid/api-reference/custom-fields/create-custom-field-definition",
)
_IMPORT_STATUS = Endpoint("GET", "/v3/marketing/contacts/imports/{job_id}", api.DOCS_URL)
_LIST_CREATE = Endpoint("POST", "/v3/marketing/lists", api.DOCS_URL)


EMULATOR = Emulator(
    name="sendgrid",
    routes=(
        Route(api.ACCOUNT, _account, acknowledges=False),
        Route(api.FIELD_DEFINITIONS, _field_definitions, acknowledges=False),
        Route(_FIELD_CREATE, _create_field, acknowledges=False),
        Route(api.CONTACTS_UPSERT, _upsert, receipts=_upsert_receipts),
        Route(_IMPORT_STATUS, _import_status, acknowledges=False),
        Route(api.CONTACTS_SEARCH, _search, acknowledges=False),
        Route(api.LISTS, _lists, acknowledges=False),
        Route(api.TEMPLATES, _templates_page, acknowledges=False),
        Route(_LIST_CREATE, _create_list, acknowledges=False),
        Route(api.LIST_CONTACTS_REMOVE, _remove_from_list, receipts=_remove_receipts),
        Route(api.MAIL_SEND, _send_mail, receipts=_mail_receipts),
    ),
    authenticate=_authenticate,
    requests_per_second=api.RATE_LIMIT.requests_per_second,
    initial_state=_initial_state,
    credentials={"sendGridApiKey": API_KEY},
)
