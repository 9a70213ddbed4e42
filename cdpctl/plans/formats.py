"""Read a tracking plan in any of four formats, told apart by their content, into one model.

- Segment Protocols: the tracking-plan rules of Segment's Public API (`GET /tracking-plans/{id}/
  rules`): `{"data": {"rules": [{key, type, version, jsonSchema}]}}`, `{"rules": [...]}` or the
  bare list. `type` is TRACK, IDENTIFY, GROUP, PAGE, SCREEN or COMMON (applied to every event).
- Avo: the JSON Schema export (`GET .../export/v1`, or the Json Schema webhook payload):
  `{"events": [{name, rules}]}`; every event is a track event, and event variants (same name)
  are alternatives.
- RudderStack: Rudder CLI project YAML (`version: rudder/v1`, kinds tracking-plan, events,
  properties, custom-types; `rudder/0.1` projects too). Give the tracking-plan file or the
  project folder: the other files are read from the tracking plan's folder and below.
  Properties of identify and group rules are traits.
- Snowplow: a folder of Iglu self-describing schemas (`vendor/name/jsonschema/1-0-0`), or one
  schema file. Each schema is a track event named by `self.name` (the highest version wins);
  its JSON Schema describes the event's properties.

Every problem is one `PlanError` carrying a located Diagnostic (file, line, column).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from cdpctl import codes, jsonwire
from cdpctl.diagnostics import Diagnostic
from cdpctl.events import EVENT_TYPES
from cdpctl.loading import Document, LoadError, parse_yaml, read_text
from cdpctl.plans.model import PlanEvent, TrackingPlan, flatten

#: Exports of large workspaces run to megabytes; mapping files stop at 5 MB.
MAX_PLAN_BYTES: Final = 64 * 1024 * 1024
FORMATS: Final = {
    "segment-protocols": "Segment Protocols tracking-plan rules (Public API)",
    "avo": "Avo tracking-plan export (JSON Schema)",
    "rudderstack": "RudderStack tracking plan (Rudder CLI YAML)",
    "snowplow-iglu": "Snowplow Iglu self-describing schemas",
}
_DRAFTS: Final = re.compile(r"^https?://json-schema\.org/(draft-0[467]|draft/20(19-09|20-12))/")
_DRAFT_07: Final = "http://json-schema.org/draft-07/schema#"
_DRAFT_04: Final = "http://json-schema.org/draft-04/schema#"
_SCHEMAVER: Final = re.compile(r"^(\d+)-(\d+)-(\d+)$")
_IGLU_FILE: Final = re.compile(r"^\d+-\d+-\d+(\.json)?$")
_PROTOCOLS_TYPES: Final = {
    "TRACK": "track",
    "IDENTIFY": "identify",
    "GROUP": "group",
    "PAGE": "page",
    "SCREEN": "screen",
}
_TRAITS_CALLS: Final = frozenset({"identify", "group"})


class PlanError(Exception):
    """A plan cdpctl cannot use; `diagnostic` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.full_message())
        self.diagnostic = diagnostic


def load_plan(path: str | Path) -> TrackingPlan:
    """Read the plan at `path` (a file, or a RudderStack project or Iglu schema folder)."""
    where = Path(path)
    if where.is_dir():
        rudder = _rudder_documents(where)
        if rudder:
            return _rudderstack(str(path), rudder, None)
        return _iglu_folder(where)
    document = _read(where)
    data = document.data
    if _is_rudder(data):
        kind = data.get("kind")
        if kind not in ("tracking-plan", "tp"):
            _fail(
                document,
                f"a RudderStack {kind or 'project'} file, not a tracking plan",
                ("kind",),
                hint="give the tracking-plan file (kind: tracking-plan) or the project folder",
            )
        others = [
            doc
            for doc in _rudder_documents(where.parent)
            if doc.data.get("kind") not in ("tracking-plan", "tp")
        ]
        return _rudderstack(str(path), [document, *others], document)
    if isinstance(data, dict) and isinstance(data.get("self"), dict):
        return _plan(str(path), "snowplow-iglu", _iglu_events([document]))
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        return _avo(document)
    rules = _protocols_rules(data)
    if rules is not None:
        return _protocols(document, rules)
    _fail(
        document,
        "not a tracking plan cdpctl reads",
        (),
        hint="expected Segment Protocols rules, an Avo JSON Schema export, a RudderStack "
        "tracking-plan YAML (version: rudder/v1) or Snowplow Iglu schemas (docs/tracking-plans.md)",
    )


