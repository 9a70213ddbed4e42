"""The values both sides of the harness produce, and the scripted replies both consume.

A *case* is one (events, settings, mapping, replies) input for one action; a *run* is what one
side (Segment's code, or cdpctl) did with it: the requests on the wire, in order, and whether it
ended in an error. Both sides are recorded in this one shape so they compare field by field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

OK = "ok"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Wire:
    """One HTTP request as it leaves the process: header names lower-cased, body as text."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
    synthetic: bool = False  # not a real HTTP call (the Segment destination's returned batch)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Wire:
        return cls(
            data["method"],
            data["url"],
            dict(data["headers"]),
            data["body"],
            bool(data.get("synthetic", False)),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body": self.body,
        }
        if self.synthetic:
            data["synthetic"] = True
        return data


@dataclass(frozen=True, slots=True)
class Run:
    """What one side did with one case."""

    outcome: str  # OK, or ERROR (a rejection before sending, or a failure after)
    requests: tuple[Wire, ...]
    token_requests: tuple[Wire, ...] = ()  # SFMC's OAuth exchange, compared on its own
    items: tuple[bool, ...] | None = None  # batch cases: was each event accepted?
    error: str = ""  # the error's text, for people reading a difference (never compared)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        items = data.get("items")
        return cls(
            data["outcome"],
            tuple(Wire.from_json(r) for r in data["requests"]),
            tuple(Wire.from_json(r) for r in data.get("token_requests", ())),
            None if items is None else tuple(items),
            data.get("error", ""),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "outcome": self.outcome,
            "requests": [r.to_json() for r in self.requests],
        }
        if self.token_requests:
            data["token_requests"] = [r.to_json() for r in self.token_requests]
        if self.items is not None:
            data["items"] = list(self.items)
        if self.error:
            data["error"] = self.error
        return data


@dataclass(frozen=True, slots=True)
class ReplyRule:
    """Answer requests whose method is `method` and whose URL matches `url` (a regex, searched)."""

    method: str
    url: str
    status: int = 200
    body: str = "{}"
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, url: str) -> bool:
        return self.method == method and re.search(self.url, url) is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "url": self.url, "status": self.status}
        data["body"] = self.body
        if self.headers:
            data["headers"] = self.headers
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyRule:
        return cls(
            data["method"], data["url"], data["status"], data["body"], data.get("headers", {})
        )


DEFAULT_REPLY = ReplyRule("*", "", 200, "{}")


def scripted_reply(rules: tuple[ReplyRule, ...], method: str, url: str) -> ReplyRule:
    """The first rule that matches, else 200 `{}` — the runner (runner.js) answers the same way."""
    for rule in rules:
        if rule.matches(method, url):
            return rule
    return DEFAULT_REPLY


@dataclass(frozen=True, slots=True)
class Case:
    """One input, as both sides receive it. `mapping` is the whole mapping, or (with
    `defaults`) only the fields added to the action's default mapping."""

    id: str
    provider: str  # cdpctl's provider name
    action: str  # cdpctl's action name
    segment_destination: str  # directory under @segment/action-destinations/dist/destinations
    segment_action: str
    mode: str  # "single" or "batch"
    settings: dict[str, Any]  # cdpctl's settings
    segment_settings: dict[str, Any]
    defaults: bool
    mapping: dict[str, Any]
    events: tuple[str, ...]  # JSON texts: each side parses them as it parses real input
    replies: tuple[ReplyRule, ...] = ()
    region: str | None = None  # AWS region of Segment's runtime (the Segment destination)
    token_url: str | None = None  # regex: cdpctl requests for an OAuth token (compared apart)
    auth: dict[str, Any] | None = None  # Segment's `auth` bundle (an access token)
    tags: tuple[str, ...] = ()  # what the case exercises: "mapping:custom", "value:big-int", …

    @property
    def qualified_action(self) -> str:
        return f"{self.provider}.{self.action}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "action": self.action,
            "segment_destination": self.segment_destination,
            "segment_action": self.segment_action,
            "mode": self.mode,
            "settings": self.settings,
            "segment_settings": self.segment_settings,
            "defaults": self.defaults,
            "mapping": self.mapping,
            "events": list(self.events),
            "replies": [r.to_json() for r in self.replies],
            "tags": list(self.tags),
        }
        for name in ("region", "token_url", "auth"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        return cls(
            id=data["id"],
            provider=data["provider"],
            action=data["action"],
            segment_destination=data["segment_destination"],
            segment_action=data["segment_action"],
            mode=data["mode"],
            settings=data["settings"],
            segment_settings=data["segment_settings"],
            defaults=data["defaults"],
            mapping=data["mapping"],
            events=tuple(data["events"]),
            replies=tuple(ReplyRule.from_json(r) for r in data["replies"]),
            region=data.get("region"),
            token_url=data.get("token_url"),
            auth=data.get("auth"),
            tags=tuple(data.get("tags", ())),
        )
