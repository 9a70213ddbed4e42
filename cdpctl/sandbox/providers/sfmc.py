"""Salesforce Marketing Cloud emulation: OAuth tokens, contacts, data-extension rows (sync,
rowset and async), Journey Builder API events.

Credentials the sandbox accepts (any valid subdomain; requests reach the sandbox host):
client_id `sandbox-sfmc-client`, client_secret `sandbox-sfmc-secret`, account_id `100000001`
(or no account_id). Anything else gets SFMC's 401 `invalid_client` answer. Tokens last
`TOKEN_LIFETIME` seconds; an expired or unknown bearer token gets SFMC's 401 "Not Authorized".

Data extensions `segment_identify` (primary key `Contact Key`), `orders_de` (`Contact Key`,
`Order Id`) and `async_orders` (id `9a1c3e55-1d2b-4c6a-8f00-000000000003`, `Order Id`) exist
from the start, with the declared columns of `SEEDED_COLUMNS` (name, type, length, primary key,
nullable) that the columns lookup (`GET /data/v1/customobjects/{de}/fields`) answers; for a data
extension created by a write, that lookup lists the columns its rows hold, as Text.
A synchronous write to an unknown data extension creates it, with the written row's key columns
as its primary keys; the async API answers `CustomObjectNotFound` instead.
Rows are upserted by primary key (columns matched without regard to case, later values win).
SFMC's rule that a Contact Key may not contain ':' is enforced for contacts, API events and
`Contact Key`/`contactKey` columns.

The token endpoint answers odd tokens under the sandbox's `token` fault.

Receipts (`GET /_sandbox/receipts` → sfmc): contacts `contacts <contactKey>`; data-extension
rows (sync, rowset and each async item applied) `rows <data extension> <primary key values>`,
the data extension as the path names it (`key:…` or its id) and the key values as the JSON
pairs rows are stored under; API events (not idempotent, no key)
`events <eventDefinitionKey> <contactKey> #<digest of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

from cdpctl import jsonwire
from cdpctl.providers.sfmc import api
from cdpctl.sandbox.emulator import (
    Emulator,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

CLIENT_ID = "sandbox-sfmc-client"
CLIENT_SECRET = "sandbox-sfmc-secret"
ACCOUNT_ID = "100000001"
TOKEN_LIFETIME = 1079  # seconds, what real tenants answer
_SIGNING_KEY = b"cdpctl-sandbox-sfmc"
_DOCS = "https://developer.salesforce.com/docs"
_ERROR_DOCS = (
    "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/error-handling.html"
)
_SCOPE = "data_extensions_read data_extensions_write list_and_subscribers_read journeys_read"
INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client authentication failed.",
    "error_uri": _DOCS,
}
NOT_AUTHORIZED = {"message": "Not Authorized", "errorcode": 1, "documentation": _ERROR_DOCS}


# --- tokens ----------------------------------------------------------------------------------


def _signature(nonce: str, expires_at: int) -> str:
    message = f"{nonce}.{expires_at}".encode()
    return hmac.new(_SIGNING_KEY, message, hashlib.sha256).hexdigest()[:32]


def issue_token(expires_at: float) -> str:
    """A token the sandbox accepts until `expires_at` (epoch seconds)."""
    nonce = os.urandom(8).hex()
    at = int(expires_at)
    return f"sbx.{nonce}.{at}.{_signature(nonce, at)}"


def token_valid(token: str, now: float) -> bool:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "sbx" or not parts[2].isdigit():
        return False
    nonce, at, signature = parts[1], int(parts[2]), parts[3]
    return hmac.compare_digest(signature, _signature(nonce, at)) and now < at


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.path == "/v2/token":
        return None  # the token endpoint checks client credentials itself
    header = request.header("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token_valid(token.strip(), time.time()):
        return None
    return json_response(401, NOT_AUTHORIZED)


def _form(request: SandboxRequest) -> dict[str, Any]:
    if (request.header("content-type") or "").startswith("application/json"):
        body = request.json()
        return body if isinstance(body, dict) else {}
    return dict(parse_qsl(request.body.decode("utf-8", "replace")))


def _token(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    form = _form(request)
    if form.get("grant_type") != "client_credentials":
        return json_response(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": 'Use "client_credentials" as the value of the '
                '"grant_type" parameter.',
                "error_uri": _DOCS,
            },
        )
    account = form.get("account_id")
    if (
        form.get("client_id") != CLIENT_ID
        or form.get("client_secret") != CLIENT_SECRET
        or account not in (None, "", ACCOUNT_ID)
    ):
        return json_response(401, INVALID_CLIENT)
    state["tokens_issued"] += 1
    base = f"http://{request.header('host') or '127.0.0.1'}/"
    return json_response(
        200,
        {
            "access_token": issue_token(time.time() + TOKEN_LIFETIME),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": _SCOPE,
            "soap_instance_url": base,
            "rest_instance_url": base,
        },
    )


# --- contacts and API events -----------------------------------------------------------------


def _has_colon_contact_key(value: Any) -> bool:
    return isinstance(value, str) and ":" in value


def _contact_failure(message: str) -> SandboxResponse:
    return json_response(
        400,
        {
            "operationStatus": "Fail",
            "hasErrors": True,
            "resultMessages": [
                {
                    "resultType": "Validation",
                    "resultCode": "InvalidContactKey",
                    "resultClass": "Error",
                    "message": message,
                }
            ],
        },
    )


def _contacts(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    key = body.get("contactKey") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key:
        return _contact_failure("contactKey is required.")
    if _has_colon_contact_key(key):
        return _contact_failure(f'ContactKey "{key}" contains ":" which is not allowed.')
    contacts = state["contacts"]
    is_new = key not in contacts
    if is_new:
        state["next_id"] += 1
        contacts[key] = {"contactKey": key, "contactId": state["next_id"], "attributeSets": []}
    contacts[key]["attributeSets"] = body.get("attributeSets") or contacts[key]["attributeSets"]
    return json_response(
        200,
        {
            "operationStatus": "OK",
            "rowsAffected": 1,
            "contactKey": key,
            "contactId": contacts[key]["contactId"],
            "contactTypeId": 0,
            "isNewContactKey": is_new,
            "hasErrors": False,
            "resultMessages": [],
        },
    )


def _field(body: dict[str, Any], name: str) -> Any:
    """SFMC reads `ContactKey` and `contactKey` alike."""
    return body.get(name, body.get(name[0].upper() + name[1:]))


def _api_event(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return _hub_error(400, "Request body must be a JSON object.", 30000)
    key, definition = _field(body, "contactKey"), _field(body, "eventDefinitionKey")
    if not isinstance(definition, str) or not definition:
        return _hub_error(400, "EventDefinitionKey is required.", 30000)
    if not isinstance(key, str) or not key:
        return _hub_error(400, "ContactKey is required.", 30000)
    if _has_colon_contact_key(key):
        return _hub_error(400, f'ContactKey "{key}" contains ":" which is not allowed.', 30000)
    instance = str(uuid.uuid4())
    state["events"].append(
        {
            "eventInstanceId": instance,
            "contactKey": key,
            "eventDefinitionKey": definition,
            "data": _field(body, "data") or {},
        }
    )
    return json_response(201, {"eventInstanceId": instance})


# --- data extensions -------------------------------------------------------------------------


def _hub_error(
    status: int, message: str, code: int, additional: list[dict[str, Any]] | None = None
) -> SandboxResponse:
    body: dict[str, Any] = {"message": message, "errorcode": code, "documentation": _ERROR_DOCS}
    if additional:
        body["additionalErrors"] = additional
    return json_response(status, body)


def _seed(
    de_id: str, key: str, primary_keys: list[str], columns: list[dict[str, Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    table: dict[str, Any] = {"id": de_id, "key": key, "primary_keys": primary_keys, "rows": {}}
    if columns is not None:
        table["columns"] = columns
    return de_id, table


def _column(
    name: str, kind: str, length: int | None = None, *, key: bool = False, nullable: bool = True
) -> dict[str, Any]:
    """A declared column as SFMC's customobjects fields lookup describes it."""
    return {
        "name": name,
        "type": kind,
        "length": length,
        "isPrimaryKey": key,
        "isNullable": nullable and not key,
    }