# --- shared ----------------------------------------------------------------------------------


def _read(path: Path) -> Document:
    """A plan file with the position of every node. JSON is checked as JSON first, so its
    syntax errors read as JSON errors, not as the YAML parser's."""
    try:
        text = read_text(path, limit=MAX_PLAN_BYTES)
        if text.lstrip()[:1] in ("{", "["):
            try:
                jsonwire.read(text, str(path))
            except jsonwire.JSONInputError as error:
                raise PlanError(error.diagnostic) from None
        return parse_yaml(text, str(path))
    except LoadError as error:
        raise PlanError(error.diagnostic) from None


def _fail(document: Document, message: str, where: tuple[str | int, ...], **extra: Any) -> NoReturn:
    raise PlanError(document.diagnostic(codes.PLAN_UNREADABLE, message, where, **extra))


def _files(folder: Path, wanted: Any) -> Iterator[Path]:
    """Files below `folder` that `wanted` accepts, in a stable order, hidden ones left out."""
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not hidden and path.is_file() and wanted(path):
            yield path


def _plan(path: str, kind: str, events: list[PlanEvent], name: str = "") -> TrackingPlan:
    return TrackingPlan(path, kind, tuple(_merge_variants(events)), name)


def _merge_variants(events: list[PlanEvent]) -> Iterator[PlanEvent]:
    """One event per (call type, name): later definitions (Avo variants, Iglu vendors) become
    alternatives (`anyOf`) of the first."""
    groups: dict[tuple[str, str | None], list[PlanEvent]] = {}
    for event in events:
        groups.setdefault(event.key, []).append(event)
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            yield first
            continue
        schemas: dict[str, dict[str, Any]] = {}
        for section in {s for event in group for s in event.schemas}:
            parts = [dict(e.schemas[section]) for e in group if section in e.schemas]
            schemas[section] = parts[0] if len(parts) == 1 else {"anyOf": parts}
        yield _event(
            first.call_type, first.name, schemas, first.source, first.line, first.description
        )


def _event(
    call_type: str,
    name: str | None,
    schemas: Mapping[str, Mapping[str, Any]],
    source: str,
    line: int | None,
    description: str = "",
) -> PlanEvent:
    return PlanEvent(call_type, name, dict(schemas), flatten(schemas), source, line, description)


def _section(schema: Mapping[str, Any], root: Mapping[str, Any], draft: str) -> dict[str, Any]:
    """A section's schema made standalone: the root's draft and definitions travel with it."""
    out = dict(schema)
    for keyword in ("definitions", "$defs"):
        if keyword in root and keyword not in out:
            out[keyword] = root[keyword]
    out["$schema"] = draft
    return out


def _draft(schema: Mapping[str, Any], default: str = _DRAFT_07) -> str:
    declared = schema.get("$schema")
    return declared if isinstance(declared, str) and _DRAFTS.match(declared) else default


def _line(document: Document, where: tuple[str | int, ...]) -> int:
    return document.locate(where).line


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- Segment Protocols ------------------------------------------------------------------------


