"""CDP702-CDP706: a mapping file checked against a tracking plan (`validate --plan`).

For each subscription, the plan events its trigger can match (cdpctl.plans.static); then every
`@path`, `@template` placeholder and `@jmespath` field read into `properties`, `traits` or
`context` must be declared by at least one of them (a read inside an `@if` is a fallback: it
is reported only when nothing else feeding that field is declared); a value that goes straight
into an action field must have a type the field takes; and a required field must not hang on
properties the plan leaves optional. Places the plan does not describe are never reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import jmespath
from jmespath.exceptions import JMESPathError

from cdpctl import codes, schema
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint import FileReport, check_document, context
from cdpctl.lint.walk import EventPath, event_paths, is_directive
from cdpctl.loading import Document, LoadError, load_yaml
from cdpctl.mapping.paths import parse_path, strip_root
from cdpctl.plans import SECTIONS, PlanEvent, PlanProperty, TrackingPlan
from cdpctl.plans.model import Declared, Undeclared, dotted
from cdpctl.plans.static import closest, named_conditions, reach
from cdpctl.providers import get_provider
from cdpctl.providers.base import Field, FieldType, Format, Provider

Where = tuple[str | int, ...]
_PLACEHOLDER_TEXT: Final = "{{"
#: Arguments that hold the mapping run on array items or on `apply`'s result, not the event.
_NOT_THE_EVENT: Final = (("@arrayPath", 1), ("@transform", "mapping"))


def check_file(path: str, plan: TrackingPlan) -> FileReport:
    """Everything `validate` checks, plus the plan rules once the file is structurally sound."""
    try:
        document = load_yaml(path)
    except LoadError as error:
        return FileReport(path, [error.diagnostic])
    found = check_document(document)
    provider = None
    if not schema.check(document):
        provider = get_provider(document.data["destination"]["provider"])
    if provider is not None:
        found.extend(check(document, provider, context.subscriptions(document, provider), plan))
        found = list(dict.fromkeys(found))
        found.sort(key=lambda d: (d.line or 0, d.column or 0, d.code))
    return FileReport(path, found)


def check(
    document: Document, provider: Provider, subs: list[context.Subscription], plan: TrackingPlan
) -> list[Diagnostic]:
    del provider
    found: list[Diagnostic] = []
    for sub in subs:
        if sub.trigger is None or sub.action is None:
            continue
        matched = reach(plan, sub.trigger)
        if matched is None:
            continue
        if not matched.events:
            if matched.types & plan.call_types:
                found.append(_no_event(document, sub, plan, matched.types))
            continue
        events = matched.events
        found.extend(_undeclared(document, sub, events))
        for key, value in sub.mapping.items():
            spec = sub.action.field(str(key))
            if spec is not None:
                found.extend(_types(document, sub, events, spec, value, (str(key),)))
        found.extend(_required(document, sub, events))
    return found


# --- CDP702: the trigger matches no plan event ---------------------------------------------


def _no_event(
    document: Document, sub: context.Subscription, plan: TrackingPlan, types: frozenset[str]
) -> Diagnostic:
    where = (*sub.base, "trigger")
    column = document.locate(where).column
    hint = None
    for field, value, at in named_conditions(sub.trigger) if sub.trigger else []:
        kind = "track" if field == "event" else None
        names = [e.name for e in plan.events if e.name and (kind is None or e.call_type == kind)]
        if value not in names:
            guess = closest(value, names, cutoff=0.8)
            column = context.trigger_column(document, where, at)
            hint = f'did you mean "{guess}"?' if guess else None
            break
    covered = sorted(types & plan.call_types)
    candidates = tuple(e for e in plan.events if e.call_type in covered)
    listed = _names(candidates).replace(" or ", ", ") if len(candidates) <= 3 else ""
    message = (
        f"the trigger matches none of the tracking plan's {' and '.join(covered)} events "
        f"({listed or f'{len(candidates)} of them'})"
    )
    diagnostic = document.diagnostic(codes.PLAN_NO_EVENT_MATCHES, message, where, hint=hint)
    return Diagnostic(
        diagnostic.code,
        diagnostic.message,
        path=diagnostic.path,
        line=diagnostic.line,
        column=column,
        json_path=diagnostic.json_path,
        hint=hint,
    )


# --- CDP703: a read the plan does not declare ------------------------------------------------


def _reads(mapping: dict[str, Any]) -> list[EventPath]:
    return [*event_paths(mapping), *_jmespath_reads(mapping)]


def _undeclared(
    document: Document, sub: context.Subscription, events: tuple[PlanEvent, ...]
) -> Iterator[Diagnostic]:
    reads = [r for r in _reads(sub.mapping) if r.keys and r.keys[0] in SECTIONS]
    verdicts = [(read, [e.lookup(read.keys) for e in events]) for read in reads]
    fed = {read.field for read, found in verdicts if any(isinstance(f, Declared) for f in found)}
    for read, found in verdicts:
        misses = [f for f in found if isinstance(f, Undeclared)]
        if len(misses) < len(found) or (read.guarded and read.field in fed):
            continue
        yield _undeclared_read(document, sub, read, misses, events)


def _undeclared_read(
    document: Document,
    sub: context.Subscription,
    read: EventPath,
    misses: list[Undeclared],
    events: tuple[PlanEvent, ...],
) -> Diagnostic:
    first = misses[0]
    where = (*sub.base, "mapping", *read.where)
    shown = _shown(read, read.keys)
    if first.scalar is not None:
        message = (
            f"{shown} reads inside {dotted(first.parent)}, which the tracking plan declares "
            f"as {_article(first.scalar)} {first.scalar} for {_names(events)}"
        )
        return document.diagnostic(codes.PLAN_UNDECLARED_READ, message, where)
    known = list(dict.fromkeys(k for miss in misses for k in miss.known))
    guess = closest(first.key, known)
    depth = len(first.parent)
    if guess is not None:
        fixed = (*read.keys[:depth], guess, *read.keys[depth + 1 :])
        hint = f"did you mean {_shown(read, fixed)}?"
    elif known:
        shown_known = ", ".join(known[:8]) + (", …" if len(known) > 8 else "")
        hint = f"{dotted(first.parent)} declares {shown_known}"
    else:
        hint = f"the plan declares nothing in {dotted(first.parent)}"
    message = (
        f'{shown} reads "{first.key}", which the tracking plan does not declare for '
        f"{_names(events)}"
    )
    return document.diagnostic(codes.PLAN_UNDECLARED_READ, message, where, hint=hint)


def _shown(read: EventPath, keys: tuple[str, ...]) -> str:
    if read.directive == "@template":
        return "{{" + ".".join(keys) + "}}"
    if read.directive == "@jmespath":
        text = "".join(f"[{k}]" if k.isdigit() else f".{k}" for k in keys).lstrip(".")
        return f"{text} (in @jmespath)"
    return "$." + ".".join(keys)


def _names(events: tuple[PlanEvent, ...]) -> str:
    labels = [f'"{e.name}"' if e.call_type == "track" else e.label for e in events]
    if len(labels) > 3:
        return f"any of the {len(labels)} plan events the trigger matches"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _jmespath_reads(mapping: Any, where: Where = (), field: Where = ()) -> Iterator[EventPath]:
    """The event fields each `@jmespath` query reads from the event root."""
    if isinstance(mapping, list):
        for index, item in enumerate(mapping):
            yield from _jmespath_reads(item, (*where, index), field)
        return
    if not isinstance(mapping, dict):
        return
    if not is_directive(mapping):
        for key, value in mapping.items():
            yield from _jmespath_reads(value, (*where, key), (*field, key))
        return
    ((name, argument),) = mapping.items()
    at = (*where, name)
    if name == "@jmespath" and isinstance(argument, str):
        try:
            tree = jmespath.compile(argument).parsed
        except JMESPathError:
            return  # CDP307 reports it
        for keys, guarded in _query_reads(tree, False):
            yield EventPath(at, field, argument, keys, name, guarded)
        return
    skip = {arg for directive, arg in _NOT_THE_EVENT if directive == name}
    if isinstance(argument, dict):
        for key, value in argument.items():
            if key not in skip:
                yield from _jmespath_reads(value, (*at, key), field)
    elif isinstance(argument, list):
        for index, value in enumerate(argument):
            if index not in skip:
                yield from _jmespath_reads(value, (*at, index), field)


def _chain(node: dict[str, Any]) -> tuple[str, ...] | None:
    """The keys of a query made only of field names and indexes (`properties.items[0].sku`)."""
    prefix, whole = _prefix(node)
    return prefix if whole else None


def _prefix(node: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The leading field names and indexes of a query, and whether that is all of it."""
    kind = node.get("type")
    children = node.get("children") or []
    if kind == "field":
        return (str(node["value"]),), True
    if kind == "index" and isinstance(node.get("value"), int) and node["value"] >= 0:
        return (str(node["value"]),), True
    if kind in ("subexpression", "index_expression"):
        keys: tuple[str, ...] = ()
        for child in children:
            more, whole = _prefix(child)
            keys += more
            if not whole:
                return keys, False
        return keys, True
    if kind in ("projection", "value_projection", "filter_projection", "flatten") and children:
        return _prefix(children[0])[0], False
    return (), False


