"""Segment's Public API as data: endpoints, request values and the reading of answers.

Reference: https://docs.segmentapis.com/ — bearer tokens (`Authorization: Bearer …`), payloads
wrapped in `{"data": …}`, cursor pagination (`pagination.count` from 1 to 200,
`pagination.cursor`, the next page's cursor in `data.pagination.next`), writes to a
destination's subscriptions limited to 5 a minute (429 with `Retry-After` and the
`X-RateLimit-*` headers, https://docs.segmentapis.com/tag/Rate-Limits), secret settings
answered masked (`••••••••••dada`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from cdpctl.providers.base import Endpoint

TOKEN_ENV = "SEGMENT_PUBLIC_API_TOKEN"
REGIONS: Mapping[str, str] = {
    "us": "https://api.segmentapis.com",
    "eu": "https://eu1.api.segmentapis.com",
}
WRITES_PER_MINUTE = 5  # subscription creates, updates and deletes
PAGE_SIZE = 200  # the largest `pagination.count` every list endpoint takes
MASK = "•"  # what a masked secret is made of, e.g. "••••••••••dada"

_DESTINATIONS = "https://docs.segmentapis.com/tag/Destinations"
_CATALOG = "https://docs.segmentapis.com/tag/Catalog"

GET_DESTINATION = Endpoint("GET", "/destinations/{destinationId}", _DESTINATIONS)
LIST_SUBSCRIPTIONS = Endpoint("GET", "/destinations/{destinationId}/subscriptions", _DESTINATIONS)
GET_SUBSCRIPTION = Endpoint(
    "GET", "/destinations/{destinationId}/subscriptions/{id}", _DESTINATIONS
)
CREATE_SUBSCRIPTION = Endpoint("POST", "/destinations/{destinationId}/subscriptions", _DESTINATIONS)
UPDATE_SUBSCRIPTION = Endpoint(
    "PATCH", "/destinations/{destinationId}/subscriptions/{id}", _DESTINATIONS
)
DELETE_SUBSCRIPTION = Endpoint(
    "DELETE", "/destinations/{destinationId}/subscriptions/{id}", _DESTINATIONS
)
GET_CATALOG_DESTINATION = Endpoint("GET", "/catalog/destinations/{destinationMetadataId}", _CATALOG)
ENDPOINTS = (
    GET_DESTINATION,
    LIST_SUBSCRIPTIONS,
    GET_SUBSCRIPTION,
    CREATE_SUBSCRIPTION,
    UPDATE_SUBSCRIPTION,
    DELETE_SUBSCRIPTION,
    GET_CATALOG_DESTINATION,
)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One Public API call, as data; the client adds only the Authorization header."""

    method: str
    url: str
    json: Any = None
    purpose: str = ""
    write: bool = False  # counts against the 5-writes-a-minute limit

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.json is not None:
            headers["Content-Type"] = "application/json"
        return headers


def base_url(region: str) -> str:
    return REGIONS.get(region, REGIONS["us"])


def _segment(value: str) -> str:
    return quote(value, safe="")


def get_destination(base: str, destination_id: str) -> ApiRequest:
    url = GET_DESTINATION.url(base, destinationId=_segment(destination_id))
    return ApiRequest("GET", url, purpose=f"read destination {destination_id}")


def list_subscriptions(
    base: str, destination_id: str, count: int = PAGE_SIZE, cursor: str | None = None
) -> ApiRequest:
    url = LIST_SUBSCRIPTIONS.url(base, destinationId=_segment(destination_id))
    query: dict[str, str | int] = {"pagination.count": count}
    if cursor:
        query["pagination.cursor"] = cursor
    return ApiRequest("GET", f"{url}?{urlencode(query)}", purpose="list subscriptions")


def get_catalog_destination(base: str, metadata_id: str) -> ApiRequest:
    url = GET_CATALOG_DESTINATION.url(base, destinationMetadataId=_segment(metadata_id))
    return ApiRequest("GET", url, purpose=f"read the catalog entry {metadata_id}")


@dataclass(frozen=True, slots=True)
class Desired:
    """A subscription as the mapping file wants it in Segment."""

    name: str
    action_slug: str
    trigger: str
    enabled: bool
    settings: dict[str, Any]


