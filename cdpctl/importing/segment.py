"""A Segment Public API export of a destination's subscriptions → a cdpctl mapping file.

Input: the body of `GET /destinations/{destinationId}/subscriptions`
(`ListSubscriptionsFromDestination`: `{"data": {"subscriptions": [...], "pagination": ...}}`),
the same without the `data` envelope, or a bare list of subscriptions. Each subscription
carries `id`, `name`, `actionId`, `actionSlug`, `destinationId`, `enabled`, `trigger` (FQL),
`settings` (the mapping-kit mapping) and `modelId` (Reverse ETL). A `destination` object next to
the subscriptions (the body of `GET /destinations/{id}`: `metadata.slug`, `name`, `settings`)
names the provider and its settings.

Triggers and mappings are kept exactly as they are. Segment applies a subscription's stored
mapping as it is — defaults only pre-fill the editor — so every subscription gets
`defaults: false`. Whatever cannot be carried over is listed, never dropped silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdpctl import jsonwire, mapping, triggers, yamltext
from cdpctl.providers import (
    get_provider,
    provider_for_segment_slug,
    provider_names,
    segment_slugs,
)
from cdpctl.providers.base import Action, Provider
from cdpctl.scaffold import choose_settings, env_name, todo_mapping

SEGMENT_INTERNAL_PREFIX = "__segment_internal"


class ExportError(Exception):
    """The export cannot be read or its provider cannot be told; one line, with a location."""


@dataclass(frozen=True, slots=True)
class SegmentSubscription:
    index: int
    id: str
    name: str
    action_slug: str
    action_id: str
    enabled: bool
    trigger: Any
    mapping: dict[str, Any]
    model_id: str

    @property
    def label(self) -> str:
        shown = f'"{self.name}"' if self.name else f"#{self.index + 1}"
        return f"subscription {shown}" + (f" ({self.id})" if self.id else "")


@dataclass(frozen=True, slots=True)
class SegmentExport:
    subscriptions: tuple[SegmentSubscription, ...]
    destination_slug: str | None = None
    destination_name: str | None = None
    destination_id: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportResult:
    provider: str
    text: str
    converted: int
    total: int
    not_converted: tuple[str, ...]
    variables: tuple[str, ...] = ()  # environment variables the settings refer to


# --- reading ---------------------------------------------------------------------------------


def parse_export(text: str, source: str) -> SegmentExport:
    """Read an export; raises ExportError for anything that is not one."""
    try:
        data = jsonwire.read(text, source)
    except jsonwire.JSONInputError as error:
        raise ExportError(str(error)) from None
    items, destination = _unwrap(data, source)
    if not items:
        raise ExportError(f"{source}: the export holds no subscriptions")
    subscriptions = tuple(_subscription(item, index, source) for index, item in enumerate(items))
    found = destination.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    settings = destination.get("settings")
    return SegmentExport(
        subscriptions,
        destination_slug=_text(metadata.get("slug")) or None,
        destination_name=_text(destination.get("name")) or None,
        destination_id=_text(destination.get("id")) or None,
        settings=settings if isinstance(settings, dict) else {},
    )


def _unwrap(data: Any, source: str) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict):
        inner = data.get("data")
        body: dict[str, Any] = inner if isinstance(inner, dict) else data
        destination = body.get("destination") or data.get("destination") or {}
        if not isinstance(destination, dict):
            raise ExportError(f"{source}: destination must be an object")
        items = body.get("subscriptions")
        if items is None:
            single = body.get("subscription") or body.get("destinationSubscription")
            items = [single] if single is not None else None
        if isinstance(items, list):
            return items, destination
    raise ExportError(
        f'{source}: not a Segment subscriptions export; expected {{"data": {{"subscriptions": '
        '[...]}}}} (ListSubscriptionsFromDestination), {"subscriptions": [...]} or a list'
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _subscription(item: Any, index: int, source: str) -> SegmentSubscription:
    where = f"{source}: subscriptions[{index}]"
    if not isinstance(item, dict):
        raise ExportError(f"{where} is not an object")
    settings = item.get("settings", {})
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ExportError(f"{where}.settings (the mapping) must be an object")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ExportError(f"{where}.enabled must be true or false")
    return SegmentSubscription(
        index=index,
        id=_text(item.get("id")),
        name=_text(item.get("name")).strip(),
        action_slug=_text(item.get("actionSlug")),
        action_id=_text(item.get("actionId")),
        enabled=enabled,
        trigger=item.get("trigger"),
        mapping=settings,
        model_id=_text(item.get("modelId")),
    )


# --- which provider --------------------------------------------------------------------------


def resolve_provider(export: SegmentExport, requested: str | None) -> Provider:
    """`requested` (a cdpctl provider or a Segment slug), else the export's destination slug,
    else the provider whose action names match the most action slugs."""
    known = ", ".join(provider_names())
    if requested:
        provider = get_provider(requested) or provider_for_segment_slug(requested)
        if provider is None:
            choices = [*provider_names(), *segment_slugs()]
            guess = difflib.get_close_matches(requested, choices, n=1, cutoff=0.5)
            hint = f' — did you mean "{guess[0]}"?' if guess else ""
            raise ExportError(
                f'--provider "{requested}" is neither a cdpctl provider nor a known Segment '
                f"destination slug{hint} (providers: {known})"
            )
        return provider
    if export.destination_slug:
        provider = provider_for_segment_slug(export.destination_slug)
        if provider is None:
            raise ExportError(
                f'Segment destination "{export.destination_slug}" has no cdpctl provider; '
                f"pass --provider if it is one of: {known}"
            )
        return provider
    slugs = {s.action_slug for s in export.subscriptions if s.action_slug}
    scores: dict[str, int] = {}
    for name in provider_names():
        provider = get_provider(name)
        if provider is not None:
            scores[name] = len(slugs & {a.name for a in provider.actions})
    best = max(scores.values(), default=0)
    winners = [name for name, score in scores.items() if score == best]
    if best == 0 or len(winners) > 1:
        shown = ", ".join(sorted(slugs)) or "none"
        raise ExportError(
            f"cannot tell the provider from the action slugs ({shown}); pass --provider "
            f"(one of: {known}, or a Segment destination slug)"
        )
    provider = get_provider(winners[0])
    assert provider is not None
    return provider


# --- converting ------------------------------------------------------------------------------


def find_action(provider: Provider, slug: str) -> Action | None:
    """The action named by Segment's `actionSlug` (the action's key in its destination)."""
    exact = provider.action(slug)
    if exact is not None:
        return exact
    folded = [a for a in provider.actions if a.name.lower() == slug.lower()]
    return folded[0] if len(folded) == 1 else None


@dataclass(slots=True)
class _Converted:
    name: str
    trigger: str
    action: Action
    enabled: bool
    mapping: dict[str, Any]
    source: SegmentSubscription
    notes: list[str]


def _convert_one(
    sub: SegmentSubscription, provider: Provider, not_converted: list[str]
) -> _Converted | None:
    action = find_action(provider, sub.action_slug)
    if action is None:
        names = ", ".join(a.name for a in provider.actions)
        slug = sub.action_slug or "(none)"
        not_converted.append(
            f'{sub.label}: action "{slug}" is not a {provider.name} action in cdpctl '
            f"(actions: {names}); subscription left out"
        )
        return None
    if not isinstance(sub.trigger, str) or not sub.trigger.strip():
        not_converted.append(f"{sub.label}: no trigger; subscription left out")
        return None
    try:
        triggers.parse(sub.trigger)
    except triggers.TriggerSyntaxError as error:
        not_converted.append(
            f"{sub.label}: trigger does not parse ({error.message}); subscription left out"
        )
        return None
    kept: dict[str, Any] = {}
    for key, value in sub.mapping.items():
        where = f'{sub.label}: field "{key}"'
        if key.startswith(SEGMENT_INTERNAL_PREFIX):
            not_converted.append(f"{where} is Segment-internal; left out")
        elif action.field(key) is None:
            not_converted.append(
                f"{where} is not a field of {provider.name}.{action.name} in cdpctl; left out"
            )
        elif problems := mapping.validate({key: value}):
            not_converted.append(f"{where}: {problems[0].message.rstrip('.')}; left out")
        else:
            kept[key] = value
    notes = []
    enabled = sub.enabled
    for spec in action.fields:
        if not spec.required or spec.name in kept:
            continue
        if spec.has_default:
            kept[spec.name] = spec.default
            not_converted.append(
                f'{sub.label}: required field "{spec.name}" is not in the export; cdpctl\'s '
                "default mapping written"
            )
            notes.append(f"{spec.name}: cdpctl's default mapping (not in the export)")
        else:
            kept[spec.name] = todo_mapping(spec, sub.trigger)
            not_converted.append(
                f'{sub.label}: required field "{spec.name}" is not in the export and has no '
                "default; mapped to a TODO stand-in and the subscription imported disabled"
            )
            notes.append(f"TODO: map {spec.name}; disabled by the import until then")
            enabled = False
    if sub.model_id:
        notes.append(
            f"Reverse ETL model {sub.model_id}: its trigger and paths refer to model columns"
        )
    return _Converted(sub.name or action.title, sub.trigger, action, enabled, kept, sub, notes)


def _destination_settings(
    export: SegmentExport, provider: Provider, actions: list[Action], not_converted: list[str]
) -> dict[str, Any]:
    settings = choose_settings(provider, actions)
    for key, value in export.settings.items():
        spec = provider.setting(key)
        if spec is None:
            not_converted.append(f'destination setting "{key}" has no cdpctl equivalent; left out')
        elif spec.secret or spec.credential:
            # never the literal: a credential written in the file is never redacted afterwards
            settings[key] = "${" + env_name(provider, key) + "}"
        elif spec.enum is not None and value not in spec.enum:
            not_converted.append(
                f'destination setting "{key}": {value!r} is not one of cdpctl\'s values; left out'
            )
        elif spec.pattern is not None and not (
            isinstance(value, str) and re.fullmatch(spec.pattern, value)
        ):
            not_converted.append(f'destination setting "{key}": {value!r} is not valid; left out')
        else:
            settings[key] = value
    return settings


def convert(
    export: SegmentExport,
    provider: Provider,
    *,
    source: str,
    schema_ref: str,
    link: tuple[str, str] | None = None,
) -> ImportResult:
    """The mapping file text and everything that could not be converted. With `link`
    (destination id, region: `cdpctl workspace pull`), the file names its Segment destination
    and each subscription its Segment `id:`."""
    not_converted: list[str] = []
    named = provider_for_segment_slug(export.destination_slug or "")
    if export.destination_slug and named is not None and named is not provider:
        not_converted.append(
            f'the export is for Segment destination "{export.destination_slug}", converted as '
            f"{provider.name} as asked"
        )
    converted = [c for s in export.subscriptions if (c := _convert_one(s, provider, not_converted))]
    if not converted:
        raise ExportError(
            f"{source}: none of {len(export.subscriptions)} subscription(s) could be converted "
            f"({not_converted[0]})"
        )
    settings = _destination_settings(export, provider, [c.action for c in converted], not_converted)
    _unique_names(converted, not_converted)
    text = _render(export, provider, converted, settings, not_converted, source, schema_ref, link)
    problems = _validation_errors(text, source, converted)
    if problems:  # say so in the file too, where the next reader looks
        not_converted.extend(problems)
        text = _render(
            export, provider, converted, settings, not_converted, source, schema_ref, link
        )
    return ImportResult(
        provider.name,
        text,
        len(converted),
        len(export.subscriptions),
        tuple(not_converted),
        _variables(settings),
    )


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _variables(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The environment variables the file's settings refer to, in order: what to set."""
    names = (
        found.group(1)
        for value in settings.values()
        if isinstance(value, str)
        for found in _REFERENCE.finditer(value)
    )
    return tuple(dict.fromkeys(names))