def _query_reads(node: dict[str, Any], guarded: bool) -> Iterator[tuple[tuple[str, ...], bool]]:
    """(keys, guarded) of every field chain evaluated against the event root; what a
    projection, pipe or sub-expression applies to the left side's result is not the event."""
    kind = node.get("type")
    children = node.get("children") or []
    if kind in ("field", "subexpression", "index_expression", "projection", "filter_projection"):
        keys, _ = _prefix(node)
        if keys:
            yield keys, guarded
        elif children:
            yield from _query_reads(children[0], guarded)
        return
    if kind in ("projection", "value_projection", "filter_projection", "flatten", "pipe"):
        if children:
            yield from _query_reads(children[0], guarded)
        return
    inner_guard = guarded or kind == "or_expression"
    for child in children:
        if kind == "multi_select_dict":
            child = (child.get("children") or [{}])[0]
        if isinstance(child, dict):
            yield from _query_reads(child, inner_guard)


# --- CDP704/CDP705: the plan's type against the action field's ------------------------------


def _direct_reads(value: Any) -> list[tuple[str, ...]]:
    """Paths whose value goes unchanged into the field (`@path`, the branches of `@if`)."""
    if not is_directive(value):
        return []
    ((name, argument),) = value.items()
    if name == "@path" and isinstance(argument, str):
        return [parse_path(strip_root(argument))]
    if name == "@if" and isinstance(argument, dict):
        return _direct_reads(argument.get("then")) + _direct_reads(argument.get("else"))
    if name == "@excludeWhenNull":
        return _direct_reads(argument)
    if name == "@jmespath" and isinstance(argument, str):
        try:
            chain = _chain(jmespath.compile(argument).parsed)
        except JMESPathError:
            return []
        return [chain] if chain is not None else []
    return []


