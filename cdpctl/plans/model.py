"""One model for every tracking-plan format: events keyed by (call type, name), each with the
JSON Schema of its `properties`, `traits` and `context`, and a flattened view of the property
paths it declares.

A section is *closed* at a level when its schema lists the members there (`properties`, or
`additionalProperties: false`): only then is a key the plan does not list "undeclared". An
empty schema (`"context": {}`, as Segment writes it) or an object with no listed members says
nothing, and nothing read below it is reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from cdpctl.plans.checker import PlanChecker

#: The parts of a Segment event a plan describes, in the order they are shown and checked.
SECTIONS: Final = ("properties", "traits", "context")
#: The array step in a flattened path: `properties.products[].sku`.
ITEMS: Final = "[]"
#: How deep flattening follows nested objects and `$ref`s (plans nest a handful of levels).
MAX_DEPTH: Final = 16
_SCALARS: Final = frozenset({"string", "number", "integer", "boolean", "null"})

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanProperty:
    """One declared path: `("properties", "products", "[]", "sku")`."""

    path: Path
    types: tuple[str, ...] = ()  # JSON Schema type names; () when any type is allowed
    format: str | None = None
    required: bool = False  # present whenever its parent is
    guaranteed: bool = False  # required at every level up to its section: always present
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    description: str = ""

    @property
    def dotted(self) -> str:
        """`properties.products[].sku`."""
        return dotted(self.path)

    @property
    def type_text(self) -> str:
        """The types as `string`, `string | null`, or `any`."""
        return " | ".join(self.types) if self.types else "any"


def dotted(path: Path) -> str:
    out = ""
    for key in path:
        out += key if key == ITEMS or not out else "." + key
    return out


@dataclass(frozen=True, slots=True)
class Declared:
    """A read the plan allows. `prop` is the declared path read (`exact`), or the nearest
    declared ancestor when the plan lists nothing below it; None when the plan says nothing
    about the place at all."""

    prop: PlanProperty | None
    exact: bool = True

    @property
    def guaranteed(self) -> bool | None:
        """Whether the read always finds a value: None when the plan does not say."""
        return None if self.prop is None else self.prop.guaranteed


@dataclass(frozen=True, slots=True)
class Undeclared:
    """A read of `key` below `parent`, where the plan lists only `known` (or nothing below a
    scalar: then `scalar` names its type)."""

    parent: Path
    key: str
    known: tuple[str, ...]
    scalar: str | None = None


Lookup = Declared | Undeclared


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """One planned event. `name` is None for a rule that covers every event of its call type
    (Segment's IDENTIFY and GROUP rules); `line` is where the plan file defines it."""

    call_type: str
    name: str | None
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    properties: tuple[PlanProperty, ...] = ()
    source: str = ""
    line: int | None = None
    description: str = ""
    _index: dict[Path, PlanProperty] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _members: dict[Path, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for prop in self.properties:
            self._index[prop.path] = prop
        members: dict[Path, list[str]] = {}
        for section, schema in self.schemas.items():
            for path, keys in _closed_levels(schema, (section,), schema, 0):
                members.setdefault(path, []).extend(keys)
        self._members.update({path: tuple(dict.fromkeys(keys)) for path, keys in members.items()})

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.call_type, self.name)

    @property
    def label(self) -> str:
        """How messages name the event: `Order Completed`, `identify`, `page Home`."""
        if self.call_type == "track" and self.name is not None:
            return self.name
        return self.call_type if self.name is None else f"{self.call_type} {self.name}"

    def prop(self, path: Path) -> PlanProperty | None:
        return self._index.get(path)

    def lookup(self, keys: tuple[str, ...]) -> Lookup:
        """What the plan says about a read of `keys` from the event root (`("properties",
        "total")`). Array indexes step into items; `length` of a string or array is allowed."""
        at: Path = keys[:1]
        for key in keys[1:]:
            members = self._members.get(at)
            if members is not None and key in members:
                at = (*at, key)
                continue
            is_array = (*at, ITEMS) in self._members or (*at, ITEMS) in self._index
            if is_array and key.isdigit():
                at = (*at, ITEMS)
                continue
            prop = self._index.get(at)
            if members is not None and not (is_array and key == "length"):
                return Undeclared(at, key, tuple(m for m in members if m != ITEMS))
            if is_array and key == "length":
                return Declared(prop, exact=False)
            if prop is not None and prop.types and set(prop.types) <= _SCALARS:
                if key == "length" and "string" in prop.types:
                    return Declared(prop, exact=False)
                return Undeclared(at, key, (), prop.type_text)
            return Declared(prop, exact=False)
        return Declared(self._index.get(at))


@dataclass(frozen=True, slots=True)
class TrackingPlan:
    """A loaded plan: `format` names what it was read from (see cdpctl.plans.formats)."""

    path: str
    format: str
    events: tuple[PlanEvent, ...]
    name: str = ""
    _by_key: dict[tuple[str, str | None], PlanEvent] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for event in self.events:
            self._by_key.setdefault(event.key, event)

    def event(self, call_type: str, name: str | None) -> PlanEvent | None:
        """The plan's event for `(call_type, name)`, else its rule for every event of that
        call type, else None."""
        found = self._by_key.get((call_type, name))
        if found is None and name is not None:
            found = self._by_key.get((call_type, None))
        return found

    @property
    def call_types(self) -> frozenset[str]:
        return frozenset(event.call_type for event in self.events)

    def checker(self) -> PlanChecker:
        """A compiled checker of events against this plan (see cdpctl.plans.checker)."""
        from cdpctl.plans.checker import PlanChecker

        return PlanChecker(self)


# --- flattening a section's JSON Schema -------------------------------------------------------


def flatten(schemas: Mapping[str, Mapping[str, Any]]) -> tuple[PlanProperty, ...]:
    """Every declared path of every section, parents before children."""
    out: list[PlanProperty] = []
    for section in SECTIONS:
        schema = schemas.get(section)
        if schema is not None:
            out.extend(_flatten(schema, (section,), schema, True, True, 0))
    return tuple(out)


def _flatten(
    schema: Mapping[str, Any],
    path: Path,
    root: Mapping[str, Any],
    required: bool,
    guaranteed: bool,
    depth: int,
) -> Iterator[PlanProperty]:
    if depth > MAX_DEPTH:
        return
    node = resolve(schema, root)
    if len(path) > 1:
        yield PlanProperty(
            path,
            types(node, root),
            _first(node, root, "format"),
            required,
            guaranteed,
            _enum(node, root),
            _first(node, root, "pattern"),
            str(node.get("description") or ""),
        )
    members, needed = object_members(node, root)
    for key, child in members.items():
        here = key in needed
        yield from _flatten(child, (*path, key), root, here, guaranteed and here, depth + 1)
    items = _items(node, root)
    if items is not None:
        has_items = isinstance(node.get("minItems"), int) and node["minItems"] > 0
        yield from _flatten(
            items, (*path, ITEMS), root, has_items, guaranteed and has_items, depth + 1
        )


def _closed_levels(
    schema: Mapping[str, Any], path: Path, root: Mapping[str, Any], depth: int
) -> Iterator[tuple[Path, list[str]]]:
    """(path, member names) for every level whose members the schema lists."""
    if depth > MAX_DEPTH:
        return
    node = resolve(schema, root)
    members, _ = object_members(node, root)
    items = _items(node, root)
    if members or _closed(node, root):
        yield path, [*members, *([ITEMS] if items is not None else [])]
    for key, child in members.items():
        yield from _closed_levels(child, (*path, key), root, depth + 1)
    if items is not None:
        yield from _closed_levels(items, (*path, ITEMS), root, depth + 1)


def _closed(node: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    if "properties" in node and isinstance(node["properties"], Mapping):
        return True
    if node.get("additionalProperties") is False:
        return True
    return any(_closed(resolve(s, root), root) for s in _subschemas(node, "allOf"))


def resolve(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any]:
    """`schema` with a local `$ref` (`#/definitions/x`) followed; a non-object schema (`true`)
    is the empty schema."""
    if not isinstance(schema, Mapping):
        return {}
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#") or depth > MAX_DEPTH:
        return schema
    target: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part) if isinstance(target, Mapping) else None
    return resolve(target, root, depth + 1) if isinstance(target, Mapping) else {}


def _subschemas(node: Mapping[str, Any], keyword: str) -> list[Any]:
    value = node.get(keyword)
    return list(value) if isinstance(value, list) else []


def object_members(
    node: Mapping[str, Any], root: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """The listed members of an object schema and which are required: `allOf` parts add both;
    `anyOf`/`oneOf` branches add members, required only when every branch requires them."""
    members: dict[str, Any] = {}
    declared = node.get("properties")
    if isinstance(declared, Mapping):
        members.update({str(k): v for k, v in declared.items()})
    needed = {str(k) for k in node.get("required") or () if isinstance(k, str)}
    for part in _subschemas(node, "allOf"):
        more, more_needed = object_members(resolve(part, root), root)
        for key, value in more.items():
            members.setdefault(key, value)
        needed |= more_needed
    for keyword in ("anyOf", "oneOf"):
        branches = [object_members(resolve(b, root), root) for b in _subschemas(node, keyword)]
        if branches:
            for more, _ in branches:
                for key, value in more.items():
                    members.setdefault(key, value)
            needed |= set.intersection(*(more_needed for _, more_needed in branches))
    return members, needed


def _items(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    items = node.get("items")
    if isinstance(items, list):  # draft-04 tuple form: the first item stands for all
        items = items[0] if items else None
    if isinstance(items, Mapping):
        return items
    for part in _subschemas(node, "allOf"):
        found = _items(resolve(part, root), root)
        if found is not None:
            return found
    return None


def types(node: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[str, ...]:
    """The JSON Schema types `node` allows, in a stable order; () for any."""
    declared = node.get("type")
    found: list[str] = []
    if isinstance(declared, str):
        found = [declared]
    elif isinstance(declared, list):
        found = [t for t in declared if isinstance(t, str)]
    else:
        for keyword in ("anyOf", "oneOf"):
            branches = [types(resolve(b, root), root) for b in _subschemas(node, keyword)]
            if branches and all(branches):
                found = [t for branch in branches for t in branch]
        for part in _subschemas(node, "allOf"):
            found = found or list(types(resolve(part, root), root))
    if not found and "const" in node:
        found = [_json_type(node["const"])]
    if not found and isinstance(node.get("properties"), Mapping):
        found = ["object"]
    return tuple(dict.fromkeys(found))


def _first(node: Mapping[str, Any], root: Mapping[str, Any], keyword: str) -> str | None:
    value = node.get(keyword)
    if isinstance(value, str):
        return value
    for part in _subschemas(node, "allOf"):
        found = _first(resolve(part, root), root, keyword)
        if found is not None:
            return found
    return None


def _enum(node: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if isinstance(node.get("enum"), list):
        return tuple(node["enum"])
    if "const" in node:
        return (node["const"],)
    for part in _subschemas(node, "allOf"):
        found = _enum(resolve(part, root), root)
        if found is not None:
            return found
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
