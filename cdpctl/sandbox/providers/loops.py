"""Loops API emulation: contacts keyed by userId/email, mailing lists, events.

`POST /api/v1/events/send` honours Loops' `Idempotency-Key` header
(https://loops.so/docs/api-reference/send-event): a key of at most 100 characters; a request
repeating a key accepted in the last 24 hours is answered 409 and not processed again.

Receipts (`GET /_sandbox/receipts` → loops): `contacts/update <identifier>` and
`contacts/delete <identifier>` (identifier `userId=…`, else `email=…`); events
`events/send key=<Idempotency-Key>` when the request carries one, else
`events/send <identifier> <eventName> #<digest of the body>`.

The seeded account (state `properties` and `lists`) has Loops' default contact properties
(email, firstName, lastName, notes, source, subscribed, userGroup, userId, createdAt), the
custom properties favoriteColor and plan (string), seats (number), vip (boolean) and
trialEndsAt (date), the ones examples/loops.yaml sends (phone, birthday as a date,
companyName, city, country), and the mailing lists `cm06f5v0e45nf0ml5754o9cix` "Newsletter" and
`cm16k73gq014h0mmj5b6jdi9r` "Product updates".
"""

from __future__ import annotations

import time
from typing import Any

from cdpctl.providers import loops
from cdpctl.providers.base import Endpoint
from cdpctl.sandbox.emulator import (
    Emulator,
    Receipts,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

API_KEY = "sandbox-loops-key"
IDEMPOTENCY_WINDOW = 24 * 60 * 60  # seconds a key is remembered
MAX_IDEMPOTENCY_KEY = 100  # characters


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.header("authorization") == f"Bearer {API_KEY}":
        return None
    return json_response(401, {"success": False, "message": "Invalid API key"})


def _bad_request(message: str) -> SandboxResponse:
    return json_response(400, {"success": False, "message": message})


def _new_contact(state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    state["next_id"] += 1
    contact = {
        "id": f"loops-contact-{state['next_id']}",
        "subscribed": True,
        "mailingLists": {},
        **fields,
    }
    state["contacts"][contact["id"]] = contact
    return contact


def _find(state: dict[str, Any], user_id: Any, email: Any) -> dict[str, Any] | None:
    for contact in state["contacts"].values():
        if (user_id and contact.get("userId") == user_id) or (
            email and contact.get("email") == email
        ):
            return contact
    return None


def _api_key(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    return json_response(200, {"success": True, "teamName": "cdpctl sandbox"})


def _update_contact(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return _bad_request("Invalid JSON body.")
    user_id, email = body.get("userId"), body.get("email")
    if not user_id and not email:
        return _bad_request("userId or email is required.")
    contact = _find(state, user_id, email)
    if contact is None:
        if not email:
            return _bad_request(
                "userId not found and cannot create a new contact without an email."
            )
        contact = _new_contact(state)
    lists = body.get("mailingLists") or {}
    if not isinstance(lists, dict) or not all(isinstance(v, bool) for v in lists.values()):
        return _bad_request("mailingLists must be an object of listId to boolean.")
    for key, value in body.items():
        if key != "mailingLists":
            contact[key] = value
    contact["mailingLists"].update(lists)
    return json_response(200, {"success": True, "id": contact["id"]})


def _send_event(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    key = request.header("idempotency-key")
    now = time.time()
    if key is not None:
        if len(key) > MAX_IDEMPOTENCY_KEY:
            return _bad_request(
                f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters."
            )
        seen = state["idempotency_keys"].get(key)
        if seen is not None and now - seen < IDEMPOTENCY_WINDOW:
            return json_response(
                409, {"success": False, "message": "Idempotency key has already been used."}
            )
    body = request.json()
    if not isinstance(body, dict) or not body.get("eventName"):
        return _bad_request("eventName is required.")
    user_id, email = body.get("userId"), body.get("email")
    if not user_id and not email:
        return _bad_request("userId or email is required.")
    contact = _find(state, user_id, email)
    if contact is None:
        if not email:
            return _bad_request("Contact not found and cannot create one without an email.")
        _new_contact(state, email=email, userId=user_id)
    state["events"].append(body)
    if key is not None:
        state["idempotency_keys"][key] = now
    return json_response(200, {"success": True})


def _delete_contact(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json() or {}
    contact = _find(state, body.get("userId"), body.get("email"))
    if contact is None:
        return json_response(404, {"success": False, "message": "Contact not found."})
    del state["contacts"][contact["id"]]
    return json_response(200, {"success": True, "message": "Contact deleted."})


def _who(body: Any) -> str:
    if not isinstance(body, dict):
        return "?"
    return f"userId={body['userId']}" if body.get("userId") else f"email={body.get('email')}"


def _contact_receipts(operation: str) -> Receipts:
    def receipts(
        request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
    ) -> list[str]:
        return [f"contacts/{operation} {_who(request.json())}"]

    return receipts


def _event_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    key = request.header("idempotency-key")
    if key is not None:
        return [f"events/send key={key}"]
    body = request.json()
    return [f"events/send {_who(body)} {body.get('eventName')} #{digest(request.body)}"]


DEFAULT_PROPERTIES = (
    ("email", "Email", "string"),
    ("firstName", "First Name", "string"),
    ("lastName", "Last Name", "string"),
    ("notes", "Notes", "string"),
    ("source", "Source", "string"),
    ("subscribed", "Subscribed", "boolean"),
    ("userGroup", "User Group", "string"),
    ("userId", "User ID", "string"),
    ("createdAt", "Created At", "date"),
)
CUSTOM_PROPERTIES = (
    ("favoriteColor", "Favorite Color", "string"),
    ("plan", "Plan", "string"),
    ("seats", "Seats", "number"),
    ("vip", "VIP", "boolean"),
    ("trialEndsAt", "Trial Ends At", "date"),
    # what examples/loops.yaml sends, so the example fits the seeded account
    ("phone", "Phone", "string"),
    ("birthday", "Birthday", "date"),
    ("companyName", "Company Name", "string"),
    ("city", "City", "string"),
    ("country", "Country", "string"),
)
NEWSLETTER_LIST = "cm06f5v0e45nf0ml5754o9cix"
PRODUCT_UPDATES_LIST = "cm16k73gq014h0mmj5b6jdi9r"


def _account() -> dict[str, Any]:
    """The seeded account: contact properties (default ones first) and mailing lists."""
    return {
        "properties": [
            {"key": key, "label": label, "type": kind, "custom": custom}
            for custom, table in ((False, DEFAULT_PROPERTIES), (True, CUSTOM_PROPERTIES))
            for key, label, kind in table
        ],
        "lists": [
            {"id": NEWSLETTER_LIST, "name": "Newsletter", "description": None, "isPublic": True},
            {
                "id": PRODUCT_UPDATES_LIST,
                "name": "Product updates",
                "description": "Release notes",
                "isPublic": False,
            },
        ],
    }


def _properties(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    chosen = request.query.get("list", "all")
    if chosen not in ("all", "custom"):
        return _bad_request('list must be "all" or "custom".')
    found = state.get("properties", _account()["properties"])
    return json_response(
        200,
        [
            {"key": p["key"], "label": p["label"], "type": p["type"]}
            for p in found
            if chosen == "all" or p.get("custom")
        ],
    )


def _lists(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    return json_response(200, state.get("lists", _account()["lists"]))


# Loops' contact delete, served though no cdpctl action calls it (Segment's destination has none).
_CONTACT_DELETE = Endpoint("POST", "/api/v1/contacts/delete", loops.DOCS_URL)


EMULATOR = Emulator(
    name="loops",
    routes=(
        Route(loops.API_KEY_CHECK, _api_key, acknowledges=False),
        Route(loops.CONTACT_UPDATE, _update_contact, receipts=_contact_receipts("update")),
        Route(loops.EVENT_SEND, _send_event, receipts=_event_receipts),
        Route(_CONTACT_DELETE, _delete_contact, receipts=_contact_receipts("delete")),
        Route(loops.CONTACT_PROPERTIES, _properties, acknowledges=False),
        Route(loops.MAILING_LISTS, _lists, acknowledges=False),
    ),
    authenticate=_authenticate,
    requests_per_second=loops.RATE_LIMIT.requests_per_second,
    initial_state=lambda: {
        "contacts": {},
        "events": [],
        "idempotency_keys": {},
        "next_id": 0,
        **_account(),
    },
    credentials={"apiKey": API_KEY},
)