def _protocols_rules(data: Any) -> tuple[list[Any], tuple[str | int, ...]] | None:
    """The rules list and where it sits, if `data` looks like Protocols rules."""
    for rules, where in (
        (data, ()),
        (data.get("rules") if isinstance(data, dict) else None, ("rules",)),
        (
            data["data"].get("rules")
            if isinstance(data, dict) and isinstance(data.get("data"), dict)
            else None,
            ("data", "rules"),
        ),
    ):
        if isinstance(rules, list) and any(
            isinstance(r, dict) and "type" in r and ("jsonSchema" in r or "key" in r) for r in rules
        ):
            return rules, where
    return None


def _protocols(document: Document, found: tuple[list[Any], tuple[str | int, ...]]) -> TrackingPlan:
    rules, base = found
    events: list[PlanEvent] = []
    common: list[tuple[str, dict[str, Any]]] = []
    for index, rule in enumerate(rules):
        where = (*base, index)
        if not isinstance(rule, dict):
            _fail(document, "a tracking-plan rule must be an object", where)
        kind = rule.get("type")
        schema = rule.get("jsonSchema")
        if schema is None:
            continue  # a rule without a schema checks nothing
        if not isinstance(schema, dict):
            _fail(document, "jsonSchema must be a JSON Schema object", (*where, "jsonSchema"))
        sections = _event_sections(document, schema, (*where, "jsonSchema"))
        if kind == "COMMON":
            common.extend(sections.items())
            continue
        call_type = _PROTOCOLS_TYPES.get(kind) if isinstance(kind, str) else None
        if call_type is None:
            _fail(
                document,
                f"unknown rule type {kind!r}",
                (*where, "type"),
                hint="Segment rule types: " + ", ".join([*_PROTOCOLS_TYPES, "COMMON"]),
            )
        key = rule.get("key")
        name = key if isinstance(key, str) and key else None
        if call_type == "track" and name is None:
            _fail(document, "a TRACK rule needs the event name as its key", (*where, "key"))
        line = _line(document, where)
        events.append(_event(call_type, name, sections, document.path, line))
    if common:
        events = [_with_common(event, common) for event in events]
    return _plan(document.path, "segment-protocols", events)


def _with_common(event: PlanEvent, common: list[tuple[str, dict[str, Any]]]) -> PlanEvent:
    schemas = {section: dict(schema) for section, schema in event.schemas.items()}
    for section, schema in common:
        own = schemas.get(section)
        schemas[section] = schema if own is None else {"allOf": [own, schema]}
    return _event(event.call_type, event.name, schemas, event.source, event.line, event.description)


def _event_sections(
    document: Document, schema: dict[str, Any], where: tuple[str | int, ...]
) -> dict[str, dict[str, Any]]:
    """`properties`, `traits` and `context` of a whole-event JSON Schema (Protocols, Avo)."""
    members = schema.get("properties") or {}
    if not isinstance(members, dict):
        _fail(document, "properties must be an object of JSON Schemas", (*where, "properties"))
    draft = _draft(schema)
    out = {}
    for section in ("properties", "traits", "context"):
        part = members.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            _fail(
                document, f"{section} must be a JSON Schema object", (*where, "properties", section)
            )
        out[section] = _section(part, schema, draft)
    return out


# --- Avo ------------------------------------------------------------------------------------


def _avo(document: Document) -> TrackingPlan:
    events = []
    for index, item in enumerate(document.data["events"]):
        where: tuple[str | int, ...] = ("events", index)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            _fail(document, "an Avo event needs a name", where)
        rules = item.get("rules") or {}
        if not isinstance(rules, dict):
            _fail(document, "rules must be a JSON Schema object", (*where, "rules"))
        sections = _event_sections(document, rules, (*where, "rules"))
        events.append(
            _event(
                "track",
                item["name"],
                sections,
                document.path,
                _line(document, where),
                _text(item.get("description")),
            )
        )
    return _plan(document.path, "avo", events, _text(document.data.get("name")))


# --- Snowplow Iglu ---------------------------------------------------------------------------