@dataclass(frozen=True, slots=True)
class _Verdict:
    code: str
    reason: str


def _types(
    document: Document,
    sub: context.Subscription,
    events: tuple[PlanEvent, ...],
    spec: Field,
    value: Any,
    field_path: tuple[str, ...],
) -> Iterator[Diagnostic]:
    if isinstance(value, dict) and not is_directive(value) and spec.properties:
        for key, inner in value.items():
            child = next((c for c in spec.properties if c.name == key), None)
            if child is not None:
                yield from _types(document, sub, events, child, inner, (*field_path, str(key)))
        return
    for keys in _direct_reads(value):
        if not keys or keys[0] not in SECTIONS:
            continue
        by_verdict: dict[_Verdict, list[tuple[PlanEvent, PlanProperty]]] = {}
        for event in events:
            found = event.lookup(keys)
            if isinstance(found, Declared) and found.exact and found.prop is not None:
                verdict = _compatibility(found.prop, spec)
                if verdict is not None:
                    by_verdict.setdefault(verdict, []).append((event, found.prop))
        where = (*sub.base, "mapping", *field_path)
        for verdict, pairs in by_verdict.items():
            prop = pairs[0][1]
            plan_events = tuple(event for event, _ in pairs)
            message = (
                f"{prop.dotted} is {_plan_type(prop)} in the plan for {_names(plan_events)}; "
                f"'{'.'.join(field_path)}' {verdict.reason}"
            )
            severity = (
                Severity.WARNING if verdict.code == codes.PLAN_TYPE_COERCED else Severity.ERROR
            )
            yield document.diagnostic(verdict.code, message, where, severity=severity)


