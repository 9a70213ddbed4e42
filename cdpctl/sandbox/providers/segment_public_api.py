"""Segment's Public API emulation: a workspace's destinations, their subscriptions, the catalog.

Served as https://docs.segmentapis.com/ describes it: bearer auth, answers in `{"data": …}`,
cursor pagination (`pagination.count` 1-200, `pagination.cursor`, `data.pagination.next`),
secret destination settings answered masked, and writes to subscriptions limited to
`write_limit.writes` per `write_limit.seconds` (Segment: 5 a minute) with 429, `Retry-After`
and the `X-RateLimit-*` headers. The catalog is made from cdpctl's providers. The state file
format (`providers.segment_public_api`) is documented in docs/workspace.md.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import math
import time
from typing import Any

from cdpctl import triggers
from cdpctl.mappingfile import effective_mapping
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Provider
from cdpctl.sandbox.emulator import (
    Emulator,
    Route,
    SandboxRequest,
    SandboxResponse,
    json_response,
)
from cdpctl.workspace import api

TOKEN = "sandbox-segment-public-api-token"
DEMO_DESTINATION = "dst-sandbox-loops"
MAX_PAGE = 200


def _errors(status: int, kind: str, message: str, *headers: tuple[str, str]) -> SandboxResponse:
    return json_response(status, {"errors": [{"type": kind, "message": message}]}, *headers)


def _authenticate(request: SandboxRequest) -> SandboxResponse | None:
    if request.header("authorization") == f"Bearer {TOKEN}":
        return None
    return _errors(401, "unauthorized", "Unauthorized: the token is missing or not valid")


def metadata_id(provider: Provider) -> str:
    return f"meta-{provider.name}"


def action_id(provider: Provider, action: str) -> str:
    return f"act-{provider.name}-{action}"


def _catalog_provider(metadata: str) -> Provider | None:
    for name in provider_names():
        provider = get_provider(name)
        if provider is not None and metadata_id(provider) == metadata:
            return provider
    return None


def _mask(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    shown = value[-4:] if len(value) > 8 else ""
    return api.MASK * (len(value) - len(shown)) + shown


def _demo_subscription(
    sub_id: str, name: str, action: str, trigger: str, extra: dict[str, Any]
) -> dict[str, Any]:
    provider = get_provider("loops")
    assert provider is not None
    spec = provider.action(action)
    assert spec is not None
    settings, _ = effective_mapping(spec, extra, True)
    return {
        "id": sub_id,
        "name": name,
        "actionId": action_id(provider, action),
        "actionSlug": action,
        "destinationId": DEMO_DESTINATION,
        "modelId": "",
        "enabled": True,
        "trigger": trigger,
        "settings": settings,
    }


def initial_state() -> dict[str, Any]:
    """A demo workspace: one Loops destination with three subscriptions."""
    return {
        "destinations": {
            DEMO_DESTINATION: {
                "id": DEMO_DESTINATION,
                "name": "Loops (sandbox)",
                "enabled": True,
                "metadata": {"id": "meta-loops", "slug": "actions-loops", "name": "Loops"},
                "settings": {"apiKey": "sandbox-loops-key"},
            }
        },
        "subscriptions": {
            DEMO_DESTINATION: [
                _demo_subscription(
                    "sub-demo-1", "Upsert contact", "createOrUpdateContact", 'type = "identify"', {}
                ),
                _demo_subscription(
                    "sub-demo-2",
                    "Order completed",
                    "sendEvent",
                    'type = "track" and event = "Order Completed"',
                    {},
                ),
                _demo_subscription(
                    "sub-demo-3",
                    "Signed up",
                    "sendEvent",
                    'type = "track" and event = "Signed Up"',
                    {},
                ),
            ]
        },
        "write_limit": {"writes": api.WRITES_PER_MINUTE, "seconds": 60},
        "writes": [],
        "lose_answers": 0,
        "next_id": 0,
    }


# --- the write limit -------------------------------------------------------------------------


def _window(state: dict[str, Any], now: float) -> tuple[int, float, list[float]]:
    limit = state.get("write_limit") or {}
    writes = int(limit.get("writes", api.WRITES_PER_MINUTE))
    seconds = float(limit.get("seconds", 60))
    recent = [t for t in state.setdefault("writes", []) if now - t < seconds]
    state["writes"] = recent
    return writes, seconds, recent


def _limit_headers(state: dict[str, Any], now: float) -> tuple[tuple[str, str], ...]:
    writes, seconds, recent = _window(state, now)
    reset = (recent[0] + seconds) if recent else now + seconds
    return (
        ("X-RateLimit-Consumed", str(len(recent))),
        ("X-RateLimit-Remaining", str(max(0, writes - len(recent)))),
        # an RFC 5322 date has whole seconds: round up, never announce a reset too early
        ("X-RateLimit-Reset", email.utils.formatdate(math.ceil(reset), usegmt=True)),
    )


def _take_write(state: dict[str, Any]) -> SandboxResponse | None:
    """None when a write may go ahead (and counts it), else Segment's 429."""
    now = time.time()
    writes, seconds, recent = _window(state, now)
    if len(recent) < writes:
        recent.append(now)
        return None
    wait = recent[0] + seconds - now
    return json_response(
        429,
        {
            "errors": [
                {
                    "type": "RequestError",
                    "message": "Too many requests",
                    "data": {
                        "remainingPoints": 0,
                        "msBeforeNext": math.ceil(wait * 1000),
                        "consumedPoints": len(recent),
                    },
                }
            ]
        },
        ("Retry-After", str(max(1, math.ceil(wait)))),
        *_limit_headers(state, now),
    )