def _iglu_folder(folder: Path) -> TrackingPlan:
    files = _files(folder, lambda p: bool(_IGLU_FILE.match(p.name)) or p.suffix == ".json")
    documents = [_read(path) for path in files]
    documents = [d for d in documents if isinstance(d.data, dict) and "self" in d.data]
    if not documents:
        raise PlanError(
            Diagnostic(
                codes.PLAN_UNREADABLE,
                "no tracking plan in this folder: no RudderStack YAML (version: rudder/v1) and "
                "no Iglu schemas (vendor/name/jsonschema/1-0-0)",
                path=str(folder),
            )
        )
    return _plan(str(folder), "snowplow-iglu", _iglu_events(documents))


@dataclass(frozen=True, slots=True)
class _IgluSchema:
    document: Document
    vendor: str
    name: str
    version: tuple[int, int, int]


def _iglu_events(documents: list[Document]) -> list[PlanEvent]:
    latest: dict[tuple[str, str], _IgluSchema] = {}
    for document in documents:
        schema = _iglu_schema(document)
        key = (schema.vendor, schema.name)
        if key not in latest or schema.version > latest[key].version:
            latest[key] = schema
    events = []
    for schema in sorted(latest.values(), key=lambda s: (s.name, s.vendor)):
        body = {k: v for k, v in schema.document.data.items() if k not in ("self", "$schema")}
        sections = {"properties": _section(body, body, _DRAFT_04)}
        events.append(
            _event(
                "track",
                schema.name,
                sections,
                schema.document.path,
                _line(schema.document, ("self",)),
                _text(body.get("description")),
            )
        )
    return events


def _iglu_schema(document: Document) -> _IgluSchema:
    self_ = document.data.get("self")
    if not isinstance(self_, dict):
        _fail(document, "not a self-describing schema: no self object", ())
    for key in ("vendor", "name", "version"):
        if not isinstance(self_.get(key), str) or not self_[key]:
            _fail(document, f"self.{key} must be a non-empty string", ("self", key))
    version = _SCHEMAVER.match(self_["version"])
    if version is None:
        _fail(
            document,
            f'self.version "{self_["version"]}" is not a SchemaVer (MODEL-REVISION-ADDITION)',
            ("self", "version"),
            hint="e.g. 1-0-0",
        )
    number = (int(version[1]), int(version[2]), int(version[3]))
    return _IgluSchema(document, self_["vendor"], self_["name"], number)


# --- RudderStack -----------------------------------------------------------------------------


def _rudder_documents(folder: Path) -> list[Document]:
    """The Rudder CLI YAML files below `folder`, as the Rudder CLI finds them; other YAML files
    (CI configs, mapping files) are passed over unread, even when broken."""
    found = []
    for path in _files(folder, lambda p: p.suffix in (".yaml", ".yml")):
        try:
            text = read_text(path, limit=MAX_PLAN_BYTES)
        except LoadError:
            continue
        if "rudder/" not in text:
            continue
        try:
            document = parse_yaml(text, str(path))
        except LoadError as error:
            raise PlanError(error.diagnostic) from None
        if _is_rudder(document.data):
            found.append(document)
    return found


def _is_rudder(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("version"), str)
        and data["version"].startswith("rudder/")
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    """A catalogue entry (event, property, custom type) and where it is defined."""

    document: Document
    where: tuple[str | int, ...]
    data: dict[str, Any]


