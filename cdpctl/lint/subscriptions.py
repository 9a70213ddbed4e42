"""Rules about each subscription: action, fields, trigger and mapping directives."""

from __future__ import annotations

import difflib

from cdpctl import codes, mapping, triggers
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.loading import Document
from cdpctl.providers import get_provider
from cdpctl.providers.base import Provider


def check(document: Document) -> list[Diagnostic]:
    provider = get_provider(document.data["destination"]["provider"])
    assert provider is not None
    found: list[Diagnostic] = []
    seen_names: dict[str, int] = {}
    for index, item in enumerate(document.data["subscriptions"]):
        base = ("subscriptions", index)
        name = item["name"]
        if name in seen_names:
            found.append(
                document.diagnostic(
                    codes.DUPLICATE_SUBSCRIPTION_NAME,
                    f'subscription name "{name}" is already used by subscription '
                    f"{seen_names[name] + 1}",
                    (*base, "name"),
                    hint="give every subscription a unique name",
                )
            )
        seen_names.setdefault(name, index)
        found.extend(_trigger(document, base, item["trigger"]))
        found.extend(_action_and_fields(document, provider, base, item))
        found.extend(_directives(document, base, item.get("mapping") or {}))
    return found


def _trigger(document: Document, base: tuple[str | int, ...], fql: str) -> list[Diagnostic]:
    where = (*base, "trigger")
    position = document.locate(where)
    try:
        parsed = triggers.parse(fql)
    except triggers.TriggerSyntaxError as error:
        return [
            Diagnostic(
                codes.INVALID_TRIGGER,
                f"invalid trigger: {error.message}",
                path=document.path,
                line=position.line,
                column=_trigger_column(document, where, error.column),
                json_path=where,
            )
        ]
    return [
        Diagnostic(
            codes.TRIGGER_CONDITION_DROPPED if warning.drops_condition else codes.TRIGGER_AMBIGUOUS,
            warning.message,
            severity=Severity.ERROR if warning.drops_condition else Severity.WARNING,
            path=document.path,
            line=position.line,
            column=_trigger_column(document, where, warning.column),
            json_path=where,
        )
        for warning in parsed.warnings
    ]


def _trigger_column(document: Document, where: tuple[str | int, ...], column: int) -> int:
    """Column in the file of `column` inside the trigger text (quoted scalars shift by one)."""
    position = document.locate(where)
    return position.column + column - 1 + (1 if position.quoted else 0)


def _action_and_fields(
    document: Document, provider: Provider, base: tuple[str | int, ...], item: dict
) -> list[Diagnostic]:
    action = provider.action(item["action"])
    if action is None:
        names = [a.name for a in provider.actions]
        guess = difflib.get_close_matches(item["action"], names, n=1)
        return [
            document.diagnostic(
                codes.UNKNOWN_ACTION,
                f'{provider.name} has no action "{item["action"]}"',
                (*base, "action"),
                hint=f'did you mean "{guess[0]}"?' if guess else "actions: " + ", ".join(names),
            )
        ]
    found: list[Diagnostic] = []
    user_mapping = item.get("mapping") or {}
    for key in user_mapping:
        if action.field(key) is None:
            guess = difflib.get_close_matches(key, action.field_names, n=1)
            found.append(
                document.diagnostic(
                    codes.UNKNOWN_FIELD,
                    f'{action.name} has no field "{key}"',
                    (*base, "mapping", key),
                    at_key=True,
                    hint=(
                        f'did you mean "{guess[0]}"?'
                        if guess
                        else "fields: " + ", ".join(action.field_names)
                    ),
                )
            )
    use_defaults = item.get("defaults", True)
    for spec in action.fields:
        if (
            spec.required
            and spec.name not in user_mapping
            and not (use_defaults and spec.has_default)
        ):
            found.append(
                document.diagnostic(
                    codes.REQUIRED_FIELD_UNMAPPED,
                    f'{action.name} requires the field "{spec.name}" ({spec.title}), '
                    "which is not mapped",
                    (*base, "mapping") if "mapping" in item else base,
                    at_key=True,
                    hint=f'add mapping.{spec.name}, e.g. {{"@path": "$.…"}}',
                )
            )
    return found


def _directives(
    document: Document, base: tuple[str | int, ...], user_mapping: dict
) -> list[Diagnostic]:
    found = []
    for problem in mapping.validate(user_mapping):
        where = (*base, "mapping", *problem.path)
        found.append(
            document.diagnostic(
                codes.INVALID_DIRECTIVE,
                f"invalid mapping: {problem.message}",
                where,
                at_key=bool(problem.path) and str(problem.path[-1]).startswith("@"),
                hint=problem.hint,
            )
        )
    return found
