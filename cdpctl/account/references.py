"""What a mapping file names in the provider account, each with where the file names it.

Only what the file states is known: a literal id, a literal object's keys. A value mapped from
the event (`{"@path": "$.traits"}`) names nothing until an event arrives, so it is skipped here
and the set of columns or fields it writes is marked incomplete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cdpctl.providers.sfmc.titlecase import title_case

Where = tuple[str | int, ...]

#: A value the mapping does not state (it comes from the event).
DYNAMIC: Any = type("Dynamic", (), {"__repr__": lambda self: "DYNAMIC"})()

CONTACT_KEY = "Contact Key"


@dataclass(frozen=True, slots=True)
class Reference:
    """An id or name the mapping file uses: a list, program, campaign, template or field."""

    kind: str  # a snapshot kind: lists, programs, campaigns, templates, fields
    value: str
    where: Where
    at_key: bool = False  # located at the key (a field name) rather than the value
    mapped: Any = DYNAMIC  # for fields: the value mapped into it, when the file states it
    mapped_at: Where = ()


@dataclass(frozen=True, slots=True)
class ColumnWrite:
    name: str
    where: Where
    at_key: bool
    mapped: Any = DYNAMIC
    primary_key: bool = False  # written as a primary key (`keys`, classic primaryKey)


@dataclass(frozen=True, slots=True)
class TableWrite:
    """Rows a subscription (or a classic setting) writes into one SFMC data extension."""

    reference: str  # "key:…" or "id:…"
    where: Where  # where the data extension is named
    columns: tuple[ColumnWrite, ...]
    complete: bool  # every column written is named in the file
    classic: bool  # column names are the classic destination's Title Case of event keys
    subscription: str


@dataclass(frozen=True, slots=True)
class Uses:
    references: tuple[Reference, ...] = ()
    tables: tuple[TableWrite, ...] = ()


def constant(value: Any) -> Any:
    """The value a mapping entry always produces, or DYNAMIC."""
    if isinstance(value, dict):
        if len(value) == 1 and "@literal" in value:
            return value["@literal"]
        if len(value) == 1 and isinstance(next(iter(value)), str):
            (name,) = value
            if name.startswith("@"):
                text = value[name]
                if name == "@template" and isinstance(text, str) and "{{" not in text:
                    return text
                return DYNAMIC
        return {key: constant(item) for key, item in value.items()}
    if isinstance(value, list):
        return [constant(item) for item in value]
    return value


def _object_keys(value: Any) -> list[tuple[Any, str]] | None:
    """The keys of a literal object mapping (values may be directives), each as written and as
    text, else None."""
    if isinstance(value, dict) and not (
        len(value) == 1 and isinstance(next(iter(value)), str) and next(iter(value)).startswith("@")
    ):
        return [(key, _as_id(key) if not isinstance(key, str) else key) for key in value]
    return None


def _ids(value: Any) -> list[tuple[str, Where]]:
    """Literal ids in a value: one, or each of a literal list (with the index)."""
    found = constant(value)
    if isinstance(found, list):
        return [
            (_as_id(item), (index,))
            for index, item in enumerate(found)
            if item is not DYNAMIC and _as_id(item)
        ]
    if found is DYNAMIC or isinstance(found, dict) or found is None or _as_id(found) == "":
        return []
    return [(_as_id(found), ())]


def _as_id(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def uses(data: dict[str, Any], provider: str) -> Uses:
    """Everything an (already checked) mapping file names in a `provider` account."""
    finder = _FINDERS.get(provider)
    if finder is None:
        return Uses()
    references: list[Reference] = []
    tables: list[TableWrite] = []
    settings = (data.get("destination") or {}).get("settings") or {}
    for index, item in enumerate(data.get("subscriptions") or []):
        if not isinstance(item, dict) or item.get("enabled", True) is False:
            continue
        base: Where = ("subscriptions", index, "mapping")
        mapping = item.get("mapping") or {}
        found = finder(str(item.get("action")), mapping, base, item, settings)
        for entry in found:
            if isinstance(entry, Reference):
                references.append(entry)
            else:
                tables.append(entry)
    return Uses(tuple(references), tuple(tables))


# --- per provider ------------------------------------------------------------------------------

Found = Iterator[Reference | TableWrite]


def _field_refs(mapping: dict[str, Any], name: str, base: Where) -> Found:
    value = mapping.get(name)
    if not isinstance(value, dict):
        return
    for key, text in _object_keys(value) or []:
        where = (*base, name, key)
        yield Reference("fields", text, where, True, constant(value[key]), where)


def _id_refs(mapping: dict[str, Any], name: str, kind: str, base: Where) -> Found:
    if name in mapping:
        for text, inner in _ids(mapping[name]):
            yield Reference(kind, text, (*base, name, *inner))


def _dotdigital(
    action: str, mapping: dict[str, Any], base: Where, item: Any, settings: Any
) -> Found:
    yield from _id_refs(mapping, "listId", "lists", base)
    if action == "enrolContact":
        yield from _id_refs(mapping, "programId", "programs", base)
    if action == "sendEmailCampaign":
        yield from _id_refs(mapping, "campaignId", "campaigns", base)
    if action == "addContactToList":
        yield from _field_refs(mapping, "dataFields", base)


def _sendgrid(action: str, mapping: dict[str, Any], base: Where, item: Any, settings: Any) -> Found:
    if action == "updateUserProfile":
        yield from _field_refs(mapping, "customFields", base)
        yield from _id_refs(mapping, "list_ids", "lists", base)
        yield from _id_refs(mapping, "remove_from_list_ids", "lists", base)
    if action == "sendEmail" and "template_id" in mapping:
        from cdpctl.providers.sendgrid.mail import template_id

        for text, inner in _ids(mapping["template_id"]):
            yield Reference("templates", template_id(text) or text, (*base, "template_id", *inner))


def _loops(action: str, mapping: dict[str, Any], base: Where, item: Any, settings: Any) -> Found:
    if action == "createOrUpdateContact":
        for reference in _field_refs(mapping, "customAttributes", base):
            if isinstance(reference, Reference) and reference.value == "mailingLists":
                continue
            yield reference
        lists = mapping.get("mailingLists")
        for key, text in _object_keys(lists) or []:
            yield Reference("lists", text, (*base, "mailingLists", key), True)
    if action == "sendEvent":
        yield from _field_refs(mapping, "contactProperties", base)


def _columns(value: Any, where: Where, *, primary_key: bool) -> tuple[list[ColumnWrite], bool]:
    keys = _object_keys(value)
    if keys is None or not isinstance(value, dict):
        return [], value is None
    return [
        ColumnWrite(text, (*where, key), True, constant(value[key]), primary_key)
        for key, text in keys
    ], True


def _sfmc(action: str, mapping: dict[str, Any], base: Where, item: Any, settings: Any) -> Found:
    name = str(item.get("name"))
    use_defaults = item.get("defaults", True) is not False
    if action in ("dataExtension", "contactDataExtension"):
        reference, where = None, base
        for field, prefix in (("key", "key:"), ("id", "id:")):
            found = constant(mapping.get(field))
            if isinstance(found, (str, int)) and not isinstance(found, bool) and str(found):
                reference, where = prefix + str(found), (*base, field)
                break
        if reference is None:
            return
    elif action in ("dataExtensionV2", "contactDataExtensionV2", "asyncDataExtension"):
        reference = None
        for hook in ("onMappingSave", "retlOnMappingSave"):
            found = constant(mapping.get(hook))
            outputs = found.get("outputs") if isinstance(found, dict) else None
            de_id = outputs.get("id") if isinstance(outputs, dict) else None
            if isinstance(de_id, str) and de_id:
                reference, where = "id:" + de_id, (*base, hook, "outputs", "id")
                break
        if reference is None:
            return
    elif action == "identifyDataExtension":
        yield from _classic_identify(mapping, base, settings, name, use_defaults)
        return
    elif action == "trackDataExtension":
        yield from _classic_track(mapping, base, settings, name, use_defaults)
        return
    else:
        return
    keys_value = mapping.get("keys")
    if keys_value is None and action.startswith("contact") and use_defaults:
        keys_value = {"contactKey": {"@path": "$.userId"}}
    key_columns, keys_known = _columns(keys_value, (*base, "keys"), primary_key=True)
    value_columns, values_known = _columns(
        mapping.get("values"), (*base, "values"), primary_key=False
    )
    yield TableWrite(
        reference,
        where,
        tuple(key_columns + value_columns),
        keys_known and values_known,
        False,
        name,
    )


def _title_columns(
    mapping: dict[str, Any], field: str, base: Where, use_defaults: bool
) -> tuple[list[ColumnWrite], bool]:
    value = mapping.get(field)
    if value is None and not use_defaults:
        return [], True
    keys = _object_keys(value)
    if keys is None or not isinstance(value, dict):
        return [], False
    out = []
    for key, text in keys:
        mapped = constant(value[key])
        if mapped is None or isinstance(mapped, (dict, list)) or not title_case(text):
            continue  # the classic destination leaves these out
        out.append(ColumnWrite(title_case(text), (*base, field, key), True, mapped))
    return out, True


def _classic_identify(
    mapping: dict[str, Any], base: Where, settings: Any, name: str, use_defaults: bool
) -> Found:
    key = settings.get("identifyExtensionExternalKey")
    if not isinstance(key, str) or not key:
        return
    where: Where = ("destination", "settings", "identifyExtensionExternalKey")
    columns, complete = _title_columns(mapping, "traits", base, use_defaults)
    contact = ColumnWrite(CONTACT_KEY, where, False, DYNAMIC, primary_key=True)
    yield TableWrite("key:" + key, where, (contact, *columns), complete, True, name)


def _classic_track(
    mapping: dict[str, Any], base: Where, settings: Any, name: str, use_defaults: bool
) -> Found:
    events = settings.get("events")
    if not isinstance(events, list):
        return
    columns, complete = _title_columns(mapping, "properties", base, use_defaults)
    for index, entry in enumerate(events):
        if not isinstance(entry, dict) or not isinstance(entry.get("externalKey"), str):
            continue
        where: Where = ("destination", "settings", "events", index)
        primary = entry.get("primaryKey", CONTACT_KEY)
        if entry.get("uuidPrimaryKey") is True:
            names = ["Uuid"]
        elif isinstance(primary, str):
            names = [part.strip() for part in primary.split(",") if part.strip()]
        else:
            continue
        keys = [
            ColumnWrite(
                key,
                (*where, "uuidPrimaryKey" if key == "Uuid" else "primaryKey"),
                False,
                DYNAMIC,
                primary_key=True,
            )
            for key in names
        ]
        given = {k.name.casefold() for k in keys}
        rest = [c for c in columns if c.name.casefold() not in given]
        contact = (
            []
            if CONTACT_KEY.casefold() in given
            else [ColumnWrite(CONTACT_KEY, (*where, "externalKey"), False, DYNAMIC)]
        )
        yield TableWrite(
            "key:" + entry["externalKey"],
            (*where, "externalKey"),
            (*keys, *contact, *rest),
            complete,
            True,
            name,
        )


_FINDERS = {"dotdigital": _dotdigital, "sendgrid": _sendgrid, "loops": _loops, "sfmc": _sfmc}


def data_extension_references(found: Uses) -> list[str]:
    """Each data extension the file writes to, once, in file order."""
    return list(dict.fromkeys(table.reference for table in found.tables))
