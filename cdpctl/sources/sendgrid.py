"""SendGrid Event Webhook payloads → Segment track events, as Segment's "SendGrid Marketing
Campaigns" source sends them (seed 002: the SendGrid integration is bi-directional).

What Segment's source does (segmentio/segment-docs,
src/connections/sources/catalog/cloud-apps/sendgrid-marketing-campaigns/index.md): server-side
`track` calls named in EVENT_NAMES, `anonymousId` = a SHA-256 hash of the recipient's email,
the raw address in `context.traits.email`, the opener's IP and user agent in
`context.traits.ip` / `context.traits.user_agent` (engagement events only: on delivery events
SendGrid's `ip` is its own sending IP), and properties such as `link_url`, `categories`,
`unsubscribe_group_id`, `campaign_id` and `campaign_name`.

What cdpctl adds, because Segment's page does not say: `messageId` is the webhook's
`sg_event_id` (so a replay's ledger de-duplicates SendGrid's retries), `timestamp` is the
webhook's Unix `timestamp` as ISO-8601 UTC, the email is trimmed and lower-cased before
hashing, and `properties` also keep every webhook field exactly as SendGrid sent it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# SendGrid webhook `event` → Segment event name.
EVENT_NAMES: dict[str, str] = {
    "processed": "Email Processed",
    "delivered": "Email Delivered",
    "open": "Email Opened",  # "Email Machine Opened" when sg_machine_open is true
    "click": "Email Link Clicked",
    "bounce": "Email Bounced",  # both `type: bounce` and `type: blocked`
    "dropped": "Email Dropped",
    "spamreport": "Email Marked as Spam",
    "unsubscribe": "Unsubscribed",
    "group_unsubscribe": "Unsubscribed From Group",
    "group_resubscribe": "Resubscribed To Group",
    "deferred": "Email Deferred",  # cdpctl's name: Segment's source lists no deferred event
}
MACHINE_OPEN = "Email Machine Opened"

# Engagement events: their `ip` and `useragent` are the recipient's (SendGrid's Event Webhook
# reference); on delivery events `ip` is the IP SendGrid sent from.
ENGAGEMENT = frozenset(
    {"open", "click", "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"}
)

# Webhook field → the property name Segment's source uses for it (added next to the original).
SEGMENT_PROPERTY_NAMES: dict[str, str] = {
    "url": "link_url",
    "asm_group_id": "unsubscribe_group_id",
    "marketing_campaign_id": "campaign_id",
    "marketing_campaign_name": "campaign_name",
}

MAX_REPORTED = 20


class SourceError(Exception):
    """Malformed input, located (`FILE:LINE: …`)."""


@dataclass(slots=True)
class Stats:
    converted: Counter[str] = field(default_factory=Counter)  # by Segment event name
    unknown: Counter[str] = field(default_factory=Counter)  # by webhook event type
    unknown_at: list[str] = field(default_factory=list)  # the first MAX_REPORTED locations

    @property
    def total_unknown(self) -> int:
        return sum(self.unknown.values())


# --- reading ---------------------------------------------------------------------------------


def records(lines: Iterable[str], source: str) -> Iterator[tuple[str, Any]]:
    """(location, value) for every webhook event in a file.

    A file whose first line opens a JSON array that the line does not close is one
    pretty-printed array, as SendGrid posts it. Otherwise every non-blank line is JSON: one
    event object (NDJSON) or one whole POST body (an array of them)."""
    iterator = iter(lines)
    first = ""
    number = 0
    for first in iterator:
        number += 1
        if first.strip():
            break
    else:
        return
    head = first.strip()
    if head.startswith("[") and not _complete(head):
        text = first + "".join(iterator)
        yield from _array(text, source, number)
        return
    yield from _line_values(head, f"{source}:{number}")
    for line in iterator:
        number += 1
        if line.strip():
            yield from _line_values(line.strip(), f"{source}:{number}")


def _complete(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _line_values(text: str, where: str) -> Iterator[tuple[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"{where}:{error.colno}: invalid JSON: {error.msg}") from None
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield f"{where} (item {index})", item
    else:
        yield where, value


def _array(text: str, source: str, first_line: int) -> Iterator[tuple[str, Any]]:
    """Elements of one JSON array spread over lines, each located by its starting line."""
    decoder = json.JSONDecoder()
    offset = first_line - 1  # blank lines before the array

    def fail(error: json.JSONDecodeError | None, position: int, message: str) -> SourceError:
        if error is not None:
            line, column, message = error.lineno, error.colno, error.msg
        else:
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
        return SourceError(f"{source}:{line + offset}:{column}: invalid JSON: {message}")

    position = _skip(text, text.index("[") + 1)
    if position < len(text) and text[position] == "]":
        position = _skip(text, position + 1)
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                raise fail(error, position, "") from None
            yield f"{source}:{text.count(chr(10), 0, position) + 1 + offset}", value
            position = _skip(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                position = _skip(text, position + 1)
                break
            raise fail(None, position, "expected ',' or ']' after an array element")
    if position < len(text):
        raise fail(None, position, "unexpected text after the array")


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


# --- converting ------------------------------------------------------------------------------


def anonymous_id(email: str) -> str:
    """SHA-256 (hex) of the address, trimmed and lower-cased so one person keeps one ID."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def iso_timestamp(seconds: int | float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _require_text(item: dict[str, Any], key: str, where: str, what: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        found = "missing" if value is None else f"not a non-empty string ({json.dumps(value)})"
        raise SourceError(f'{where}: "{key}" is {found}; it is {what}')
    return value