def _written(state: dict[str, Any], status: int, body: Any) -> SandboxResponse:
    lost = state.get("lose_answers", 0) > 0
    if lost:
        state["lose_answers"] -= 1
    return SandboxResponse(status, body, _limit_headers(state, time.time()), lost=lost)


# --- handlers --------------------------------------------------------------------------------


def _destination(state: dict[str, Any], request: SandboxRequest) -> dict[str, Any] | None:
    return state["destinations"].get(request.params.get("destinationId", ""))


def _not_found(what: str) -> SandboxResponse:
    return _errors(404, "NotFound", f"{what} not found")


def _get_destination(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    destination = _destination(state, request)
    if destination is None:
        return _not_found("destination")
    provider = _catalog_provider(destination["metadata"]["id"])
    secret = {s.name for s in provider.settings if s.secret} if provider else set()
    shown = {
        **destination,
        "settings": {k: _mask(v) if k in secret else v for k, v in destination["settings"].items()},
    }
    return json_response(200, {"data": {"destination": shown}})


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _offset(cursor: str) -> int | None:
    try:
        value = int(base64.b64decode(cursor.encode(), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if value >= 0 else None


def _list(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    destination = _destination(state, request)
    if destination is None:
        return _not_found("destination")
    count_text = request.query.get("pagination.count")
    if count_text is None or not count_text.isdigit() or not 1 <= int(count_text) <= MAX_PAGE:
        return _errors(
            422, "ValidationError", f"pagination.count must be a number from 1 to {MAX_PAGE}"
        )
    count = int(count_text)
    cursor = request.query.get("pagination.cursor")
    offset = 0 if cursor is None else _offset(cursor)
    if offset is None:
        return _errors(422, "ValidationError", "pagination.cursor is not valid")
    items = state["subscriptions"].get(destination["id"], [])
    page = items[offset : offset + count]
    following = offset + count
    return json_response(
        200,
        {
            "data": {
                "subscriptions": page,
                "pagination": {
                    "current": _cursor(offset),
                    "next": _cursor(following) if following < len(items) else None,
                    "previous": _cursor(max(0, offset - count)) if offset else None,
                    "totalEntries": len(items),
                },
            }
        },
    )


def _find(state: dict[str, Any], request: SandboxRequest) -> dict[str, Any] | None:
    destination = _destination(state, request)
    if destination is None:
        return None
    for item in state["subscriptions"].get(destination["id"], []):
        if item["id"] == request.params.get("id"):
            return item
    return None


def _get(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    found = _find(state, request)
    if found is None:
        return _not_found("subscription")
    return json_response(200, {"data": {"subscription": found}})


def _trigger_problem(trigger: Any) -> str | None:
    if not isinstance(trigger, str) or not trigger.strip():
        return "trigger must be a non-empty FQL string"
    try:
        triggers.parse(trigger)
    except triggers.TriggerSyntaxError as error:
        return f"trigger is not valid FQL: {error.message}"
    return None


def _create(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    destination = _destination(state, request)
    if destination is None:
        return _not_found("destination")
    body = request.json()
    if not isinstance(body, dict):
        return _errors(422, "ValidationError", "the body must be a JSON object")
    provider = _catalog_provider(destination["metadata"]["id"])
    actions = {action_id(provider, a.name): a.name for a in provider.actions} if provider else {}
    problems = []
    for key, kind in (("name", str), ("actionId", str), ("enabled", bool), ("settings", dict)):
        if not isinstance(body.get(key), kind):
            problems.append(f"{key} is required ({kind.__name__})")
    if isinstance(body.get("actionId"), str) and body["actionId"] not in actions:
        problems.append(f"actionId {body['actionId']} is not an action of this destination")
    if (problem := _trigger_problem(body.get("trigger"))) is not None:
        problems.append(problem)
    if problems:
        return _errors(422, "ValidationError", "; ".join(problems))
    refusal = _take_write(state)
    if refusal is not None:
        return refusal
    state["next_id"] = state.get("next_id", 0) + 1
    item = {
        "id": f"sub-sandbox-{state['next_id']}",
        "name": body["name"],
        "actionId": body["actionId"],
        "actionSlug": actions[body["actionId"]],
        "destinationId": destination["id"],
        "modelId": "",
        "enabled": body["enabled"],
        "trigger": body["trigger"],
        "settings": body["settings"],
    }
    state["subscriptions"].setdefault(destination["id"], []).append(item)
    return _written(state, 200, {"data": {"destinationSubscription": item}})


def _update(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    found = _find(state, request)
    if found is None:
        return _not_found("subscription")
    body = request.json()
    changes = body.get("input") if isinstance(body, dict) else None
    if not isinstance(changes, dict):
        return _errors(422, "ValidationError", 'the body must be {"input": {…}}')
    allowed = {"name": str, "trigger": str, "enabled": bool, "settings": dict}
    problems = [f"input.{k} cannot be changed" for k in changes if k not in allowed]
    problems += [
        f"input.{k} must be {kind.__name__}"
        for k, kind in allowed.items()
        if k in changes and not isinstance(changes[k], kind)
    ]
    if "trigger" in changes and (problem := _trigger_problem(changes["trigger"])) is not None:
        problems.append(problem)
    if problems:
        return _errors(422, "ValidationError", "; ".join(problems))
    refusal = _take_write(state)
    if refusal is not None:
        return refusal
    found.update(changes)
    return _written(state, 200, {"data": {"subscription": found}})


def _delete(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    found = _find(state, request)
    if found is None:
        return _not_found("subscription")
    refusal = _take_write(state)
    if refusal is not None:
        return refusal
    state["subscriptions"][found["destinationId"]].remove(found)
    return _written(state, 200, {"data": {"status": "SUCCESS"}})


def _catalog(request: SandboxRequest, state: dict[str, Any]) -> SandboxResponse:
    provider = _catalog_provider(request.params.get("destinationMetadataId", ""))
    if provider is None:
        return _not_found("destination metadata")
    slug = provider.segment_slugs[0] if provider.segment_slugs else provider.name
    return json_response(
        200,
        {
            "data": {
                "destinationMetadata": {
                    "id": metadata_id(provider),
                    "name": provider.title,
                    "slug": slug,
                    "actions": [
                        {
                            "id": action_id(provider, a.name),
                            "slug": a.name,
                            "name": a.title,
                            "platform": "CLOUD",
                            "hidden": False,
                        }
                        for a in provider.actions
                    ],
                }
            }
        },
    )


EMULATOR = Emulator(
    name="segment_public_api",
    routes=(
        Route(api.GET_DESTINATION, _get_destination, acknowledges=False),
        Route(api.LIST_SUBSCRIPTIONS, _list, acknowledges=False),
        Route(api.GET_SUBSCRIPTION, _get, acknowledges=False),
        Route(api.CREATE_SUBSCRIPTION, _create),
        Route(api.UPDATE_SUBSCRIPTION, _update),
        Route(api.DELETE_SUBSCRIPTION, _delete),
        Route(api.GET_CATALOG_DESTINATION, _catalog, acknowledges=False),
    ),
    authenticate=_authenticate,
    requests_per_second=0,  # only writes are limited (write_limit, in the state)
    initial_state=initial_state,
    credentials={"token": TOKEN},
)
