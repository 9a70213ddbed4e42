"""Dotdigital API emulation: contacts keyed by email/mobile number, lists, programs, sends.

Credentials the sandbox accepts (HTTP Basic): username `apiuser-sandbox@apiconnector.com`,
password `sandbox-dotdigital-password`; anything else gets Dotdigital's 401
`{"message":"Authorization has been denied for this request."}`.

The seeded account has the default data fields FIRSTNAME, LASTNAME, FULLNAME, GENDER and
POSTCODE (String) plus BIRTHDAY (Date), AGE (Numeric), VIP (Boolean) and PLAN (String); lists
123456 "Newsletter" and 234567 "Customers"; programs 456 "Welcome" (Active) and 457 "Winback"
(Deactivated); campaigns 123456 "May newsletter" and 234567 "Order follow-up"; and the from
address `news@example.com`. Error bodies follow Dotdigital's two styles: v2 answers
`{"message": "... ERROR_CODE"}`, the v3 contacts API `{"errorCode", "description", "details"}`.

Receipts (`GET /_sandbox/receipts` → dotdigital): contact upserts `contacts/patch
<channel>=<value>`, list removals `lists/<listId>/remove <contactId>`; the writes that are not
idempotent and carry no key end with a digest of the request body: `programs/enrol
program=<id> contacts=<ids> #…`, `campaigns/send campaign=<id> contacts=<ids> #…`,
`sms <number> #…`, `cpaas/sms <number> #…`, `email <first address> #…`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from cdpctl.providers.base import Endpoint
from cdpctl.providers.dotdigital import api
from cdpctl.sandbox.emulator import (
    Emulator,
    Receipts,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

USERNAME = "apiuser-sandbox@apiconnector.com"
PASSWORD = "sandbox-dotdigital-password"
DENIED = {"message": "Authorization has been denied for this request."}
FROM_ADDRESSES = ("news@example.com",)
DEFAULT_FROM_ADDRESS = "Dotmailer123@r1.dotdigital-email.com"

_EXPECTED_AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_MOBILE = re.compile(r"\+?[1-9]\d{6,14}")
_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_STATUSES = ("subscribed", "unsubscribed", "suppressed")
_MERGE_OPTIONS = ("overwrite", "ignore")
_GSM_EXTRA = set("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà€")


def _initial_state() -> dict[str, Any]:
    strings = ("FIRSTNAME", "LASTNAME", "FULLNAME", "GENDER", "POSTCODE", "PLAN")
    fields = [_field(name, "String") for name in strings]
    fields += [_field("BIRTHDAY", "Date"), _field("AGE", "Numeric"), _field("VIP", "Boolean")]
    return {
        "data_fields": fields,
        "address_books": [
            {"id": 123456, "name": "Newsletter", "visibility": "Private"},
            {"id": 234567, "name": "Customers", "visibility": "Private"},
        ],
        "programs": [
            _program(456, "Welcome", "Active", "2024-01-10T09:00:00"),
            _program(457, "Winback", "Deactivated", "2023-06-01T09:00:00"),
        ],
        "campaigns": [
            {"id": 123456, "name": "May newsletter", "subject": "News for May", "status": "Unsent"},
            {"id": 234567, "name": "Order follow-up", "subject": "How was it?", "status": "Unsent"},
        ],
        "contacts": {},
        "next_contact_id": 1000,
        "enrolments": [],
        "campaign_sends": [],
        "sms_messages": [],
        "transactional_emails": [],
        "cpaas_messages": [],
        "challenge_emails": [],
    }  # fmt: skip


def _program(program_id: int, name: str, status: str, created: str) -> dict[str, Any]:
    return {"id": program_id, "name": name, "status": status, "dateCreated": created}


def _field(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "visibility": "Private", "defaultValue": None}


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.header("authorization") == _EXPECTED_AUTH:
        return None
    return json_response(401, DENIED)


def _v2_error(status: int, message: str) -> SandboxResponse:
    return json_response(status, {"message": message})


def _v3_error(status: int, code: str, description: str) -> SandboxResponse:
    return json_response(status, {"errorCode": code, "description": description, "details": []})


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _by_id(items: Iterable[dict[str, Any]], wanted: Any) -> dict[str, Any] | None:
    number = _as_int(wanted)
    return next((item for item in items if item["id"] == number), None)


def _page(request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
    select = _as_int(request.query.get("select", "1000")) or 1000
    skip = _as_int(request.query.get("skip", "0")) or 0
    return json_response(200, items[skip : skip + select])


def _digits(number: str) -> str:
    return number.lstrip("+")


# --- contacts (v3) ---------------------------------------------------------------------------


def _find_contact(state: dict[str, Any], identifier: str, value: str) -> dict[str, Any] | None:
    contacts = state["contacts"].values()
    if identifier == "contactId":
        return state["contacts"].get(value)
    for contact in contacts:
        known = contact["identifiers"].get(identifier)
        if known is None:
            continue
        if identifier == "email" and known.lower() == value.lower():
            return contact
        if identifier == "mobileNumber" and _digits(known) == _digits(value):
            return contact
    return None


def _contact_view(state: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
    books = {book["id"]: book["name"] for book in state["address_books"]}
    return {
        **contact,
        "lists": [{"id": list_id, "name": books.get(list_id, "")} for list_id in contact["lists"]],
    }


def _identifier_problem(identifier: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{identifier} must be a string"
    if identifier == "email" and not _EMAIL.fullmatch(value):
        return f"The email address {value} is not valid"
    if identifier == "mobileNumber" and not _MOBILE.fullmatch(value):
        return f"The mobile number {value} is not valid; it needs to be in E.164 format"
    return None


def _get_contact(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    identifier, value = request.params["channel"], unquote(request.params["value"])
    if identifier not in ("email", "mobileNumber", "contactId"):
        return _v3_error(400, "identifierInvalid", f"Unknown identifier {identifier}")
    contact = _find_contact(state, identifier, value)
    if contact is None:
        return _v3_error(404, "contactNotFound", "The contact could not be found")
    return json_response(200, _contact_view(state, contact))


def _patch_contact(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    identifier, value = request.params["channel"], unquote(request.params["value"])
    if identifier not in ("email", "mobileNumber", "contactId"):
        return _v3_error(400, "identifierInvalid", f"Unknown identifier {identifier}")
    merge = request.query.get("merge-option", "overwrite")
    if merge not in _MERGE_OPTIONS:
        return _v3_error(400, "mergeOptionInvalid", f"Unknown merge-option {merge}")
    body = request.json()
    if not isinstance(body, dict):
        return _v3_error(400, "apiSchemaViolation", "The request body must be a contact object")
    problem = _patch_problem(state, identifier, value, body)
    if problem is not None:
        return _v3_error(400, *problem)
    contact = _find_contact(state, identifier, value)
    if contact is None:
        given = body.get("identifiers") or {}
        if not (given.get("email") or given.get("mobileNumber")):
            return _v3_error(
                400, "noValidIdentifiers", "A new contact needs an email or mobileNumber identifier"
            )
        state["next_contact_id"] += 1
        contact = {
            "contactId": state["next_contact_id"],
            "status": "subscribed",
            "identifiers": {},
            "channelProperties": {},
            "lists": [],
            "dataFields": {},
        }
        state["contacts"][str(contact["contactId"])] = contact
    _merge_contact(state, contact, body, overwrite=merge == "overwrite")
    return json_response(200, _contact_view(state, contact))


def _patch_problem(
    state: dict[str, Any], identifier: str, value: str, body: dict[str, Any]
) -> tuple[str, str] | None:
    """What Dotdigital's validation rejects in a PATCH: (errorCode, description) or None."""
    if identifier != "contactId":
        problem = _identifier_problem(identifier, value)
        if problem:
            return ("identifierInvalid", problem)
    for key, given in (body.get("identifiers") or {}).items():
        problem = _identifier_problem(key, given)
        if problem:
            return ("identifierInvalid", problem)
    channels = body.get("channelProperties") or {}
    email = channels.get("email") or {}
    if email.get("emailType", "html") not in ("html", "plainText"):
        return ("apiSchemaViolation", f"Unknown emailType {email.get('emailType')}")
    if email.get("optInType", "single") not in ("unknown", "single", "double", "verifiedDouble"):
        return ("apiSchemaViolation", f"Unknown optInType {email.get('optInType')}")
    for channel in ("email", "sms"):
        status = (channels.get(channel) or {}).get("status", "subscribed")
        if status not in _STATUSES:
            return ("apiSchemaViolation", f"Unknown {channel} status {status}")
    for list_id in body.get("lists") or []:
        if _by_id(state["address_books"], list_id) is None:
            return ("invalidAddressBookIds", f"The list {list_id} does not exist")
    for key, given in (body.get("dataFields") or {}).items():
        problem = _data_field_problem(state, key, given)
        if problem:
            return ("dataFieldInvalid", problem)
    return None


