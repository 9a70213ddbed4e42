"""Date handling of Segment's Customer.io destination (reference §2.3), in Unix seconds.

Attribute dates are converted only when they have the strict ISO-8601 shape of Segment's
`isIsoDate`; the event `timestamp` is converted whenever it parses as a date.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

_ISO_SHAPE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
UNIX_TEXT = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_DAY = 86_400


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year, 0 included)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _offset_seconds(zone: str | None) -> int | None:
    """Seconds east of UTC; None for an impossible offset. A missing zone is read as UTC."""
    if not zone or zone == "Z":
        return 0
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    if hours > 23 or minutes > 59:
        return None
    seconds = hours * 3600 + minutes * 60
    return -seconds if zone[0] == "-" else seconds


def iso_date_seconds(value: str) -> int | None:
    """Unix seconds (rounded down) of a strict ISO-8601 string that is a real date, else None.

    Shape: `YYYY-MM-DD`, optionally `THH:mm[:ss][.f{1,9}][Z|±hh:mm|±hhmm]`. Strings without a
    zone are read as UTC (a cdpctl decision; Segment reads them in its server's zone, UTC).
    `T24:00[:00]` is midnight of the next day, as JavaScript reads it.
    """
    match = _ISO_SHAPE.fullmatch(value)
    if match is None:
        return None
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    hour, minute, second = int(match[4] or 0), int(match[5] or 0), int(match[6] or 0)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour == 24 and minute == 0 and second == 0:
        pass  # end of day; the fraction cannot matter after rounding down
    elif hour > 23 or minute > 59 or second > 59:
        return None
    offset = _offset_seconds(match[7])
    if offset is None:
        return None
    clock = hour * 3600 + minute * 60 + second
    return _days_from_civil(year, month, day) * _DAY + clock - offset


def convert_attribute_dates(value: dict[str, Any]) -> dict[str, Any]:
    """A copy with every strict ISO date string turned into Unix seconds, through nested
    objects but never into arrays (as Segment's `convertAttributeTimestamps`)."""
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str):
            seconds = iso_date_seconds(item)
            converted[key] = item if seconds is None else seconds
        elif isinstance(item, dict):
            converted[key] = convert_attribute_dates(item)
        else:
            converted[key] = item
    return converted


def parse_loose(value: str) -> int | None:
    """Unix seconds of any ISO-8601 or RFC-2822 date (naive ones as UTC), else None.

    Segment's parser also accepts looser forms such as `25 Mar 2015`; cdpctl deliberately
    stops at the two standard formats.
    """
    seconds = iso_date_seconds(value)
    if seconds is not None:
        return seconds
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return calendar.timegm(parsed.utctimetuple())


def event_time(value: Any) -> Any:
    """The entity `timestamp`: a date string becomes Unix seconds; numbers, digit strings
    (already Unix time) and strings that do not parse are sent unchanged."""
    if not isinstance(value, str) or UNIX_TEXT.fullmatch(value):
        return value
    seconds = parse_loose(value)
    return value if seconds is None else seconds