#: The declared columns of the seeded data extensions (see the module docstring).
SEEDED_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "segment_identify": [
        _column("Contact Key", "Text", 254, key=True),
        _column("Email", "EmailAddress", 254),
        _column("First Name", "Text", 100),
        _column("Last Name", "Text", 100),
        _column("Birthday", "Date"),
        _column("Plan", "Text", 50),
        _column("Age", "Number"),
    ],
    "orders_de": [
        _column("Contact Key", "Text", 254, key=True),
        _column("Order Id", "Text", 50, key=True),
        _column("Revenue", "Decimal"),
        _column("Currency", "Text", 3),
        _column("Order Date", "Date"),
        _column("Gift", "Boolean"),
    ],
    "async_orders": [
        _column("Order Id", "Text", 50, key=True),
        _column("Contact Key", "Text", 254),
        _column("Total", "Decimal"),
        _column("Status", "Text", 20, nullable=False),
    ],
}


def _initial_state() -> dict[str, Any]:
    return {
        "tokens_issued": 0,
        "contacts": {},
        "data_extensions": dict(
            [
                _seed(
                    "9a1c3e55-1d2b-4c6a-8f00-000000000001",
                    "segment_identify",
                    ["Contact Key"],
                    SEEDED_COLUMNS["segment_identify"],
                ),
                _seed(
                    "9a1c3e55-1d2b-4c6a-8f00-000000000002",
                    "orders_de",
                    ["Contact Key", "Order Id"],
                    SEEDED_COLUMNS["orders_de"],
                ),
                _seed(
                    "9a1c3e55-1d2b-4c6a-8f00-000000000003",
                    "async_orders",
                    ["Order Id"],
                    SEEDED_COLUMNS["async_orders"],
                ),
            ]
        ),
        "events": [],
        "async_requests": {},
        "next_id": 0,
    }