def _validation_errors(text: str, source: str, converted: list[_Converted]) -> list[str]:
    """What `cdpctl validate` will refuse in the imported file (a Segment trigger that FQL
    cannot parse, say): the import keeps Segment's text, and says it does not validate."""
    from cdpctl.lint import check_document
    from cdpctl.loading import LoadError, parse_yaml

    try:
        findings = check_document(parse_yaml(text, source))
    except LoadError as error:
        return [f"the imported file does not load: {error.diagnostic.full_message()}"]
    problems = []
    for finding in findings:
        if not finding.is_error:
            continue
        where = "the destination"
        path = finding.json_path
        if len(path) >= 2 and path[0] == "subscriptions" and isinstance(path[1], int):
            where = f'subscription "{converted[path[1]].name}"'
        problems.append(
            f"{where} does not validate: {finding.code} {finding.full_message()} (fix it, then "
            "run cdpctl validate)"
        )
    return problems


def _unique_names(converted: list[_Converted], not_converted: list[str]) -> None:
    """cdpctl keys its replay ledger by subscription name, so names must be unique."""
    seen: set[str] = set()
    for item in converted:
        name, n = item.name, 2
        while name in seen:
            name, n = f"{item.name} ({n})", n + 1
        if name != item.name:
            not_converted.append(f'{item.source.label}: name already used; renamed to "{name}"')
            item.name = name
        seen.add(name)


