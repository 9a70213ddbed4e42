"""What `validate` reports when a mapping file is checked against an account snapshot.

Every finding is located at the mapping value (or key) it is about. Only what the file states
is judged: ids and names written in it, keys of literal objects, literal values. A value mapped
from the event is judged per event by test-event, send and replay instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cdpctl import codes
from cdpctl.account.references import DYNAMIC, Reference, TableWrite, Uses, uses
from cdpctl.account.snapshot import Column, DataExtension, Item, Snapshot, describe_age
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.loading import Document
from cdpctl.providers.dotdigital.api import ACTIVE_PROGRAM

#: Snapshots older than this are reported (test-event, send and replay say it too).
DEFAULT_MAX_AGE = 7 * 86400.0

_KIND_WORDS = {
    "lists": "list",
    "programs": "program",
    "campaigns": "campaign",
    "templates": "template",
    "fields": "field",
}
_NOT_FOUND = {
    "lists": codes.ACCOUNT_LIST_NOT_FOUND,
    "programs": codes.ACCOUNT_PROGRAM_NOT_FOUND,
    "campaigns": codes.ACCOUNT_CAMPAIGN_NOT_FOUND,
    "templates": codes.ACCOUNT_TEMPLATE_NOT_FOUND,
    "fields": codes.ACCOUNT_FIELD_NOT_DEFINED,
}
_FIELD_WORDS = {
    "dotdigital": "data field",
    "sendgrid": "custom field",
    "loops": "contact property",
}
_LIST_WORDS = {"dotdigital": "list (address book)", "loops": "mailing list", "sendgrid": "list"}


def check(
    document: Document,
    snapshot: Snapshot,
    label: str,
    *,
    max_age: float = DEFAULT_MAX_AGE,
    now: datetime | None = None,
) -> list[Diagnostic]:
    """Findings for a structurally sound mapping file against `snapshot` (read from `label`)."""
    provider = document.data["destination"]["provider"]
    if snapshot.provider != provider:
        return [
            document.diagnostic(
                codes.ACCOUNT_SNAPSHOT_UNREADABLE,
                f"{label} is a {snapshot.provider} account snapshot, but this file is for "
                f"{provider}",
                ("destination", "provider"),
                hint="name the right file with --account, or run `cdpctl account pull` for "
                "this mapping",
            )
        ]
    found: list[Diagnostic] = []
    age = snapshot.age_seconds(now)
    if age > max_age:
        found.append(stale(document, label, age))
    used = uses(document.data, provider)
    found += _references(document, snapshot, label, used, provider)
    found += _tables(document, snapshot, label, used)
    return list(dict.fromkeys(found))


def stale(document: Document, label: str, age: float) -> Diagnostic:
    return document.diagnostic(
        codes.ACCOUNT_SNAPSHOT_STALE,
        f"{label} was pulled {describe_age(age)} ago; the account may have changed since",
        ("destination",),
        at_key=True,
        severity=Severity.WARNING,
        hint=f"run `cdpctl account pull {document.path}`",
    )


def _not_pulled(document: Document, label: str, where: Any, what: str, at_key: bool) -> Diagnostic:
    return document.diagnostic(
        codes.ACCOUNT_NOT_IN_SNAPSHOT,
        f"{what} is not in {label} (pulled before the mapping named it)",
        where,
        at_key=at_key,
        severity=Severity.WARNING,
        hint=f"run `cdpctl account pull {document.path}` again",
    )


# --- ids and fields ---------------------------------------------------------------------------


def _references(
    document: Document, snapshot: Snapshot, label: str, used: Uses, provider: str
) -> list[Diagnostic]:
    found = []
    for reference in used.references:
        if reference.kind not in snapshot.read:
            found.append(
                _not_pulled(
                    document,
                    label,
                    reference.where,
                    f'{_KIND_WORDS[reference.kind]} "{reference.value}"',
                    reference.at_key,
                )
            )
            continue
        if reference.kind == "fields":
            found += _field(document, snapshot, label, reference, provider)
            continue
        item = snapshot.find(reference.kind, reference.value)
        word = (
            _LIST_WORDS.get(provider, "list")
            if reference.kind == "lists"
            else _KIND_WORDS[reference.kind]
        )
        if item is None:
            found.append(
                document.diagnostic(
                    _NOT_FOUND[reference.kind],
                    f'{word} "{reference.value}" does not exist in the {snapshot.provider} '
                    f"account ({label})",
                    reference.where,
                    at_key=reference.at_key,
                    hint=_id_hint(snapshot.kind(reference.kind), reference.value, word),
                )
            )
        elif reference.kind == "programs" and item.status and item.status != ACTIVE_PROGRAM:
            found.append(
                document.diagnostic(
                    codes.ACCOUNT_PROGRAM_INACTIVE,
                    f'program "{reference.value}" ({item.name}) is {item.status}: Dotdigital '
                    "enrols contacts only in active programs",
                    reference.where,
                    severity=Severity.WARNING,
                    hint="activate the program in Dotdigital, or map an active one",
                )
            )
    return found


def _id_hint(items: tuple[Item, ...], wanted: str, word: str) -> str:
    by_name = [i for i in items if i.name.casefold() == wanted.casefold()]
    if by_name:
        return f'"{wanted}" is the name of {word} {by_name[0].id}; map its id'
    near = difflib.get_close_matches(wanted, [i.id for i in items], n=1, cutoff=0.8)
    if near:
        return f'did you mean "{near[0]}"?'
    if not items:
        return f"the account has no {word}s"
    shown = ", ".join(f"{i.id} ({i.name})" if i.name else i.id for i in items[:5])
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"known: {shown}{more}"


def _field(
    document: Document, snapshot: Snapshot, label: str, reference: Reference, provider: str
) -> list[Diagnostic]:
    fields = snapshot.kind("fields")
    item = find_field(provider, fields, reference.value)
    word = _FIELD_WORDS.get(provider, "field")
    if item is None:
        return [
            document.diagnostic(
                codes.ACCOUNT_FIELD_NOT_DEFINED,
                f'{word} "{reference.value}" is not defined in the {snapshot.provider} account '
                f"({label})",
                reference.where,
                at_key=True,
                hint=_name_hint(
                    [f.name if provider == "sendgrid" else f.id for f in fields],
                    reference.value,
                    word,
                    snapshot.provider,
                ),
            )
        ]
    if reference.mapped is DYNAMIC:
        return []
    problem = value_problem(provider, item.type, reference.mapped)
    if problem is None:
        return []
    return [
        document.diagnostic(
            codes.ACCOUNT_FIELD_TYPE,
            f'{word} "{reference.value}" is {item.type} in the account, but the mapping sends '
            f"{problem}",
            reference.mapped_at,
        )
    ]


def find_field(provider: str, fields: tuple[Item, ...], wanted: str) -> Item | None:
    """A field as the provider resolves a mapped key: SendGrid by id, else by name without
    regard to case; Dotdigital and Loops by exact name."""
    exact = next((f for f in fields if f.id == wanted), None)
    if exact is not None or provider != "sendgrid":
        return exact
    return next((f for f in fields if f.name.casefold() == wanted.casefold()), None)


def _name_hint(names: Iterable[str], wanted: str, word: str, provider: str) -> str:
    names = list(names)
    folded = [n for n in names if n.casefold() == wanted.casefold()]
    near = folded or difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if near:
        return f'did you mean "{near[0]}"?'
    return f"create the {word} in {provider.capitalize()} first, or remove it from the mapping"


# --- values against types ---------------------------------------------------------------------

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the text "{value}"'
    if value is None:
        return "null"
    return "an object" if isinstance(value, dict) else "a list"


def is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def value_problem(provider: str, kind: str, value: Any) -> str | None:
    """What is wrong with sending `value` to a field or column of type `kind`, or None."""
    if provider == "dotdigital":
        from cdpctl.providers.dotdigital.rules import DataFieldError, convert_data_field

        try:
            convert_data_field("", value, kind)
        except DataFieldError:
            return f"{_describe(value)}, which Dotdigital refuses for a {kind} field"
        return None
    if isinstance(value, (dict, list)):
        return f"{_describe(value)}; it holds single values"
    lowered = kind.lower()
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if lowered in ("number", "decimal"):
        whole = lowered == "number" and provider == "sfmc"
        pattern = _INTEGER if whole else _NUMBER
        ok = numeric or (isinstance(value, str) and bool(pattern.fullmatch(value)))
        if whole and isinstance(value, float):
            ok = value.is_integer()
        return None if ok else f"{_describe(value)}, which is not a {'whole ' * whole}number"
    if lowered == "date":
        ok = is_date(value) or (provider == "loops" and numeric)
        return None if ok else f"{_describe(value)}, which is not a date"
    if lowered == "boolean":
        ok = isinstance(value, bool) or (
            provider == "sfmc" and str(value).strip().lower() in ("true", "false", "1", "0")
        )
        return None if ok else f"{_describe(value)}, which is not true or false"
    if provider == "loops" and lowered == "string" and not isinstance(value, str):
        return f"{_describe(value)}, which is not text"
    if lowered == "emailaddress" and not (isinstance(value, str) and "@" in value):
        return f"{_describe(value)}, which is not an email address"
    return None


def _column_problem(column: Column, value: Any) -> str | None:
    problem = value_problem("sfmc", column.type, value)
    if problem is None and column.length and isinstance(value, (str, int, float)):
        text = value if isinstance(value, str) else str(value)
        if len(text) > column.length:
            return f"{len(text)} characters, more than the column's length {column.length}"
    return problem


# --- SFMC data extensions ---------------------------------------------------------------------


def _tables(document: Document, snapshot: Snapshot, label: str, used: Uses) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for table in used.tables:
        if "data_extensions" not in snapshot.read:
            found.append(_not_pulled(document, label, table.where, "data extensions", False))
            continue
        de = snapshot.data_extension(table.reference)
        if de is None:
            kind, _, value = table.reference.partition(":")
            found.append(
                _not_pulled(document, label, table.where, f'data extension {kind} "{value}"', False)
            )
            continue
        if not de.found:
            found.append(
                document.diagnostic(
                    codes.ACCOUNT_DATA_EXTENSION_NOT_FOUND,
                    f"{de.label} does not exist in the SFMC account ({label})",
                    table.where,
                    hint="create it in SFMC first (rows sent to it are refused), or fix the "
                    "key or id",
                )
            )
            continue
        found += _table(document, de, table)
    return found


def _table(document: Document, de: DataExtension, table: TableWrite) -> list[Diagnostic]:
    found = []
    for write in table.columns:
        column = de.column(write.name)
        if column is None:
            found.append(
                _missing_column(document, de, table, write.name, write.where, write.at_key)
            )
            continue
        if write.primary_key and not column.primary_key:
            found.append(
                document.diagnostic(
                    codes.ACCOUNT_PRIMARY_KEY_UNMAPPED,
                    f'"{write.name}" is written as a primary key, but it is not one in '
                    f"{de.label} (primary keys: {_primary(de)})",
                    write.where,
                    at_key=write.at_key,
                    hint="SFMC locates rows by exactly the primary keys: move it to values",
                )
            )
        if write.mapped is not DYNAMIC:
            problem = _column_problem(column, write.mapped)
            if problem is not None:
                found.append(
                    document.diagnostic(
                        codes.ACCOUNT_COLUMN_TYPE,
                        f'column "{column.name}" of {de.label} is {column.type}'
                        f"{f'({column.length})' if column.length else ''}, but the mapping "
                        f"sends {problem}",
                        write.where,
                    )
                )
    written = {w.name.casefold() for w in table.columns}
    keys_written = {w.name.casefold() for w in table.columns if w.primary_key}
    keys_known = table.complete or bool(keys_written)
    for column in de.columns:
        folded = column.name.casefold()
        if column.primary_key and keys_known and folded not in keys_written:
            found.append(
                document.diagnostic(
                    codes.ACCOUNT_PRIMARY_KEY_UNMAPPED,
                    f'primary key "{column.name}" of {de.label} is not mapped'
                    + (" as a key" if folded in written else ""),
                    _keys_where(table),
                    at_key=True,
                    hint="SFMC refuses every row without all of its primary keys"
                    + (
                        ": set primaryKey in settings.events"
                        if table.classic
                        else f": add {column.name} to keys"
                    ),
                )
            )
        elif (
            column.nullable is False
            and not column.primary_key
            and table.complete
            and folded not in written
        ):
            found.append(
                document.diagnostic(
                    codes.ACCOUNT_REQUIRED_COLUMN_UNMAPPED,
                    f'column "{column.name}" of {de.label} may not be empty, and nothing maps it',
                    _keys_where(table, values=True),
                    at_key=True,
                    severity=Severity.WARNING,
                    hint="SFMC refuses a new row without it (unless the column has a default "
                    "value): map it, or make it nullable",
                )
            )
    return found


def _primary(de: DataExtension) -> str:
    return ", ".join(c.name for c in de.columns if c.primary_key) or "none"


def _keys_where(table: TableWrite, *, values: bool = False) -> Any:
    """Where the mapping's keys (or values) are (a classic conversion event's primaryKey),
    else where the data extension is named."""
    if table.classic and not values:
        keys = [
            w for w in table.columns if w.primary_key and w.where[:2] == ("destination", "settings")
        ]
        if keys:
            return keys[0].where
    for write in table.columns:
        if write.at_key and (write.primary_key is not values) and len(write.where) > 1:
            return write.where[:-1]
    return table.where


def _missing_column(
    document: Document, de: DataExtension, table: TableWrite, name: str, where: Any, at_key: bool
) -> Diagnostic:
    hint = column_hint(de, name)
    if table.classic:
        return document.diagnostic(
            codes.ACCOUNT_TITLE_CASE_COLUMN_MISSING,
            f'the classic destination writes the column "{name}" (Title Case of the key), which '
            f"{de.label} lacks: SFMC ignores it and the value is dropped",
            where,
            at_key=at_key,
            severity=Severity.WARNING,
            hint=hint or "add the column to the data extension",
        )
    return document.diagnostic(
        codes.ACCOUNT_COLUMN_NOT_FOUND,
        f'{de.label} has no column "{name}": SFMC ignores keys it does not have, so the value '
        "is dropped",
        where,
        at_key=at_key,
        hint=hint or "create the column in SFMC before sending, or map another one",
    )


def column_hint(de: DataExtension, name: str) -> str | None:
    squeezed = {re.sub(r"[\W_]+", "", c.name).casefold(): c.name for c in de.columns}
    same = squeezed.get(re.sub(r"[\W_]+", "", name).casefold())
    if same:
        return f'did you mean "{same}"? (words split differently)'
    near = difflib.get_close_matches(name, [c.name for c in de.columns], n=1, cutoff=0.6)
    return f'did you mean "{near[0]}"?' if near else None