def find_de(state: dict[str, Any], reference: str) -> dict[str, Any] | None:
    """A data extension by path reference: `key:{external key}` or its id (both encoded)."""
    tables = state["data_extensions"]
    if reference.startswith("key:"):
        wanted = unquote(reference[4:]).casefold()
        return next((t for t in tables.values() if (t["key"] or "").casefold() == wanted), None)
    return tables.get(unquote(reference))


def _create_de(state: dict[str, Any], reference: str, primary_keys: list[str]) -> dict[str, Any]:
    if reference.startswith("key:"):
        de_id, key = str(uuid.uuid4()), unquote(reference[4:])
    else:
        de_id, key = unquote(reference), None
    state["data_extensions"][de_id] = {
        "id": de_id,
        "key": key,
        "primary_keys": primary_keys,
        "rows": {},
    }
    return state["data_extensions"][de_id]


def _folded(columns: dict[str, Any]) -> dict[str, Any]:
    return {name.casefold(): value for name, value in columns.items()}


def _row_problem(
    table: dict[str, Any], keys: Any, values: Any, *, need_values: bool = True
) -> str | None:
    """Why SFMC would refuse this row, or None."""
    if not isinstance(keys, dict) or not keys:
        return "keys must be an object with the data extension's primary keys"
    if not isinstance(values, dict):
        return "values must be an object"
    wanted = {name.casefold() for name in table["primary_keys"]}
    if {name.casefold() for name in keys} != wanted:
        return (
            "Cannot locate the existing record. The keys must be exactly the primary keys: "
            + ", ".join(table["primary_keys"])
        )
    for name, value in keys.items():
        if value is None or value == "":
            return f"Primary key '{name}' cannot be null or empty."
    for name, value in {**keys, **values}.items():
        if name.replace(" ", "").casefold() == "contactkey" and _has_colon_contact_key(value):
            return f'Contact Key "{value}" contains ":" which is not allowed.'
    if need_values and not values:
        return "At least one existing field is required in the values property."
    return None