class _Catalog:
    """The events, properties and custom types of a Rudder CLI project, by every reference
    spelling: `#event:id` (v1) and `#/events/group/id` (rudder/0.1)."""

    def __init__(self, documents: list[Document]) -> None:
        self.entries: dict[str, dict[str, _Entry]] = {
            "event": {},
            "property": {},
            "custom-type": {},
        }
        lists = {"events": "event", "properties": "property", "custom-types": "custom-type"}
        for document in documents:
            kind = document.data.get("kind")
            if kind not in lists:
                continue
            spec = document.data.get("spec") or {}
            key = {"custom-types": "types"}.get(kind, kind)
            items = spec.get(key) if isinstance(spec, dict) else None
            if not isinstance(items, list):
                _fail(document, f"spec.{key} must be a list", ("spec", key))
            group = (document.data.get("metadata") or {}).get("name", "")
            for index, item in enumerate(items):
                where = ("spec", key, index)
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    _fail(document, "each entry needs an id", where)
                entry = _Entry(document, where, item)
                table = self.entries[lists[kind]]
                table[f"#{lists[kind]}:{item['id']}"] = entry
                table[f"#/{kind}/{group}/{item['id']}"] = entry

    def get(self, kind: str, ref: Any, document: Document, where: tuple[str | int, ...]) -> _Entry:
        if isinstance(ref, dict):  # rudder/0.1: {$ref: ...}
            ref = ref.get("$ref")
        found = self.entries[kind].get(ref) if isinstance(ref, str) else None
        if found is None:
            known = sorted(k for k in self.entries[kind] if k.startswith(f"#{kind}:"))
            hint = ("defined: " + ", ".join(known[:8])) if known else f"no {kind} is defined"
            _fail(document, f"unknown {kind} reference {ref!r}", where, hint=hint)
        return found


def _rudderstack(path: str, documents: list[Document], chosen: Document | None) -> TrackingPlan:
    plans = [d for d in documents if d.data.get("kind") in ("tracking-plan", "tp")]
    if chosen is None:
        if not plans:
            raise PlanError(
                Diagnostic(
                    codes.PLAN_UNREADABLE,
                    "no RudderStack tracking plan (kind: tracking-plan) in this folder",
                    path=path,
                )
            )
        if len(plans) > 1:
            raise PlanError(
                Diagnostic(
                    codes.PLAN_UNREADABLE,
                    f"{len(plans)} tracking plans in this folder: give one of them",
                    path=path,
                    hint=", ".join(d.path for d in plans),
                )
            )
        chosen = plans[0]
    catalog = _Catalog(documents)
    spec = chosen.data.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("rules"), list):
        _fail(chosen, "a tracking plan needs spec.rules, a list of event rules", ("spec",))
    events = []
    for index, rule in enumerate(spec["rules"]):
        where: tuple[str | int, ...] = ("spec", "rules", index)
        if not isinstance(rule, dict):
            _fail(chosen, "an event rule must be an object", where)
        event = catalog.get("event", rule.get("event"), chosen, (*where, "event"))
        call_type = event.data.get("event_type", "track")
        if call_type not in EVENT_TYPES:
            _fail(event.document, f"unknown event_type {call_type!r}", (*event.where, "event_type"))
        name = event.data.get("name") if call_type == "track" else None
        if call_type == "track" and not isinstance(name, str):
            _fail(event.document, "a track event needs a name", event.where)
        closed = rule.get("additional_properties") is False or (
            isinstance(rule.get("event"), dict) and rule["event"].get("allow_unplanned") is False
        )
        schema = _rudder_object(catalog, chosen, rule, where, closed)
        section = "traits" if call_type in _TRAITS_CALLS else "properties"
        sections = {section: _section(schema, schema, _DRAFT_07)}
        events.append(
            _event(
                call_type,
                name,
                sections,
                chosen.path,
                _line(chosen, where),
                _text(event.data.get("description")),
            )
        )
    return _plan(path, "rudderstack", events, _text(spec.get("display_name")))


