"""match → map → prepare → plan: one event through every subscription of a destination.

Everything here is compiled once per mapping file (`compile_destination`) and then applied to
any number of events; nothing here prints or sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdpctl import codes, mapping, triggers
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.mappingfile import MappingFile, effective_mapping
from cdpctl.providers import get_provider
from cdpctl.providers.base import (
    Action,
    ActionContext,
    ActionFailed,
    Plan,
    Provider,
    Reply,
    Request,
    Skip,
)
from cdpctl.providers.payload import prepare
from cdpctl.secrets import Redactor, ResolvedSettings, resolve_settings


class ConfigError(Exception):
    """A mapping file that cannot be compiled (it should have failed `cdpctl validate`)."""


@dataclass(frozen=True, slots=True)
class CompiledSubscription:
    index: int
    name: str
    action: Action
    trigger: str
    enabled: bool
    matches: Callable[[Mapping[str, Any]], bool]
    transform: Callable[[Any], Any]
    mapping: dict[str, Any]
    defaulted: tuple[str, ...]
    strips: (
        bool  # the mapping may yield undefined array slots or NaN (see mapping.may_leave_undefined)
    )


@dataclass(frozen=True, slots=True)
class Destination:
    """A mapping file compiled for rendering and delivery."""

    file: MappingFile
    provider: Provider
    subscriptions: tuple[CompiledSubscription, ...]
    settings: ResolvedSettings

    def redactor(self) -> Redactor:
        redactor = Redactor()
        redactor.extend(self.settings.secrets)
        return redactor

    def context(self, *, dry_run: bool) -> ActionContext:
        return ActionContext(settings=self.settings.values, dry_run=dry_run)


def compile_destination(file: MappingFile, environ: Mapping[str, str]) -> Destination:
    provider = get_provider(file.provider)
    if provider is None:
        raise ConfigError(f"{file.path}: unknown provider {file.provider!r}")
    compiled = []
    for sub in file.subscriptions:
        action = provider.action(sub.action)
        if action is None:
            raise ConfigError(f"{file.path}: {provider.name} has no action {sub.action!r}")
        effective, defaulted = effective_mapping(action, sub.mapping, sub.use_defaults)
        try:
            predicate = _never_raising(triggers.compile_trigger(sub.trigger))
            transform = mapping.compile_mapping(effective)
        except (triggers.TriggerSyntaxError, mapping.MappingError) as error:
            raise ConfigError(f"{file.path}: subscription {sub.name!r}: {error}") from error
        compiled.append(
            CompiledSubscription(
                index=sub.index,
                name=sub.name,
                action=action,
                trigger=sub.trigger,
                enabled=sub.enabled,
                matches=predicate,
                transform=transform,
                mapping=effective,
                defaulted=defaulted,
                strips=mapping.may_leave_undefined(effective),
            )
        )
    settings = resolve_settings(provider, file.settings, environ)
    return Destination(file, provider, tuple(compiled), settings)


def _never_raising(
    predicate: Callable[[Mapping[str, Any]], bool],
) -> Callable[[Mapping[str, Any]], bool]:
    """Where Segment's matcher throws (odd triggers on odd events), the event does not match."""

    def matches(event: Mapping[str, Any]) -> bool:
        try:
            return predicate(event)
        except triggers.TriggerEvaluationError:
            return False

    return matches


@dataclass(slots=True)
class SubscriptionResult:
    subscription: CompiledSubscription
    matched: bool
    reason: str | None = None  # why it did not match, or why nothing is sent
    payload: dict[str, Any] | None = None
    errors: list[Diagnostic] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(e.severity is Severity.ERROR for e in self.errors)

    @property
    def sendable(self) -> bool:
        return self.matched and self.payload is not None and not self.has_errors


def map_event(
    sub: CompiledSubscription, event: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """Apply a subscription's mapping and the framework's clean/coerce/validate step."""
    try:
        mapped = sub.transform(event)
        if sub.strips:
            mapped = mapping.strip_undefined(mapped)
    except mapping.MappingError as error:
        return None, [Diagnostic(codes.MAPPING_RUNTIME, f"mapping failed: {error}")]
    if not isinstance(mapped, dict):
        return None, [Diagnostic(codes.MAPPING_RUNTIME, "mapping did not produce an object")]
    return prepare(sub.action, mapped, settings)


def render_event(
    destination: Destination, event: Mapping[str, Any], ctx: ActionContext, *, explain: bool = True
) -> list[SubscriptionResult]:
    """Every subscription's verdict for one event, with the requests a dry run would send."""
    results = []
    for sub in destination.subscriptions:
        if not sub.enabled:
            results.append(SubscriptionResult(sub, False, "subscription is disabled"))
            continue
        if not sub.matches(event):
            reason = triggers.explain(sub.trigger, event) if explain else None
            results.append(SubscriptionResult(sub, False, reason))
            continue
        payload, errors = map_event(sub, event, ctx.settings)
        result = SubscriptionResult(sub, True, payload=payload, errors=errors)
        if result.sendable and payload is not None:
            try:
                result.requests = dry_run(sub.action.plan(payload, ctx))
            except Skip as skip:
                result.reason = skip.reason
            except ActionFailed as failure:
                result.errors.append(Diagnostic(codes.PAYLOAD_RULE, failure.reason))
        results.append(result)
    return results


def dry_run(plan: Plan) -> list[Request]:
    """Drive a plan with each request's declared dry-run reply; return every request yielded."""
    requests: list[Request] = []
    try:
        request = next(plan)
        while True:
            requests.append(request)
            reply = request.dry_run_reply or Reply(200, {})
            request = plan.send(reply)
    except StopIteration:
        pass
    return requests