def row_id(table: dict[str, Any], keys: dict[str, Any]) -> str:
    """The identity a row is stored under: its primary-key values, names folded."""
    folded = _folded(keys)
    return jsonwire.dumps(
        [[name.casefold(), folded.get(name.casefold())] for name in sorted(table["primary_keys"])]
    ).decode()


def upsert(table: dict[str, Any], keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update the row with these primary-key values; given columns overwrite."""
    row = table["rows"].setdefault(row_id(table, keys), {})
    existing = {name.casefold(): name for name in row}
    for name, value in {**keys, **values}.items():
        row[existing.setdefault(name.casefold(), name)] = value


def _rowset(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    rows = request.json()
    if not isinstance(rows, list) or not rows:
        return _hub_error(400, "The request body must be a non-empty array of rows.", 10000)
    reference = request.params["de"]
    table = find_de(state, reference)
    if table is None:
        first = rows[0] if isinstance(rows[0], dict) else {}
        found = first.get("keys")
        keys: dict[str, Any] = found if isinstance(found, dict) else {}
        table = _create_de(state, reference, list(keys))
    for position, row in enumerate(rows):
        # SFMC keeps the rows before the first bad one and rejects the rest.
        item = row if isinstance(row, dict) else {}
        problem = _row_problem(table, item.get("keys"), item.get("values"))
        if problem is not None:
            return _hub_error(
                400,
                f"Unable to save rows for data extension ID {table['id']}",
                10006,
                [{"message": f"Row {position}: {problem}", "errorcode": 10000}],
            )
        upsert(table, item["keys"], item["values"])
    return json_response(200, rows)


def _path_keys(text: str) -> dict[str, Any] | None:
    """`Contact%20Key:u_123,Order%20Id:o-9` → keys; None when a pair is not name:value."""
    keys: dict[str, Any] = {}
    for pair in text.split(","):
        if pair.count(":") != 1:
            return None
        name, value = pair.split(":")
        keys[unquote(name)] = unquote(value)
    return keys


def _row(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    keys = _path_keys(request.params["keys"])
    if keys is None:
        return _hub_error(
            400,
            "Invalid primary key in the URL: use {name}:{value} pairs separated by commas, with "
            "':' and ',' in names and values percent-encoded.",
            10000,
        )
    body = request.json()
    values = body.get("values") if isinstance(body, dict) else None
    reference = request.params["de"]
    table = find_de(state, reference) or _create_de(state, reference, list(keys))
    problem = _row_problem(table, keys, values)
    if problem is not None:
        return _hub_error(
            400,
            f"Unable to save rows for data extension ID {table['id']}",
            10006,
            [{"message": problem, "errorcode": 10000}],
        )
    assert isinstance(values, dict)  # _row_problem refuses anything else
    upsert(table, keys, values)
    return json_response(200, {"keys": keys, "values": values})


def _async_rows(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    request_id = str(uuid.uuid4())
    reference = request.params["de"]
    table = find_de(state, reference)
    if table is None:
        shown = unquote(reference[4:]) if reference.startswith("key:") else unquote(reference)
        return json_response(
            400,
            {
                "requestId": request_id,
                "resultMessages": [
                    {
                        "resultType": "Validation",
                        "resultClass": "Error",
                        "resultCode": "CustomObjectNotFound",
                        "message": f"Failed to resolve the Custom Object {shown}.",
                    }
                ],
            },
        )
    body = request.json()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return json_response(
            400,
            {
                "requestId": request_id,
                "resultMessages": [
                    {
                        "resultType": "Validation",
                        "resultClass": "Error",
                        "resultCode": "InvalidRequest",
                        "message": "items must be a non-empty array of rows.",
                    }
                ],
            },
        )
    results = [_async_item(table, item) for item in items]
    has_errors = any(r["status"] != "OK" for r in results)
    state["async_requests"][request_id] = {
        "status": {
            "requestStatus": "Complete",
            "resultStatus": "Has Errors" if has_errors else "OK",
            "hasErrors": has_errors,
            "requestId": request_id,
        },
        "items": results,
    }
    return json_response(202, {"requestId": request_id, "resultMessages": []})


def _async_item(table: dict[str, Any], item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"status": "Error", "message": "A row must be an object.", "errorCode": 10000}
    primary = {name.casefold() for name in table["primary_keys"]}
    keys = {name: value for name, value in item.items() if name.casefold() in primary}
    values = {name: value for name, value in item.items() if name.casefold() not in primary}
    if len(keys) != len(primary):
        problem: str | None = "Cannot locate the existing record. Required keys are missing."
    else:
        problem = _row_problem(table, keys, values, need_values=False)
    if problem is not None:
        return {"status": "Error", "message": problem, "errorCode": 10000}
    upsert(table, keys, values)
    return {"status": "OK", "message": "Row upserted."}


def _async_request(state: dict[str, Any], request: SandboxRequest) -> dict[str, Any] | None:
    return state["async_requests"].get(unquote(request.params["request_id"]))


def _async_status(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    found = _async_request(state, request)
    if found is None:
        return _hub_error(404, "Request ID not found.", 10000)
    return json_response(
        200,
        {
            "status": found["status"],
            "requestId": found["status"]["requestId"],
            "resultMessages": [],
        },
    )


def _async_results(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    found = _async_request(state, request)
    if found is None:
        return _hub_error(404, "Request ID not found.", 10000)
    items = found["items"]
    return json_response(
        200,
        {
            "page": 1,
            "pageSize": len(items),
            "count": len(items),
            "items": items,
            "requestId": found["status"]["requestId"],
            "resultMessages": [],
        },
    )


def _fields(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    table = find_de(state, request.params["de"])
    if table is None:
        return _hub_error(404, "Data extension not found.", 10000)
    if "columns" in table:  # declared columns (the seeded account), as SFMC describes them
        return json_response(200, {"id": table["id"], "fields": table["columns"]})
    primary = {name.casefold() for name in table["primary_keys"]}
    names = {name.casefold(): name for name in table["primary_keys"]}
    for row in table["rows"].values():
        for name in row:
            names.setdefault(name.casefold(), name)
    fields = [
        {"name": name, "type": "Text", "isPrimaryKey": folded in primary}
        for folded, name in names.items()
    ]
    return json_response(200, {"id": table["id"], "fields": fields})


def _contact_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    return [f"contacts {request.json()['contactKey']}"]


def _event_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    body = request.json()
    key, definition = _field(body, "contactKey"), _field(body, "eventDefinitionKey")
    return [f"events {definition} {key} #{digest(request.body)}"]


def _row_receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    reference = request.params["de"]
    table = find_de(state, reference)
    if table is None:
        return []
    where = unquote(reference)
    if request.path.endswith("/rowset"):
        rows = [row["keys"] for row in request.json()]
    elif "keys" in request.params:
        rows = [_path_keys(request.params["keys"]) or {}]
    else:  # async: the items applied, which hold the keys among their columns
        primary = {name.casefold() for name in table["primary_keys"]}
        found = state["async_requests"][response.body["requestId"]]["items"]
        items = request.json()["items"]
        rows = [
            {name: value for name, value in item.items() if name.casefold() in primary}
            for item, result in zip(items, found, strict=True)
            if result["status"] == "OK"
        ]
    return [f"rows {where} {row_id(table, keys)}" for keys in rows]


EMULATOR = Emulator(
    name="sfmc",
    routes=(
        Route(api.TOKEN, _token, acknowledges=False, issues_token=True),
        Route(api.CONTACTS, _contacts, receipts=_contact_receipts),
        Route(api.ROWSET, _rowset, receipts=_row_receipts),
        Route(api.ROW, _row, receipts=_row_receipts),
        Route(api.ASYNC_ROWS, _async_rows, receipts=_row_receipts),
        Route(api.ASYNC_STATUS, _async_status, acknowledges=False),
        Route(api.ASYNC_RESULTS, _async_results, acknowledges=False),
        Route(api.API_EVENT, _api_event, receipts=_event_receipts),
        Route(api.DE_FIELDS, _fields, acknowledges=False),
    ),
    authenticate=_authenticate,
    requests_per_second=api.RATE_LIMIT.requests_per_second,
    initial_state=_initial_state,
    credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "account_id": ACCOUNT_ID},
)