def _rudder_object(
    catalog: _Catalog,
    document: Document,
    holder: dict[str, Any],
    where: tuple[str | int, ...],
    closed: bool = False,
) -> dict[str, Any]:
    """An object schema from a list of property references (a rule, a nested property, an
    object custom type); variant cases add their properties as optional members."""
    members: dict[str, Any] = {}
    required: list[str] = []
    lists: list[tuple[Any, tuple[str | int, ...], bool]] = [
        (holder.get("properties"), (*where, "properties"), True)
    ]
    for v, variant in enumerate(holder.get("variants") or []):
        if isinstance(variant, dict):
            for c, case in enumerate(variant.get("cases") or []):
                if isinstance(case, dict):
                    at = (*where, "variants", v, "cases", c, "properties")
                    lists.append((case.get("properties"), at, False))
            lists.append((variant.get("default"), (*where, "variants", v, "default"), False))
    for items, at, counts in lists:
        for index, ref in enumerate(items or []):
            if not isinstance(ref, dict):
                _fail(document, "a property reference must be an object", (*at, index))
            pointer = ref.get("property", ref.get("$ref"))
            entry = catalog.get("property", pointer, document, (*at, index))
            name = entry.data.get("name") or entry.data["id"]
            schema = _rudder_property(catalog, entry)
            if isinstance(ref.get("properties"), list):
                nested = _rudder_object(catalog, document, ref, (*at, index))
                schema = {**schema, **nested, "type": "object"}
            members.setdefault(name, schema)
            if counts and ref.get("required") is True and name not in required:
                required.append(name)
    out: dict[str, Any] = {"type": "object", "properties": members}
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    return out


#: Rudder property config keys (v1 snake_case, rudder/0.1 camelCase) → JSON Schema keywords.
_CONFIG_KEYS: Final = {
    "format": "format",
    "enum": "enum",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusiveMinimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "exclusiveMaximum": "exclusiveMaximum",
    "multiple_of": "multipleOf",
    "multipleOf": "multipleOf",
    "min_length": "minLength",
    "minLength": "minLength",
    "max_length": "maxLength",
    "maxLength": "maxLength",
    "min_items": "minItems",
    "minItems": "minItems",
    "max_items": "maxItems",
    "maxItems": "maxItems",
    "unique_items": "uniqueItems",
    "uniqueItems": "uniqueItems",
}


def _rudder_property(catalog: _Catalog, entry: _Entry, depth: int = 0) -> dict[str, Any]:
    """The JSON Schema of one catalogue property or custom type."""
    data = entry.data
    config = data.get("config", data.get("propConfig")) or {}
    if not isinstance(config, dict):
        config = {}
    out: dict[str, Any] = {}
    if isinstance(data.get("description"), str):
        out["description"] = data["description"]
    declared = data.get("types", data.get("type"))
    kinds = declared if isinstance(declared, list) else [declared] if declared else []
    out.update(_rudder_types(catalog, entry, kinds, ("type",), depth))
    for key, keyword in _CONFIG_KEYS.items():
        if key in config:
            out[keyword] = config[key]
    item_types = config.get("item_types", config.get("itemTypes", config.get("item_type")))
    if item_types is not None:
        items = item_types if isinstance(item_types, list) else [item_types]
        key = next(k for k in ("item_types", "itemTypes", "item_type") if k in config)
        where = ("config" if "config" in data else "propConfig", key)
        out["items"] = _rudder_types(catalog, entry, items, where, depth)
    return out


def _rudder_types(
    catalog: _Catalog,
    entry: _Entry,
    kinds: list[Any],
    where: tuple[str | int, ...],
    depth: int,
) -> dict[str, Any]:
    """The schema for a list of type names: primitives (`string`, `"string,null"`) and custom
    type references (`#custom-type:id`, whose own schema is merged in)."""
    out: dict[str, Any] = {}
    plain: list[str] = []
    for kind in kinds:
        if isinstance(kind, str) and kind.startswith("#") and depth < 8:
            custom = catalog.get("custom-type", kind, entry.document, (*entry.where, *where))
            out.update(_rudder_property(catalog, custom, depth + 1))
            if isinstance(custom.data.get("properties"), list):
                out.update(_rudder_object(catalog, custom.document, custom.data, custom.where))
        elif isinstance(kind, str):
            plain.extend(part.strip() for part in kind.split(","))
    if plain:
        out["type"] = plain[0] if len(plain) == 1 else plain
    return out
