"""Events checked against a tracking plan, fast enough for the replay hot path.

Each plan event's sections are compiled once with jsonschema-rs (chosen by measurement:
bench/plans.py). `violations` asks only the cheap question — is every section valid? — and
walks the errors for the located details only when an event breaks its plan, which on real
archives is the rare case.

An event of a call type the plan has no rule for is not checked (a plan of track events says
nothing about identify calls); one of a covered call type that no rule matches is unplanned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import jsonschema_rs

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.plans.formats import PlanError
from cdpctl.plans.model import PlanEvent, TrackingPlan

#: Distinct (call type, name) pairs remembered; an archive of random event names stops there.
MAX_REMEMBERED: Final = 10_000
_EMPTY: Final[dict[str, Any]] = {}
_NAMED: Final = {"track": "event", "page": "name", "screen": "name"}
_CODES: Final = {
    "Required": codes.PLAN_PROPERTY_MISSING,
    "AdditionalProperties": codes.UNPLANNED_PROPERTY,
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    event: PlanEvent
    sections: tuple[tuple[str, Any], ...]  # (section, jsonschema_rs validator)


class PlanChecker:
    """`violations(event)` lists how one Segment event breaks the plan (empty: it conforms)."""

    def __init__(self, plan: TrackingPlan) -> None:
        self.plan = plan
        self._compiled = {event.key: _compile(event) for event in plan.events}
        self._covered = plan.call_types
        self._resolved: dict[tuple[Any, Any], _Compiled | None] = {}

    def __reduce__(self) -> tuple[type[PlanChecker], tuple[TrackingPlan]]:
        # Compiled validators do not pickle: a Dask worker compiles the plan again.
        return (PlanChecker, (self.plan,))

    def violations(self, event: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
        call_type = event.get("type")
        field = _NAMED.get(call_type) if type(call_type) is str else None
        name = event.get(field) if field is not None else None
        key = (call_type, name)
        try:
            compiled = self._resolved[key]
        except (KeyError, TypeError):
            compiled = self._resolve(call_type, name)
        if compiled is None:
            if call_type in self._covered:
                return (_unplanned(call_type, field, name),)
            return ()
        for section, validator in compiled.sections:
            value = event.get(section)
            if not validator.is_valid(_EMPTY if value is None else value):
                return self._details(compiled, event)
        return ()

    def _resolve(self, call_type: Any, name: Any) -> _Compiled | None:
        found = None
        if isinstance(call_type, str) and (name is None or isinstance(name, str)):
            own = self._compiled.get((call_type, name))
            found = own if own is not None else self._compiled.get((call_type, None))
            if len(self._resolved) < MAX_REMEMBERED:
                self._resolved[(call_type, name)] = found
        return found

    def _details(self, compiled: _Compiled, event: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
        found = []
        for section, validator in compiled.sections:
            value = event.get(section)
            for error in validator.iter_errors(_EMPTY if value is None else value):
                found.append(_diagnostic(compiled.event, section, error))
        return tuple(found)


def _compile(event: PlanEvent) -> _Compiled:
    sections = []
    for section, schema in event.schemas.items():
        try:
            validator = jsonschema_rs.validator_for(
                dict(schema), validate_formats=True, offline=True
            )
        except ValueError as error:
            reason = str(error).split("\n", 1)[0]
            inside = [str(p) for p in getattr(error, "instance_path", None) or ()]
            if inside:
                reason = f"{'.'.join(inside)}: {reason}"
            raise PlanError(
                Diagnostic(
                    codes.PLAN_UNREADABLE,
                    f"the JSON Schema of {section} for {event.label} is invalid: {reason}",
                    path=event.source,
                    line=event.line,
                    column=1 if event.line is not None else None,
                )
            ) from None
        sections.append((section, validator))
    return _Compiled(event, tuple(sections))


def _unplanned(call_type: str, field: str | None, name: Any) -> Diagnostic:
    if field is None or name is None:
        what = f"{call_type} events"
    else:
        what = f'the {call_type} event "{name}"' if isinstance(name, str) else f"this {call_type}"
    return Diagnostic(
        codes.UNPLANNED_EVENT,
        f"the tracking plan does not define {what}",
        json_path=(field,) if field is not None else ("type",),
        hint="add it to the tracking plan, or fix the event name",
    )


def _diagnostic(event: PlanEvent, section: str, error: Any) -> Diagnostic:
    kind = type(error.kind).__name__
    where: tuple[str | int, ...] = (section, *error.instance_path)
    code = _CODES.get(kind, codes.PLAN_PROPERTY_INVALID)
    if kind == "Required":
        where = (*where, str(error.kind.property))
        message = f"{_dotted(where)} is required by the plan for {event.label}"
    elif kind == "AdditionalProperties":
        unexpected = ", ".join(str(key) for key in error.kind.unexpected)
        message = (
            f"{_dotted(where)} has {unexpected}, which the plan for {event.label} does not allow"
        )
    else:
        message = f"{_dotted(where)}: {error.message} (plan for {event.label})"
    return Diagnostic(code, message, Severity.ERROR, json_path=where)


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(
        f"[{p}]" if isinstance(p, int) else ("." if i else "") + p for i, p in enumerate(path)
    )