def _data_field(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((f for f in state["data_fields"] if f["name"].lower() == name.lower()), None)


def _data_field_problem(state: dict[str, Any], name: str, value: Any) -> str | None:
    field = _data_field(state, name)
    if field is None:
        return f"The data field {name} does not exist"
    if value is None:
        return None
    kind = field["type"]
    ok = {
        "String": isinstance(value, str),
        "Numeric": (isinstance(value, (int, float)) and not isinstance(value, bool))
        or (isinstance(value, str) and _NUMERIC.fullmatch(value) is not None),
        "Date": isinstance(value, str) and _is_date(value),
        "Boolean": isinstance(value, bool) or value in ("true", "false"),
    }.get(kind, True)
    return None if ok else f"The value {value!r} is not valid for the {kind} data field {name}"


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _merge_contact(
    state: dict[str, Any], contact: dict[str, Any], body: dict[str, Any], *, overwrite: bool
) -> None:
    contact["identifiers"].update(body.get("identifiers") or {})
    channels = body.get("channelProperties") or {}
    if "email" in channels:
        _merge_email_channel(state, contact, channels["email"])
    if "sms" in channels:
        contact["channelProperties"].setdefault("sms", {"status": "subscribed"}).update(
            channels["sms"]
        )
    for list_id in body.get("lists") or []:
        number = _as_int(list_id)
        if number not in contact["lists"]:
            contact["lists"].append(number)
    for key, value in (body.get("dataFields") or {}).items():
        field = _data_field(state, key)
        name = field["name"] if field else key
        if overwrite or contact["dataFields"].get(name) is None:
            contact["dataFields"][name] = value


def _merge_email_channel(
    state: dict[str, Any], contact: dict[str, Any], given: dict[str, Any]
) -> None:
    """A re-subscribe without `resubscribeWithNoChallenge` sends a challenge email instead."""
    email = contact["channelProperties"].setdefault("email", {"status": "subscribed"})
    for key in ("emailType", "optInType"):
        if key in given:
            email[key] = given[key]
    wanted = given.get("status")
    if wanted is None:
        return
    found = given.get("resubscribeOptions")
    options: dict[str, Any] = found if isinstance(found, dict) else {}
    challenge = isinstance(found, dict) and not options.get("resubscribeWithNoChallenge")
    if wanted == "subscribed" and email.get("status") != "subscribed" and challenge:
        state["challenge_emails"].append(
            {
                "contactId": contact["contactId"],
                "email": contact["identifiers"].get("email"),
                "preferredLocale": options.get("preferredLocale"),
                "redirectUrlAfterChallenge": options.get("redirectUrlAfterChallenge"),
            }
        )
        email["status"] = "pendingOptIn"
        return
    email["status"] = wanted
    contact["status"] = wanted


# --- lists, programs and campaigns (v2) ------------------------------------------------------


def _remove_from_list(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    book = _by_id(state["address_books"], request.params["listId"])
    if book is None:
        return _v2_error(404, "Address book not found. ERROR_ADDRESSBOOK_NOT_FOUND")
    contact = state["contacts"].get(unquote(request.params["contactId"]))
    if contact is None:
        return _v2_error(404, "Contact not found. ERROR_CONTACT_NOT_FOUND")
    if book["id"] in contact["lists"]:
        contact["lists"].remove(book["id"])
    return SandboxResponse(204)


def _enrol(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("contacts"), list):
        return _v2_error(400, "contacts must be a list of contact IDs. ERROR_PARAMETER_INVALID")
    program = _by_id(state["programs"], body.get("programId"))
    if program is None:
        return _v2_error(404, "Program not found. ERROR_PROGRAM_NOT_FOUND")
    if program["status"] != "Active":
        return _v2_error(400, "The program is not active. ERROR_PROGRAM_NOT_ACTIVE")
    contact_ids = [_as_int(item) for item in body["contacts"]]
    if not contact_ids or any(str(cid) not in state["contacts"] for cid in contact_ids):
        return _v2_error(400, "Contact not found. ERROR_CONTACT_NOT_FOUND")
    enrolment = {
        "id": f"{len(state['enrolments']) + 1:08d}-0000-4000-8000-000000000000",
        "programId": program["id"],
        "status": "Processing",
        "dateCreated": _now(),
        "contacts": contact_ids,
        "addressBooks": [],
    }
    state["enrolments"].append(enrolment)
    return json_response(201, enrolment)


def _send_campaign(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    optimised = request.path.endswith("send-time-optimised")
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("contactIDs"), list):
        return _v2_error(400, "contactIDs must be a list of contact IDs. ERROR_PARAMETER_INVALID")
    campaign = _by_id(state["campaigns"], body.get("campaignID"))
    if campaign is None:
        return _v2_error(404, "Campaign not found. ERROR_CAMPAIGN_NOT_FOUND")
    contact_ids = [_as_int(item) for item in body["contactIDs"]]
    if not contact_ids or any(str(cid) not in state["contacts"] for cid in contact_ids):
        return _v2_error(400, "Contact not found. ERROR_CONTACT_NOT_FOUND")
    send_date = body.get("sendDate")
    if send_date is not None and not (isinstance(send_date, str) and _is_date(send_date)):
        return _v2_error(400, "The send date is not valid. ERROR_PARAMETER_INVALID")
    send = {
        "id": len(state["campaign_sends"]) + 1,
        "campaignId": campaign["id"],
        "contactIds": contact_ids,
        "sendDate": send_date,
        "sendTimeOptimised": optimised,
        "status": "Scheduled" if send_date or optimised else "Sending",
    }
    state["campaign_sends"].append(send)
    return json_response(200, send)


def _list(key: str) -> Any:
    def handler(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
        return json_response(200, state[key])

    return handler


def _paged(key: str) -> Any:
    def handler(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
        return _page(request, state[key])

    return handler


# --- SMS and transactional email -------------------------------------------------------------


def _send_sms(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    number = unquote(request.params["number"])
    if not re.fullmatch(r"\d{7,15}", number):
        return _v2_error(400, "The telephone number is not valid. ERROR_INVALID_PHONE_NUMBER")
    body = request.json()
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("message"), str)
        or not body["message"]
    ):
        return _v2_error(400, "A message is required. ERROR_PARAMETER_INVALID")
    state["sms_messages"].append({"to": number, "message": body["message"]})
    return SandboxResponse(204)


def _send_cpaas(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return _v3_error(400, "apiSchemaViolation", "The request body must be a message object")
    number = (body.get("to") or {}).get("phoneNumber")
    if not (isinstance(number, str) and re.fullmatch(r"\d{7,15}", number)):
        return _v3_error(
            400, "invalidPhoneNumber", "to.phoneNumber must be an international number"
        )
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return _v3_error(400, "apiSchemaViolation", "body is required")
    if body.get("rules") != ["sms"]:
        return _v3_error(400, "apiSchemaViolation", 'rules must be ["sms"]')
    if body.get("shortenLinks", "on") not in ("on", "off"):
        return _v3_error(400, "apiSchemaViolation", 'shortenLinks must be "on" or "off"')
    sms = (body.get("channelOptions") or {}).get("sms") or {}
    unicode_blocked = not sms.get("allowUnicode") and not _is_gsm(text)
    message_id = f"{len(state['cpaas_messages']) + 1:08d}-0000-4000-8000-000000000000"
    state["cpaas_messages"].append(
        {
            "messageId": message_id,
            "to": number,
            "body": text,
            "from": sms.get("from"),
            "shortenLinks": body.get("shortenLinks") == "on",
            "status": "notSent: contains Unicode" if unicode_blocked else "sent",
        }
    )
    return json_response(201, {"messageId": message_id})


def _is_gsm(text: str) -> bool:
    return all(char.isascii() or char in _GSM_EXTRA for char in text)


def _send_email(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return _v2_error(400, "The request body must be an email object. ERROR_PARAMETER_INVALID")
    to = body.get("ToAddresses")
    if not isinstance(to, list) or not to:
        return _v2_error(400, "ToAddresses is required. ERROR_PARAMETER_INVALID")
    for key in ("ToAddresses", "CCAddresses", "BCCAddresses"):
        addresses = body.get(key) or []
        if len(addresses) > 100:
            return _v2_error(400, f"{key} holds more than 100 addresses. ERROR_PARAMETER_INVALID")
        for address in addresses:
            if not (isinstance(address, str) and _EMAIL.fullmatch(address)):
                return _v2_error(
                    400, f"{address} is not a valid email address. ERROR_INVALID_EMAIL"
                )
    for key in ("Subject", "FromAddress", "HtmlContent"):
        if not isinstance(body.get(key), str) or not body[key]:
            return _v2_error(400, f"{key} is required. ERROR_PARAMETER_INVALID")
    state["transactional_emails"].append(
        {**body, "FromAddressUsed": _from_address(body["FromAddress"])}
    )
    return SandboxResponse(200)


def _from_address(given: str) -> str:
    """Dotdigital replaces a from address the account does not have by its default one."""
    match = re.search(r"<\s*([^>]+?)\s*>$", given)
    address = match.group(1) if match else given
    return given if address.lower() in FROM_ADDRESSES else DEFAULT_FROM_ADDRESS


def _now() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def _receipt(
    describe: Callable[[SandboxRequest, dict[str, Any]], str], *, keyed: bool = False
) -> Receipts:
    """Receipts of one write: `describe(request, body)`, plus a body digest unless `keyed`."""

    def receipts(
        request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
    ) -> list[str]:
        body = request.json()
        text = describe(request, body if isinstance(body, dict) else {})
        return [text if keyed else f"{text} #{digest(request.body)}"]

    return receipts


def _ids(values: Any) -> str:
    return ",".join(str(value) for value in values or ())


_PATCH_RECEIPT = _receipt(
    lambda r, b: f"contacts/patch {r.params['channel']}={unquote(r.params['value'])}", keyed=True
)
_REMOVE_RECEIPT = _receipt(
    lambda r, b: f"lists/{r.params['listId']}/remove {unquote(r.params['contactId'])}",
    keyed=True,
)
_ENROL_RECEIPT = _receipt(
    lambda r, b: f"programs/enrol program={b.get('programId')} contacts={_ids(b.get('contacts'))}"
)
_CAMPAIGN_RECEIPT = _receipt(
    lambda r, b: (
        f"campaigns/send campaign={b.get('campaignID')} contacts={_ids(b.get('contactIDs'))}"
    )
)
_SMS_RECEIPT = _receipt(lambda r, b: f"sms {unquote(r.params['number'])}")
_CPAAS_RECEIPT = _receipt(lambda r, b: f"cpaas/sms {(b.get('to') or {}).get('phoneNumber')}")
_EMAIL_RECEIPT = _receipt(lambda r, b: f"email {(b.get('ToAddresses') or ['?'])[0]}")


# Served though cdpctl never calls it: the documented data-fields path (Segment adds the slash).
_DATA_FIELDS_NO_SLASH = Endpoint("GET", "/v2/data-fields", api.DATA_FIELDS.doc_url)


EMULATOR = Emulator(
    name="dotdigital",
    routes=(
        Route(api.DATA_FIELDS, _list("data_fields"), acknowledges=False),
        Route(_DATA_FIELDS_NO_SLASH, _list("data_fields"), acknowledges=False),
        Route(api.ADDRESS_BOOKS, _paged("address_books"), acknowledges=False),
        Route(api.PROGRAMS, _list("programs"), acknowledges=False),
        Route(api.CAMPAIGNS, _paged("campaigns"), acknowledges=False),
        Route(api.CONTACT, _get_contact, acknowledges=False),
        Route(api.CONTACT_PATCH, _patch_contact, receipts=_PATCH_RECEIPT),
        Route(api.LIST_CONTACT_DELETE, _remove_from_list, receipts=_REMOVE_RECEIPT),
        Route(api.ENROLMENTS, _enrol, receipts=_ENROL_RECEIPT),
        Route(api.CAMPAIGN_SEND, _send_campaign, receipts=_CAMPAIGN_RECEIPT),
        Route(api.CAMPAIGN_SEND_OPTIMISED, _send_campaign, receipts=_CAMPAIGN_RECEIPT),
        Route(api.SMS_SEND, _send_sms, receipts=_SMS_RECEIPT),
        Route(api.TRANSACTIONAL_EMAIL, _send_email, receipts=_EMAIL_RECEIPT),
        Route(api.CPAAS_MESSAGES, _send_cpaas, receipts=_CPAAS_RECEIPT),
    ),
    authenticate=_authenticate,
    requests_per_second=api.RATE_LIMIT.requests_per_second,
    initial_state=_initial_state,
    credentials={"username": USERNAME, "password": PASSWORD},
)