def create_subscription(
    base: str, destination_id: str, wanted: Desired, action_id: str
) -> ApiRequest:
    url = CREATE_SUBSCRIPTION.url(base, destinationId=_segment(destination_id))
    body = {
        "name": wanted.name,
        "actionId": action_id,
        "trigger": wanted.trigger,
        "enabled": wanted.enabled,
        "settings": wanted.settings,
    }
    return ApiRequest("POST", url, body, purpose=f'create "{wanted.name}"', write=True)


def update_subscription(
    base: str, destination_id: str, subscription_id: str, changed: Mapping[str, Any], name: str
) -> ApiRequest:
    """PATCH with only what changed (`name`, `trigger`, `enabled`, `settings`), in `input`."""
    url = UPDATE_SUBSCRIPTION.url(
        base, destinationId=_segment(destination_id), id=_segment(subscription_id)
    )
    return ApiRequest(
        "PATCH", url, {"input": dict(changed)}, purpose=f'update "{name}"', write=True
    )


def delete_subscription(
    base: str, destination_id: str, subscription_id: str, name: str
) -> ApiRequest:
    url = DELETE_SUBSCRIPTION.url(
        base, destinationId=_segment(destination_id), id=_segment(subscription_id)
    )
    return ApiRequest("DELETE", url, purpose=f'delete "{name}"', write=True)


# --- answers ---------------------------------------------------------------------------------


class AnswerError(Exception):
    """An answer that is not the Public API's shape; one line."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as the workspace holds it (`raw` is the Public API's object)."""

    id: str
    name: str
    action_id: str
    action_slug: str
    enabled: bool
    trigger: str
    settings: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class DestinationInfo:
    id: str
    name: str
    metadata_id: str
    slug: str
    settings: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def data_of(body: Any, key: str, what: str) -> Any:
    """`body["data"][key]`, or AnswerError saying what was expected."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or key not in data:
        raise AnswerError(f'{what}: expected {{"data": {{"{key}": …}}}} in the answer')
    return data[key]


def read_subscription(item: Any, what: str) -> Subscription:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise AnswerError(f"{what}: a subscription without an id")
    settings = item.get("settings") or {}
    if not isinstance(settings, dict):
        raise AnswerError(f"{what}: subscription {item['id']} has settings that are not an object")
    return Subscription(
        id=item["id"],
        name=str(item.get("name") or ""),
        action_id=str(item.get("actionId") or ""),
        action_slug=str(item.get("actionSlug") or ""),
        enabled=bool(item.get("enabled", True)),
        trigger=str(item.get("trigger") or ""),
        settings=settings,
        raw=item,
    )


def read_page(body: Any, what: str) -> tuple[list[Subscription], str | None]:
    """One page of subscriptions and the cursor of the next (None on the last page)."""
    items = data_of(body, "subscriptions", what)
    if not isinstance(items, list):
        raise AnswerError(f"{what}: data.subscriptions is not a list")
    pagination = body["data"].get("pagination") or {}
    cursor = pagination.get("next") if isinstance(pagination, dict) else None
    return [read_subscription(item, what) for item in items], (
        cursor if isinstance(cursor, str) and cursor else None
    )


def read_destination(body: Any, what: str) -> DestinationInfo:
    item = data_of(body, "destination", what)
    if not isinstance(item, dict):
        raise AnswerError(f"{what}: data.destination is not an object")
    found_metadata, found_settings = item.get("metadata"), item.get("settings")
    metadata: dict[str, Any] = found_metadata if isinstance(found_metadata, dict) else {}
    settings: dict[str, Any] = found_settings if isinstance(found_settings, dict) else {}
    return DestinationInfo(
        id=str(item.get("id") or ""),
        name=str(item.get("name") or ""),
        metadata_id=str(metadata.get("id") or ""),
        slug=str(metadata.get("slug") or ""),
        settings=settings,
        raw=item,
    )


def read_actions(body: Any, what: str) -> dict[str, str]:
    """The catalog entry's actions: slug → action id."""
    metadata = data_of(body, "destinationMetadata", what)
    actions = metadata.get("actions") if isinstance(metadata, dict) else None
    if not isinstance(actions, list):
        raise AnswerError(f"{what}: data.destinationMetadata.actions is not a list")
    return {
        str(a["slug"]): str(a["id"])
        for a in actions
        if isinstance(a, dict) and isinstance(a.get("slug"), str) and a.get("id")
    }


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and MASK in value