def _render(
    export: SegmentExport,
    provider: Provider,
    converted: list[_Converted],
    settings: dict[str, Any],
    not_converted: list[str],
    source: str,
    schema_ref: str,
    link: tuple[str, str] | None = None,
) -> str:
    lines = [f"# yaml-language-server: $schema={schema_ref}"]
    what = (
        f'Segment destination "{export.destination_name}"'
        if export.destination_name
        else "a Segment destination"
    )
    if export.destination_slug or export.destination_id:
        what += " (" + ", ".join(x for x in (export.destination_slug, export.destination_id) if x)
        what += ")"
    lines.extend(
        yamltext.comment(
            f"Imported by `cdpctl {'workspace pull' if link else 'import segment'}` from "
            f"{source}: {len(converted)} of "
            f"{len(export.subscriptions)} subscription(s) of {what}. Triggers and mappings are "
            "Segment's, unchanged; `defaults: false` because Segment applies the stored mapping "
            "alone.",
            0,
        )
    )
    if not_converted:
        lines.append(f"# Not converted ({len(not_converted)}):")
        for line in not_converted:
            lines.extend(yamltext.comment(f"- {line}", 0, hang=2))
    lines += ["version: 1", "destination:", f"  provider: {provider.name}"]
    if export.destination_name:
        lines.append(f"  name: {yamltext.plain_or_quoted(export.destination_name)}")
    if link is not None:
        lines += ["  segment:", f"    destination_id: {yamltext.plain_or_quoted(link[0])}"]
        lines.append(f"    region: {link[1]}")
    lines.append("  settings:" if settings else "  settings: {}")
    for spec in provider.settings:
        if spec.name in settings:
            lines.append(f"    {yamltext.key(spec.name)}: {yamltext.scalar(settings[spec.name])}")
    lines.append("subscriptions:")
    for index, item in enumerate(converted):
        if index:
            lines.append("")
        origin = [f"action {item.source.action_slug}"]
        if item.source.action_id:
            origin.append(f"actionId {item.source.action_id}")
        if item.source.id:
            origin.insert(0, f"Segment subscription {item.source.id}")
        lines.append(f"  - name: {yamltext.plain_or_quoted(item.name)}")
        if link is not None and item.source.id:
            lines.append(f"    id: {yamltext.plain_or_quoted(item.source.id)}")
            origin.pop(0)
        lines.extend(yamltext.comment(", ".join(origin), 4))
        for note in item.notes:
            lines.extend(yamltext.comment(note, 4))
        lines.append(f"    trigger: {yamltext.plain_or_quoted(item.trigger)}")
        lines.append(f"    action: {item.action.name}")
        lines.append(f"    enabled: {'true' if item.enabled else 'false'}")
        lines.append("    defaults: false")
        if item.mapping:
            lines.append("    mapping:")
            for key, value in item.mapping.items():
                lines.extend(yamltext.entry(key, value, 6))
        else:
            lines.append("    mapping: {}")
    return "\n".join(lines) + "\n"