def convert_event(item: Any, where: str) -> dict[str, Any] | None:
    """The Segment track event for one webhook event; None for an event type cdpctl does not
    know (the caller counts and reports those). Raises SourceError when `item` is malformed."""
    if not isinstance(item, dict):
        kind = type(item).__name__ if item is not None else "null"
        raise SourceError(f"{where}: expected a SendGrid webhook event (a JSON object), got {kind}")
    kind = _require_text(item, "event", where, "the SendGrid event type")
    if kind not in EVENT_NAMES:
        return None
    email = _require_text(item, "email", where, "the recipient, the event's identity")
    event_id = _require_text(item, "sg_event_id", where, "SendGrid's event ID, kept as messageId")
    seconds = item.get("timestamp")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        shown = "missing" if seconds is None else f"not Unix seconds ({json.dumps(seconds)})"
        raise SourceError(f'{where}: "timestamp" is {shown}')
    name = EVENT_NAMES[kind]
    if kind == "open" and item.get("sg_machine_open") is True:
        name = MACHINE_OPEN
    properties = dict(item)
    for webhook_name, segment_name in SEGMENT_PROPERTY_NAMES.items():
        if webhook_name in item and segment_name not in item:
            properties[segment_name] = item[webhook_name]
    if "category" in item and "categories" not in item:
        category = item["category"]
        properties["categories"] = category if isinstance(category, list) else [category]
    traits: dict[str, Any] = {"email": email}
    if kind in ENGAGEMENT:  # on delivery events `ip` is SendGrid's sending IP, not the reader's
        if isinstance(item.get("ip"), str):
            traits["ip"] = item["ip"]
        if isinstance(item.get("useragent"), str):
            traits["user_agent"] = item["useragent"]
    return {
        "type": "track",
        "event": name,
        "messageId": event_id,
        "anonymousId": anonymous_id(email),
        "timestamp": iso_timestamp(seconds),
        "properties": properties,
        "context": {"traits": traits},
    }


def convert(values: Iterable[tuple[str, Any]], stats: Stats) -> Iterator[dict[str, Any]]:
    """Segment events for every known webhook event; unknown types are counted in `stats`."""
    for where, item in values:
        event = convert_event(item, where)
        if event is None:
            kind = item["event"]
            stats.unknown[kind] += 1
            if len(stats.unknown_at) < MAX_REPORTED:
                stats.unknown_at.append(f'{where}: unknown SendGrid event type "{kind}"')
            continue
        stats.converted[event["event"]] += 1
        yield event