def _plan_type(prop: PlanProperty) -> str:
    text = " or ".join(t for t in prop.types) if prop.types else "any type"
    fmt = f" (format: {prop.format})" if prop.format else ""
    return f"{_article(text)} {text}{fmt}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


_FIELD_TYPES: Final = {
    FieldType.STRING: "a string",
    FieldType.NUMBER: "a number",
    FieldType.INTEGER: "an integer",
    FieldType.BOOLEAN: "true or false",
    FieldType.OBJECT: "an object",
    FieldType.DATETIME: "a date-time",
}
#: (field type, plan type) → None: fine; a reason: what happens to such a value.
_COERCED: Final = {
    (FieldType.STRING, "number"): "takes text, so the number is sent as text",
    (FieldType.STRING, "integer"): "takes text, so the number is sent as text",
    (FieldType.NUMBER, "string"): "takes a number: only numeric text is converted, other text "
    "is refused",
    (FieldType.INTEGER, "string"): "takes an integer: only numeric text is converted, other "
    "text is refused",
    (FieldType.INTEGER, "number"): "takes an integer, so a fractional number is refused",
    (FieldType.BOOLEAN, "string"): 'takes true or false: only the text "true" or "false" is '
    "converted",
    (FieldType.DATETIME, "string"): "takes an ISO-8601 date-time, which the plan does not "
    "require (format: date-time)",
}
_FINE: Final = {
    FieldType.STRING: {"string"},
    FieldType.NUMBER: {"number", "integer"},
    FieldType.INTEGER: {"integer"},
    FieldType.BOOLEAN: {"boolean"},
    FieldType.OBJECT: {"object"},
    FieldType.DATETIME: {"number", "integer"},
}
_FORMATS: Final = {
    Format.EMAIL: ({"email", "idn-email"}, "an email address"),
    Format.URI: ({"uri", "iri"}, "a URI"),
    Format.DATE_TIME: ({"date-time"}, "an ISO-8601 date-time"),
    Format.HOSTNAME: ({"hostname", "idn-hostname"}, "a hostname"),
}


def _compatibility(prop: PlanProperty, spec: Field) -> _Verdict | None:
    kinds = [t for t in prop.types if t != "null"]
    if not kinds or spec.type is FieldType.ANY:
        return None
    if spec.multiple:
        if "array" in kinds:
            return None
        return _Verdict(codes.PLAN_TYPE_MISMATCH, f"takes a list of {_FIELD_TYPES[spec.type]}s")
    worst: _Verdict | None = None
    for kind in kinds:
        if kind in _FINE[spec.type] or (spec.type is FieldType.DATETIME and kind == "string"):
            continue
        reason = _COERCED.get((spec.type, kind))
        if reason is None:
            return _Verdict(codes.PLAN_TYPE_MISMATCH, f"takes {_FIELD_TYPES[spec.type]}")
        worst = worst or _Verdict(codes.PLAN_TYPE_COERCED, reason)
    if worst is not None:
        return worst
    if (
        spec.type is FieldType.DATETIME
        and "string" in kinds
        and prop.format
        not in (
            "date-time",
            "date",
        )
    ):
        return _Verdict(codes.PLAN_TYPE_COERCED, _COERCED[(FieldType.DATETIME, "string")])
    if spec.format in _FORMATS and prop.format not in _FORMATS[spec.format][0]:
        wanted, what = _FORMATS[spec.format]
        return _Verdict(
            codes.PLAN_TYPE_COERCED,
            f"must be {what}, which the plan does not require (format: {sorted(wanted)[0]})",
        )
    if spec.format is Format.E164 and prop.pattern is None:
        return _Verdict(
            codes.PLAN_TYPE_COERCED,
            "must be an E.164 phone number, which the plan does not require (no pattern)",
        )
    if spec.enum is not None and prop.enum is not None:
        refused = [v for v in prop.enum if v not in spec.enum and v is not None]
        if refused:
            return _Verdict(
                codes.PLAN_TYPE_COERCED,
                "refuses the plan's value(s) " + ", ".join(map(repr, refused)),
            )
    return None


