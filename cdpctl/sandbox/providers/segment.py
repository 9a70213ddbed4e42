"""Segment HTTP Tracking API emulation: single calls, /batch, and messageId de-duplication.

Accepted credentials: write key `sandbox-segment-write-key`, sent as HTTP Basic user name
(`Authorization: Basic base64("sandbox-segment-write-key:")`) or as `"writeKey"` in the body.
A wrong key is answered 401 and a missing one 400, both with Segment's body
`{"success":false,"message":"An invalid write key was provided"}` (the real API answers most
wrong keys 200; the sandbox is stricter so tests can see the mistake).

As Segment does: a call over 32 KB, a batch over 500 KB or one holding an event over 32 KB, and
a body that is not JSON get 400 `Exceed payload limit` / `Invalid JSON`; calls without userId
and anonymousId, track calls without an event and batches of more than 2500 events are answered
200 but dropped. State: `messages` keyed by messageId (a generated `sandbox-<n>` when absent),
`duplicates` (how many calls repeated a known messageId, which Segment drops), `duplicate_ids`,
and `dropped` (each with its reason).

Receipts (`GET /_sandbox/receipts` → segment): one per message received, single call or batch
item, dropped or not, keyed by its `messageId` (Segment de-duplicates on it); a message without
one is keyed `(no messageId) #<digest of the message>`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cdpctl import jsonwire
from cdpctl.providers.base import Endpoint
from cdpctl.providers.segment import (
    BATCH,
    DOCS_URL,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    RATE_LIMIT,
    SEND,
    SOURCE_SETTINGS,
)
from cdpctl.sandbox.emulator import (
    Emulator,
    Handler,
    Route,
    SandboxRequest,
    SandboxResponse,
    digest,
    json_response,
)

WRITE_KEY = "sandbox-segment-write-key"
CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
_SETTINGS_PREFIX = "/v1/projects/"
_INVALID_KEY = {"success": False, "message": "An invalid write key was provided"}


def _basic_user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


def write_key(request: SandboxRequest) -> str | None:
    """The write key of a tracking call: the Basic user name, else `writeKey` in the body."""
    key = _basic_user(request.header("authorization"))
    if key:
        return key
    body = request.json()
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"] or None
    return None


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.path.startswith(_SETTINGS_PREFIX):
        if request.params.get("writeKey") == WRITE_KEY:
            return None
        return SandboxResponse(401, b"Unauthorized", (("Content-Type", "text/plain"),))
    key = write_key(request)
    if key == WRITE_KEY:
        return None
    return json_response(401 if key else 400, _INVALID_KEY)


def _bad_request(message: str) -> SandboxResponse:
    return json_response(400, {"success": False, "message": message})


_ACCEPTED = json_response(200, {"success": True})


def _drop_reason(message: dict[str, Any]) -> str | None:
    kind = message.get("type")
    if kind not in CALL_TYPES:
        return f"unknown type {kind!r}"
    if kind == "alias":
        if not message.get("userId") or not message.get("previousId"):
            return "alias needs userId and previousId"
        return None
    if not message.get("userId") and not message.get("anonymousId"):
        return "no userId or anonymousId"
    if kind == "track" and not message.get("event"):
        return "track without an event name"
    if kind == "group" and not message.get("groupId"):
        return "group without a groupId"
    return None


def _ingest(state: dict[str, Any], message: dict[str, Any]) -> None:
    """Keep one message the way Segment's pipeline would: drop, de-duplicate, or store."""
    reason = _drop_reason(message)
    if reason is not None:
        state["dropped"].append({"reason": reason, "message": message})
        return
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        state["next_id"] += 1
        message_id = f"sandbox-{state['next_id']}"
    if message_id in state["messages"]:
        state["duplicates"] += 1
        state["duplicate_ids"].append(message_id)
        return
    state["messages"][message_id] = message


def _single(kind: str) -> Handler:
    def handle(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
        if len(request.body) > MAX_EVENT_BYTES:
            return _bad_request("Exceed payload limit")
        body = request.json()
        if not isinstance(body, dict):
            return _bad_request("Invalid JSON")
        message = {key: value for key, value in body.items() if key != "writeKey"}
        message["type"] = kind  # the route decides the call type
        _ingest(state, message)
        return _ACCEPTED

    return handle


def _batch(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    if len(request.body) > MAX_BATCH_BYTES:
        return _bad_request("Exceed payload limit")
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        return _bad_request("Invalid JSON")
    items = body["batch"]
    if not all(isinstance(item, dict) for item in items):
        return _bad_request("Invalid JSON")
    if any(len(jsonwire.dumps(item)) > MAX_EVENT_BYTES for item in items):
        return _bad_request("Exceed payload limit")
    if len(items) > MAX_BATCH_EVENTS:
        reason = f"batch of {len(items)} events is over {MAX_BATCH_EVENTS}"
        state["dropped"].extend({"reason": reason, "message": item} for item in items)
        return _ACCEPTED
    shared = body.get("context") if isinstance(body.get("context"), dict) else {}
    for item in items:
        message = {key: value for key, value in item.items() if key != "writeKey"}
        if shared:
            own = message.get("context")
            message["context"] = {**shared, **(own if isinstance(own, dict) else {})}
        _ingest(state, message)
    return _ACCEPTED


def message_key(message: dict[str, Any]) -> str:
    """A message's receipt key: its messageId, else a digest of the message."""
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id:
        return message_id
    return f"(no messageId) #{digest(message)}"


def _receipts(
    request: SandboxRequest, response: SandboxResponse, state: dict[str, Any]
) -> list[str]:
    body = request.json()
    if not isinstance(body, dict):
        return []
    items = body.get("batch") if request.path == BATCH.path else [body]
    return [message_key(item) for item in items or () if isinstance(item, dict)]


def _settings(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    key = request.params["writeKey"]
    return json_response(200, {"integrations": {"Segment.io": {"apiKey": key}}, "plan": {}})


# The HTTP API takes alias calls too, though no cdpctl action sends one.
_ALIAS = Endpoint("POST", "/v1/alias", f"{DOCS_URL}#alias")


EMULATOR = Emulator(
    name="segment",
    routes=(
        *(Route(endpoint, _single(kind), receipts=_receipts) for kind, endpoint in SEND.items()),
        Route(_ALIAS, _single("alias"), receipts=_receipts),
        Route(BATCH, _batch, receipts=_receipts),
        Route(SOURCE_SETTINGS, _settings, acknowledges=False),
    ),
    authenticate=_authenticate,
    requests_per_second=RATE_LIMIT.requests_per_second,
    initial_state=lambda: {
        "messages": {},
        "duplicates": 0,
        "duplicate_ids": [],
        "dropped": [],
        "next_id": 0,
    },
    credentials={"source_write_key": WRITE_KEY},
)
