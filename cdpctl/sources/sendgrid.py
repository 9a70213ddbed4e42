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
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cdpctl import codes, jsonwire

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
    yield from _line_values(head, source, number, len(first) - len(first.lstrip()))
    for line in iterator:
        number += 1
        if line.strip():
            yield from _line_values(line.strip(), source, number, len(line) - len(line.lstrip()))


def _complete(text: str) -> bool:
    try:
        jsonwire.loads(text)
    except jsonwire.JSONDecodeError:
        return False
    return True


def _line_values(text: str, source: str, number: int, indent: int) -> Iterator[tuple[str, Any]]:
    where = f"{source}:{number}"
    try:
        value = jsonwire.read(text, source, line=number, column=indent + 1)
    except jsonwire.JSONInputError as error:
        raise SourceError(str(error)) from None
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield f"{where} (item {index})", item
    else:
        yield where, value


# A string (closed or not), one structural character, or a run of a scalar (number, literal).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{},]|[^\s\[\]{},"]+', re.DOTALL)


def _array(text: str, source: str, first_line: int) -> Iterator[tuple[str, Any]]:
    """Elements of one JSON array spread over lines, each located by its starting line. The
    whole array is read by the one reader (located errors, JavaScript numbers); a scan of its
    structure outside strings finds the line each element starts on."""
    offset = first_line - 1  # blank lines before the array
    try:
        value = jsonwire.read(text, source, line=first_line)
    except jsonwire.JSONInputError as error:
        raise SourceError(str(error)) from None
    if not isinstance(value, list):  # the first line opened an array the text does not hold
        raise SourceError(f"{source}:{first_line}:1: {codes.JSON_SYNTAX} expected a JSON array")
    lines = _element_lines(text)
    for index, item in enumerate(value):
        line = lines[index] if index < len(lines) else 1
        yield f"{source}:{line + offset}", item


def _element_lines(text: str) -> list[int]:
    """The line (1-based, within `text`) where each element of the top-level array starts."""
    starts: list[int] = []
    depth = 0
    expect = False  # the next token at depth 1 starts an element
    line, counted = 1, 0
    for found in _TOKEN.finditer(text):
        token = found.group()
        if depth == 1 and expect and token not in ("]", ","):
            line += text.count("\n", counted, found.start())
            counted = found.start()
            starts.append(line)
            expect = False
        if token in ("[", "{"):
            depth += 1
            expect = depth == 1
        elif token in ("]", "}"):
            depth -= 1
        elif token == "," and depth == 1:
            expect = True
    return starts


# --- converting ------------------------------------------------------------------------------


def anonymous_id(email: str) -> str:
    """SHA-256 (hex) of the address, trimmed and lower-cased so one person keeps one ID."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


# Unix seconds of 9999-12-31T23:59:59Z: ISO-8601 (and Python's datetime) end there.
MAX_TIMESTAMP = 253402300799


def iso_timestamp(seconds: int | float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _shown(value: Any) -> str:
    """A value as it is written in JSON, at most 60 characters of it, for a message."""
    text = jsonwire.dumps_text(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _require_text(item: dict[str, Any], key: str, where: str, what: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        found = "missing" if value is None else f"not a non-empty string ({_shown(value)})"
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
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= MAX_TIMESTAMP
    ):
        shown = "missing" if seconds is None else f"not Unix seconds ({_shown(seconds)})"
        raise SourceError(f'{where}: "timestamp" is {shown}; expected 0 to {MAX_TIMESTAMP}')
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
