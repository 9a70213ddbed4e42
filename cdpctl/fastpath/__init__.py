"""Generated fast paths: one Python function per subscription for bulk dry runs.

`evaluate` (cdpctl.pipeline) judges an event through closures: match, map, clean/coerce/
validate, plan, request. For a dry-run replay of millions of events, `compile_fast` writes one
function per subscription that does the same work as straight-line code — the trigger, the
mapping, the field checks and, for actions whose message shape is declared
(cdpctl.fastpath.shapes), the message and its serialised body — without closures and without
intermediate payload or `Request` objects. It returns

- None: the trigger does not match (`NoMatch`);
- an int: the event is `Ready` with one request of that many body bytes;
- a `Verdict`: what `evaluate` gives (actions without a declared shape run their own plan);
- FALLBACK: anything unusual (a value needing coercion, an invalid field, a missing
  identifier, a body over the size limit, a value or payload over the mapping budget, an
  error): the caller asks `evaluate`, which explains it.

So the fast path only ever answers where its answer is `evaluate`'s, and tests compare them
over every fixture. `CDPCTL_FASTPATH=0` turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdpctl import jsonwire
from cdpctl.fastpath import shapes
from cdpctl.fastpath.triggers import required_type, trigger_expression
from cdpctl.mapping.budget import check_mapped_fields
from cdpctl.mapping.codegen import MappingCode, Source
from cdpctl.mapping.compiler import ROOT_DIRECTIVE_KEY
from cdpctl.mapping.validator import is_directive_key
from cdpctl.pipeline import CompiledSubscription, Destination, planned
from cdpctl.providers.base import ActionContext, Field, FieldType
from cdpctl.providers.payload import _compiled as compiled_action
from cdpctl.triggers import parse as parse_trigger

FALLBACK: Any = type("Fallback", (), {"__repr__": lambda self: "FALLBACK"})()
ENVIRONMENT_SWITCH = "CDPCTL_FASTPATH"

FastFunction = Callable[[dict[str, Any]], Any]


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """The fast path is on unless CDPCTL_FASTPATH is 0 (or off/false/no)."""
    return environ.get(ENVIRONMENT_SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


@dataclass(frozen=True, slots=True)
class FastSubscription:
    sub: CompiledSubscription
    function: FastFunction
    event_type: str | None  # the only event type the trigger can match, if it requires one
    source: str  # the generated code, for tests and debugging


def compile_fast(destination: Destination, ctx: ActionContext) -> list[FastSubscription | None]:
    """Per subscription (file order), its generated function, or None where there is none."""
    return [
        compile_subscription(sub, destination.provider.name, ctx)
        for sub in destination.subscriptions
    ]


def compile_subscription(
    sub: CompiledSubscription, provider: str, ctx: ActionContext, *, bodies: bool = False
) -> FastSubscription | None:
    """The generated function of one subscription, or None where it has none. With `bodies`,
    a ready event's answer is its body (bytes) instead of the body's size (for tests)."""
    if (
        not isinstance(sub.mapping, dict)
        or ROOT_DIRECTIVE_KEY in sub.mapping
        or any(is_directive_key(key) for key in sub.mapping)
    ):
        return None
    shape = shapes.shape_of(provider, sub.action.name)
    if shape is not None and not shape.usable(ctx.settings):
        shape = None
    root = parse_trigger(sub.trigger).root
    source = Source()
    writer = _Writer(source, sub, shape, ctx, bodies)
    text = writer.write(trigger_expression(root, source, "e"))
    namespace = dict(source.namespace)
    label = sub.name.replace("\x00", "\\x00")  # a code object's name cannot hold NUL
    exec(compile(text, f"<fastpath {label}>", "exec"), namespace)
    return FastSubscription(sub, namespace["judge"], required_type(root), text)


class _Writer:
    """Writes `judge(e)` for one subscription."""

    def __init__(
        self,
        source: Source,
        sub: CompiledSubscription,
        shape: shapes.MessageShape | None,
        ctx: ActionContext,
        bodies: bool,
    ) -> None:
        self.source = source
        self.bodies = bodies
        self.sub = sub
        self.shape = shape
        self.ctx = ctx
        source.namespace["FB"] = FALLBACK

    def write(self, trigger: str) -> str:
        source = self.source
        mapping = MappingCode(source, "e", root_is_dict=True)
        items = mapping.object_items(self.sub.mapping)
        fields = self._prepare(mapping, items)
        mapped = ", ".join(f"{key!r}: {expression}" for key, expression, _ in items)
        within_budget = source.bind(check_mapped_fields, "budget")
        with source.block("def judge(e):"):
            with source.block("try:"):
                source.add(f"if not {trigger}: return None")
                source.extend(mapping.lines())
                source.add(f"{within_budget}({{{mapped}}})")  # as `compile_mapping` checks it
                source.extend(fields)
                self._finish([key for key, _, _ in items])
            with source.block("except Exception:"):
                source.add("return FB")
        return source.text()

    # -- clean, coerce, validate (providers.payload.prepare) --------------------------------

    def _prepare(self, mapping: MappingCode, items: list[tuple[Any, str, bool]]) -> list[str]:
        """Statements leaving each mapped key's cleaned value in `f_<n>` (U when left out);
        anything `prepare` would coerce or report returns FB."""
        plan = compiled_action(self.sub.action)
        lines: list[str] = []
        self.values: dict[Any, str] = {}
        for key, expression, _ in items:
            name = self.source.name("f")
            self.values[key] = name
            lines.append(f"{name} = {expression}")
            compiled = plan.fields.get(key)
            if compiled is None:  # not a field of the action: `prepare` drops it
                lines.append(f"{name} = U")
                continue
            spec = compiled.spec
            absent = "None" if spec.allow_null else "U"
            lines.append(f"if {name} is U: pass")
            lines.append(f"elif {name} is None: {name} = {absent}")
            lines.append(f"elif {name} == '': {name} = U")  # as `prepare` drops it
            check = _inline_check(spec, name)
            if check is not None:
                lines.append(f"elif not ({check}): return FB")
                if spec.type is FieldType.OBJECT and compiled.coerce is not None:
                    prune = self.source.bind(compiled.coerce, "prune")  # undeclared keys
                    lines.append(f"else: {name} = {prune}({name})")
            else:
                valid = self.source.bind(compiled.valid, "valid") if compiled.valid else None
                coerce = self.source.bind(compiled.coerce, "coerce") if compiled.coerce else None
                with_coercion = f"{coerce}({name})" if coerce else name
                lines.append("else:")
                lines.append(f"    {name} = {with_coercion}")
                if valid is not None:
                    lines.append(f"    if not {valid}({name}): return FB")
        for required in plan.required:
            if required not in self.values:
                lines.append("return FB")  # a required field is never mapped
                break
            lines.append(f"if {self.values[required]} is U: return FB")
        return lines

    # -- the request -------------------------------------------------------------------------

    def _finish(self, keys: list[Any]) -> None:
        source = self.source
        shape = self.shape
        if isinstance(shape, shapes.Shape):
            self._identifier(shape.needs_one_of)
            message = self._entries(shape.entries)
            self._body(message, shape.max_bytes)
            return
        payload = source.name("payload")
        source.add(f"{payload} = {{}}")
        for key in keys:
            value = self.values[key]
            source.add(f"if {value} is not U: {payload}[{key!r}] = {value}")
        if isinstance(shape, shapes.Built):
            self._identifier(shape.needs_one_of)
            build = source.bind(shape.build, "build")
            self._body(f"{build}({payload})", shape.max_bytes)
            return
        # No declared shape: the action's own check and plan, as `evaluate` runs them.
        action = self.sub.action
        settings = source.bind(self.ctx.settings, "settings")
        warnings = "()"
        if action.check is not None:
            check = source.bind(action.check, "check")
            error = source.bind(_has_error, "has_error")
            source.add(f"problems = {check}({payload}, {settings})")
            source.add(f"if {error}(problems): return FB")
            warnings = "tuple(problems)"
        plan = source.bind(planned, "planned")
        sub = source.bind(self.sub, "sub")
        ctx = source.bind(self.ctx, "ctx")
        source.add(f"return {plan}({sub}, {payload}, {warnings}, {ctx})")

    def _identifier(self, needs_one_of: tuple[str, ...]) -> None:
        present = [self.values[name] for name in needs_one_of if name in self.values]
        if not present:
            self.source.add("return FB")
        else:
            self.source.add(f"if not ({' or '.join(present)}): return FB")

    def _body(self, message: str, max_bytes: int) -> None:
        dumps = self.source.bind(jsonwire.dumps, "dumps")
        self.source.add(f"body = {dumps}({message})")
        self.source.add(f"if len(body) > {max_bytes}: return FB")
        self.source.add("return body" if self.bodies else "return len(body)")

    def _entries(self, entries: tuple[shapes.Entry, ...]) -> str:
        source = self.source
        name = source.name("msg")
        source.add(f"{name} = {{}}")
        for entry in entries:
            key = repr(entry.key)
            if isinstance(entry, shapes.Fixed):
                source.add(f"{name}[{key}] = {source.bind(entry.value, 'fixed')}")
            elif isinstance(entry, shapes.Nested):
                source.add(f"{name}[{key}] = {self._entries(entry.entries)}")
            elif isinstance(entry, shapes.Pick):
                value = self.values.get(entry.field)
                if value is not None:
                    source.add(f"if {value} is not U: {name}[{key}] = {value}")
            elif isinstance(entry, shapes.Derived):
                value = self.values.get(entry.field)
                if value is None:  # never mapped: the rule's answer for "absent" is constant
                    fixed = source.bind(entry.rule(_ABSENT), "fixed")
                    source.add(f"{name}[{key}] = {fixed}")
                else:
                    rule = source.bind(entry.rule, "rule")
                    source.add(f"{name}[{key}] = {rule}({value})")
            else:
                self._always(name, key, entry)
        return name

    def _always(self, name: str, key: str, entry: shapes.Always) -> None:
        source = self.source
        value = self.values.get(entry.field)
        held = source.name("w")
        # An object field, so present means a dict: `dict(payload.get(field) or {})`.
        source.add(f"{held} = {{}} if {value} is U else {value}" if value else f"{held} = {{}}")
        for overlay_key, overlay_field in entry.overlay:
            extra = self.values.get(overlay_field)
            if extra is not None:
                with source.block(f"if {extra} is not U:"):
                    source.add(f"{held} = dict({held})")
                    source.add(f"{held}[{overlay_key!r}] = {extra}")
        source.add(f"{name}[{key}] = {held}")


_ABSENT: Any = shapes.UNDEFINED


def _has_error(problems: list[Any]) -> bool:
    return any(problem.is_error for problem in problems)


_SIMPLE_TYPES = {
    FieldType.STRING: "type({v}) is str",
    FieldType.NUMBER: "(type({v}) is int or type({v}) is float)",
    FieldType.INTEGER: "type({v}) is int",
    FieldType.BOOLEAN: "type({v}) is bool",
    FieldType.OBJECT: "type({v}) is dict",
}


def _simple(spec: Field) -> bool:
    return (
        spec.type in _SIMPLE_TYPES
        and not spec.multiple
        and spec.enum is None
        and spec.format is None
        and spec.max_length is None
        and spec.minimum is None
        and spec.maximum is None
    )


def _inline_check(spec: Field, name: str) -> str | None:
    """`valid(value)` of `prepare` for a value of the field's own type, as an expression; None
    where the field needs its compiled validator (and maybe coercion)."""
    if not _simple(spec):
        return None
    check = _SIMPLE_TYPES[spec.type].format(v=name)
    if not spec.properties:
        return check
    parts = [check]
    for child in spec.properties:
        if not _simple(child) or child.properties:
            return None
        child_check = _SIMPLE_TYPES[child.type].format(v=f"{name}[{child.name!r}]")
        if child.allow_null:
            child_check = f"({name}[{child.name!r}] is None or {child_check})"
        if child.required:
            parts.append(f"{child.name!r} in {name} and {child_check}")
        else:
            parts.append(f"({child.name!r} not in {name} or {child_check})")
    return " and ".join(parts)