# --- CDP706: a required field fed only from optional properties -----------------------------


def _sources(value: Any) -> tuple[list[tuple[str, ...]], bool]:
    """(paths read, whether a value is there without them) for one mapping value."""
    if isinstance(value, str):
        return [], value != ""
    if value is None:
        return [], False
    if not isinstance(value, dict) or not is_directive(value):
        return [], True  # a number, a boolean, a list or an object written out
    ((name, argument),) = value.items()
    if name == "@literal":
        return [], argument is not None and argument != ""
    if name == "@if" and isinstance(argument, dict):
        then_reads, then_literal = _sources(argument.get("then"))
        else_reads, else_literal = _sources(argument.get("else"))
        return then_reads + else_reads, then_literal and else_literal
    if name == "@template" and isinstance(argument, str):
        reads = [p.keys for p in event_paths(value)]
        text = argument
        for read in event_paths(value):
            text = text.replace(read.text, "")
        literal = bool(text.replace("{", "").replace("}", "").strip())
        return reads, literal or _PLACEHOLDER_TEXT not in argument
    if name == "@jmespath" and isinstance(argument, str):
        return [p.keys for p in _jmespath_reads(value)], False
    return [p.keys for p in event_paths(value)], False


def _required(
    document: Document, sub: context.Subscription, events: tuple[PlanEvent, ...]
) -> Iterator[Diagnostic]:
    assert sub.action is not None
    use_defaults = sub.item.get("defaults", True) is not False
    for spec in sub.action.fields:
        if not spec.required:
            continue
        mapped = spec.name in sub.mapping
        if not mapped and not (use_defaults and spec.has_default):
            continue
        reads, literal = _sources(sub.mapping[spec.name] if mapped else spec.default)
        if literal or not reads:
            continue
        unsafe = [e for e in events if not any(_always_there(e, keys) for keys in reads)]
        if not unsafe:
            continue
        share = round(100 * len(unsafe) / len(events))
        read_text = " or ".join(dict.fromkeys(dotted(keys) for keys in reads))
        origin = "" if mapped else " (by its default mapping)"
        message = (
            f"required field '{spec.name}' is fed only from {read_text}{origin}, which "
            f"{len(unsafe)} of {len(events)} plan events the trigger matches ({share}%) do not "
            f"always carry: {_names(tuple(unsafe))}"
        )
        where = (*sub.base, "mapping", spec.name) if mapped else (*sub.base, "action")
        yield document.diagnostic(
            codes.PLAN_OPTIONAL_FEEDS_REQUIRED,
            message,
            where,
            severity=Severity.WARNING,
            hint="make the property required in the plan, or map a fallback "
            '({"@if": {"exists": …, "then": …, "else": …}})',
        )


def _always_there(event: PlanEvent, keys: tuple[str, ...]) -> bool:
    """Whether a read finds a value in every event the plan allows (True where the plan does
    not describe the place: the check is about what the plan says)."""
    if not keys or keys[0] not in SECTIONS:
        return True
    found = event.lookup(keys)
    if isinstance(found, Undeclared):
        return False
    return found.guaranteed is not False
