"""Dotdigital's value rules, as pure functions: mobile numbers, address lists and data fields.

Each rule reproduces what Segment's Dotdigital code does (reference:
shared/reference/providers/dotdigital.md §2.3, §2.4, §3.6) unless a docstring says otherwise.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from cdpctl.jsvalues import js_to_string, js_trim, js_truthy

# --- mobile numbers (§2.4, vectors V6 and V8) ------------------------------------------------

MIN_MOBILE_DIGITS = 7
INVALID_MOBILE = "Invalid mobile number value"
_NON_DIGITS = re.compile(r"\D+", re.ASCII)


class InvalidMobileNumber(ValueError):
    """A number with fewer than seven digits once every non-digit is removed."""


def clean_mobile_number(value: str) -> str:
    """Segment's SMS number cleaning: drop every non-digit (letters too, silently), then require
    at least seven digits. `+44 123-456-7890` → `441234567890`; there is no maximum length."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) < MIN_MOBILE_DIGITS:
        raise InvalidMobileNumber(INVALID_MOBILE)
    return digits


# --- transactional email addresses (§3.6) ----------------------------------------------------

# Segment's pattern, kept as written: in `+-=` the hyphen is a range (`+` to `=`), so the local
# part also admits `,` `/` `:` `;` `<`. A bare address, or `Display Name <address>`.
_LOCAL = r"[a-zA-Z0-9.!#$%&'*+-=?^_`{|}~]+"
_DOMAIN = r"[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?:\.[a-zA-Z]{2,9})"
_ADDRESS = re.compile(rf"(?:{_LOCAL}@{_DOMAIN})|(?:[\w\s]+<\s*{_LOCAL}@{_DOMAIN}\s*>)", re.ASCII)


def is_valid_address(address: str) -> bool:
    """Segment's email check of one already-trimmed from/to/cc/bcc address."""
    return _ADDRESS.fullmatch(address) is not None


def split_addresses(text: str | None) -> list[str]:
    """A comma-separated list as Segment splits it: empty items dropped, the rest trimmed.

    Items are dropped *before* trimming, so a blank item (`"a@x.com, "`) survives as `""` and
    then fails the address check — as it does in Segment.
    """
    if not text:
        return []
    return [js_trim(item) for item in text.split(",") if item]


def invalid_addresses(text: str | None) -> list[str]:
    """The items of `text` that fail the address check, in order."""
    return [item for item in split_addresses(text) if not is_valid_address(item)]


# --- data fields (§2.3) ----------------------------------------------------------------------

DATA_FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
_TYPES_ALTERNATIVES = "|".join(DATA_FIELD_TYPES)
_DECLARATION = rf"\s*[A-Za-z0-9_-]+\s*=\s*(?:{_TYPES_ALTERNATIVES})\s*"
DATA_FIELD_TYPES_PATTERN = rf"^{_DECLARATION}(?:,{_DECLARATION})*$"
_ONE_DECLARATION = re.compile(rf"\s*([A-Za-z0-9_-]+)\s*=\s*({_TYPES_ALTERNATIVES})\s*")


class DataFieldError(ValueError):
    """A mapped data field Dotdigital does not have, or a value its type rejects."""

    def __init__(self, message: str, key: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.not_found = not_found


def parse_data_field_types(text: Any) -> dict[str, str]:
    """`"FIRSTNAME=String, BIRTHDAY=Date"` → `{"FIRSTNAME": "String", "BIRTHDAY": "Date"}`.

    Declarations that do not parse are ignored here; the setting's pattern reports them.
    """
    if not isinstance(text, str):
        return {}
    declared: dict[str, str] = {}
    for part in text.split(","):
        match = _ONE_DECLARATION.fullmatch(part)
        if match:
            declared[match.group(1)] = match.group(2)
    return declared


def data_field_types(definitions: Any) -> dict[str, Any]:
    """NAME → type from a `GET /v2/data-fields/` answer; the first definition of a name wins."""
    types: dict[str, Any] = {}
    if isinstance(definitions, Iterable) and not isinstance(definitions, (str, bytes, Mapping)):
        for item in definitions:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                types.setdefault(item["name"], item.get("type"))
    return types


def convert_data_fields(values: Mapping[str, Any], types: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert every mapped data field by its Dotdigital type, keeping key order.
    A null is converted like any value, as Segment does: refused for String, Numeric and Date
    fields, false for Boolean ones."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in types:
            raise DataFieldError(f"Data field {key} not found in Dotdigital", key, not_found=True)
        converted[key] = convert_data_field(key, value, types[key])
    return converted


def convert_data_field(key: str, value: Any, kind: Any) -> Any:
    """One value as Segment sends it for a data field of type `kind`.

    String → trimmed; Numeric → unchanged once it is a number or a numeric string; Date →
    `toISOString()` of the parsed string; Boolean → "true"/"false" (trimmed, any case) or the
    value's JavaScript truthiness. Any other type (Dotdigital has none) passes the value as is.
    """
    if kind == "String":
        if not isinstance(value, str):
            raise DataFieldError(_not_valid(key, value, "string"), key)
        return js_trim(value)
    if kind == "Numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise DataFieldError(_not_valid(key, value, "number"), key)
        if isinstance(value, str) and not is_js_numeric(value):
            raise DataFieldError(_not_valid(key, value, "number"), key)
        return value
    if kind == "Date":
        iso = js_date_iso(value) if isinstance(value, str) else None
        if iso is None:
            raise DataFieldError(_not_valid(key, value, "date"), key)
        return iso
    if kind == "Boolean":
        if isinstance(value, str) and js_trim(value).lower() in ("true", "false"):
            return js_trim(value).lower() == "true"
        return js_truthy(value)
    return value


def _not_valid(key: str, value: Any, what: str) -> str:
    return f"Data field {key} value {js_to_string(value)} is not a valid {what}"


# --- JavaScript's Number() and Date parsing, as far as data fields need them -------------------

_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity", re.ASCII)
_JS_RADIX = re.compile(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+")


def is_js_numeric(text: str) -> bool:
    """`!isNaN(Number(text))`: decimal, hex/octal/binary literals, Infinity; blank is 0."""
    stripped = js_trim(text)
    return (
        stripped == ""
        or _JS_DECIMAL.fullmatch(stripped) is not None
        or _JS_RADIX.fullmatch(stripped) is not None
    )


_ISO = re.compile(
    r"(?P<year>[+-]\d{6}|\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
_LEGACY_FORMATS = ("%Y/%m/%d", "%m/%d/%Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")


def js_date_iso(text: str) -> str | None:
    """`new Date(text).toISOString()`, or None where JavaScript throws "Invalid time value".

    Covers ISO-8601 (date-only is UTC) and the common non-ISO forms (RFC 2822,
    `1990/05/17`, `05/17/1990`, `May 17, 1990`, `17 May 1990`). A time without an offset is
    read as UTC, the time zone Segment's servers run in. Rarer forms JavaScript also accepts
    are rejected — cdpctl is stricter there.
    """
    stripped = js_trim(text)
    parsed = _parse_iso(stripped)
    if parsed is None:
        parsed = _parse_legacy(stripped)
    if parsed is None:
        return None
    utc = parsed.astimezone(timezone.utc)
    millis = utc.microsecond // 1000
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def _parse_iso(text: str) -> datetime | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    fraction = (parts["fraction"] or "")[:3].ljust(3, "0")
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction) * 1000,
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:
        return None


def _zone(text: str | None) -> timezone:
    if not text or text in "Zz":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _parse_legacy(text: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    for pattern in _LEGACY_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None
