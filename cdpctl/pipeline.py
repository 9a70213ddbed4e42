"""load → compile → match → map → prepare → plan: one event's verdict for one subscription.

`evaluate` is the one place an event is judged: each subscription compiles into one generated
function (cdpctl.compiler) that runs these steps. test-event, send, diff, dry-run replay and live
replay all call it, so what a dry run shows is what live mode sends: live mode delivers exactly
the `Ready` verdicts, through the plan the dry run drove. Everything here is compiled once per
mapping file (`load_destination`) and then applied to any number of events; nothing here prints
or sends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from cdpctl import codes, jsonwire, mapping, triggers
from cdpctl.compiler import Judge, mapped_keys, write_judge
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.mappingfile import MappingFile, effective_mapping
from cdpctl.providers import get_provider
from cdpctl.providers.base import (
    Action,
    ActionContext,
    ActionFailed,
    Provider,
    Reply,
    Request,
    RequestPlan,
    Skip,
)
from cdpctl.providers.layouts import compile_layout
from cdpctl.providers.payload import Preparer, prepare, preparer
from cdpctl.secrets import Redactor, ResolvedSettings, resolve_settings

#: Share of a provider's documented rate limit a run uses unless told otherwise. Requests leave
#: on schedule but arrive with jitter, and a limit enforced as a token bucket refuses one that
#: lands a few milliseconds early: at 90% the default pace is never refused.
DEFAULT_PACE_SHARE = 0.9


class DestinationError(Exception):
    """A mapping file that cannot be used: unreadable, invalid, or not compilable.

    `diagnostics` holds every error found (empty when `str(error)` says it all)."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class CompiledSubscription:
    index: int
    name: str
    action: Action
    trigger: str
    enabled: bool
    # The subscription's generated judge (cdpctl.compiler): `judge(event, ctx, sized=False)`
    # answers None (no match), a Verdict, or with `sized` an int (see `finish`).
    judge: Judge
    event_type: str | None  # the only event type its trigger can match, if it requires one
    mapping: dict[str, Any]
    defaulted: tuple[str, ...]
    trigger_warnings: tuple[triggers.TriggerWarning, ...] = ()  # what Segment reads differently
    # The file's optional `id:` (the subscription's Segment id): an identity that survives a
    # rename, unlike `name`. None when the file gives none.
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Destination:
    """A mapping file compiled for judging and delivery."""

    file: MappingFile
    provider: Provider
    subscriptions: tuple[CompiledSubscription, ...]
    settings: ResolvedSettings

    def redactor(self) -> Redactor:
        redactor = Redactor()
        redactor.extend(self.settings.secrets)
        # An unset ${NAME} stays in the request as its own text; show it in that token form
        # wherever it went, not URL- or form-encoded (client_id=%24%7BSFMC_CLIENT_ID%7D).
        for name in self.settings.missing:
            reference = "${" + name + "}"
            redactor.add(reference, reference)
        return redactor

    def context(self, *, dry_run: bool) -> ActionContext:
        return ActionContext(settings=self.settings.values, dry_run=dry_run)

    @property
    def rate_limit(self) -> float:
        """Requests per second: the mapping file's, else the provider's documented limit."""
        return self.file.rate_limit or self.provider.rate_limit.requests_per_second

    def paced_rate(self, rate: float | None = None, headroom: float = 0.0) -> float:
        """Requests per second a run may use: `rate`, else the mapping file's limit, else
        DEFAULT_PACE_SHARE of the provider's documented one; less the share `headroom` left
        for live traffic."""
        chosen = rate or self.file.rate_limit
        if not chosen:
            chosen = self.provider.rate_limit.requests_per_second * DEFAULT_PACE_SHARE
        return chosen * (1 - headroom)


def load_destination(path: str, environ: Mapping[str, str] | None = None) -> Destination:
    """Load, check and compile a mapping file. Raises DestinationError with every error."""
    from cdpctl.lint import check_document
    from cdpctl.loading import LoadError, load_yaml
    from cdpctl.mappingfile import read_mapping_file

    if not os.path.exists(path):
        raise DestinationError(f"no such mapping file: {path}")
    try:
        document = load_yaml(path)
    except LoadError as error:
        raise DestinationError(
            f"{error.diagnostic.location()}: {error.diagnostic.code} "
            f"{error.diagnostic.full_message()}"
        ) from None
    errors = tuple(d for d in check_document(document) if d.is_error)
    if errors:
        raise DestinationError(
            f"{path} is not a valid mapping file; fix the errors above (see `cdpctl validate`)",
            errors,
        )
    return compile_destination(
        read_mapping_file(document), os.environ if environ is None else environ
    )


def compile_destination(file: MappingFile, environ: Mapping[str, str]) -> Destination:
    provider = get_provider(file.provider)
    if provider is None:
        raise DestinationError(f"{file.path}: unknown provider {file.provider!r}")
    settings = resolve_settings(provider, file.settings, environ)
    # A body counted by size alone (`finish`) needs settings under which the plan sends it.
    settings_usable = not (provider.check_settings and provider.check_settings(settings.values))
    compiled = []
    for sub in file.subscriptions:
        action = provider.action(sub.action)
        if action is None:
            raise DestinationError(f"{file.path}: {provider.name} has no action {sub.action!r}")
        effective, defaulted = effective_mapping(action, sub.mapping, sub.use_defaults)
        try:
            parsed = triggers.parse(sub.trigger)
            transform = mapping.compile_mapping(effective)
        except (triggers.TriggerSyntaxError, mapping.MappingError) as error:
            raise DestinationError(f"{file.path}: subscription {sub.name!r}: {error}") from error
        keys = mapped_keys(effective)
        prepare_mapped = partial(prepare, action) if keys is None else preparer(action, keys)
        message = None
        if settings_usable and action.layout is not None:
            fields = frozenset(keys) if keys is not None else None
            message = compile_layout(f"{action.name} {sub.name}", action.layout, fields)
        judge = write_judge(
            sub.name,
            parsed.root,
            effective,
            transform,
            mapping.may_leave_undefined(effective),
            refused,
            partial(finish, prepare_mapped, action, message),
        )
        compiled.append(
            CompiledSubscription(
                index=sub.index,
                name=sub.name,
                action=action,
                trigger=sub.trigger,
                enabled=sub.enabled,
                judge=judge.function,
                event_type=judge.event_type,
                mapping=effective,
                defaulted=defaulted,
                trigger_warnings=parsed.warnings,
                id=sub.id,
            )
        )
    return Destination(file, provider, tuple(compiled), settings)


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disabled:
    """The subscription is switched off in the mapping file."""


@dataclass(frozen=True, slots=True)
class NoMatch:
    explain: str | None = None  # why the trigger is false for this event (when asked)


@dataclass(frozen=True, slots=True)
class Invalid:
    """Matched, but the mapped payload cannot be sent; nothing goes out."""

    diagnostics: tuple[Diagnostic, ...]  # errors first, then warnings
    payload: dict[str, Any] | None = None  # None when the mapping itself failed


@dataclass(frozen=True, slots=True)
class Skipped:
    """Matched and valid, but by the provider's rules there is nothing to send."""

    reason: str
    payload: dict[str, Any]
    warnings: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class Ready:
    """Matched and valid: these requests go out (a live run drives the same plan for real)."""

    payload: dict[str, Any]
    requests: tuple[Request, ...]
    warnings: tuple[Diagnostic, ...] = ()


Verdict = Disabled | NoMatch | Invalid | Skipped | Ready

DISABLED = Disabled()
NO_MATCH = NoMatch()


def evaluate(
    sub: CompiledSubscription,
    event: Mapping[str, Any],
    ctx: ActionContext,
    *,
    explain: bool = False,
) -> Verdict:
    """Judge one event for one subscription: a call of its compiled judge, the only
    implementation of this step."""
    if not sub.enabled:
        return DISABLED
    verdict: Verdict | None = sub.judge(event, ctx)
    if verdict is None:
        return NoMatch(triggers.explain(sub.trigger, event)) if explain else NO_MATCH
    return verdict


def finish(
    prepare_mapped: Preparer,
    action: Action,
    message: Callable[[Mapping[str, Any]], Any] | None,
    mapped: Any,
    ctx: ActionContext,
    sized: bool,
) -> Verdict | int:
    """The judgement of a mapped event, after its mapping: the framework's clean/coerce/
    validate step (`prepare_mapped`: `payload.prepare` for the mapping's keys) with the
    action's check, then its plan. With `sized`, a valid event without
    warnings whose action declares its one request's body (`message`: built from the action's
    layout, for the fields the mapping can write) is answered by the
    body's size instead of a `Ready` (the dry run counts millions of them)."""
    if type(mapped) is not dict:
        return Invalid((Diagnostic(codes.MAPPING_RUNTIME, "mapping did not produce an object"),))
    payload, problems = prepare_mapped(mapped, ctx.settings)
    if problems:
        if any(p.severity is Severity.ERROR for p in problems):
            return Invalid(_errors_first(problems), payload)
        return planned(action, payload, tuple(problems), ctx)
    if sized and message is not None:
        return len(jsonwire.dumps(message(payload)))
    return planned(action, payload, (), ctx)


def planned(
    action: Action,
    payload: dict[str, Any],
    warnings: tuple[Diagnostic, ...],
    ctx: ActionContext,
) -> Verdict:
    """The last step of a judgement, for a valid payload: its plan's requests, or why none."""
    try:
        requests = dry_run(action.plan(payload, ctx))
    except Skip as skip:
        return Skipped(skip.reason, payload, warnings)
    except ActionFailed as failure:
        return Invalid((Diagnostic(codes.PAYLOAD_RULE, failure.reason), *warnings), payload)
    return Ready(payload, tuple(requests), warnings)


def evaluate_all(
    destination: Destination, event: Mapping[str, Any], ctx: ActionContext, *, explain: bool
) -> list[tuple[CompiledSubscription, Verdict]]:
    """Every subscription's verdict for one event, in file order (test-event, send, diff)."""
    return [(sub, evaluate(sub, event, ctx, explain=explain)) for sub in destination.subscriptions]


def refused(error: mapping.MappingError) -> Invalid:
    """The verdict for an event whose mapping fails or outgrows the budgets."""
    if isinstance(error, mapping.BudgetExceeded):
        return Invalid(
            (
                Diagnostic(
                    codes.EXPRESSION_BUDGET,
                    f"refused: {error.rule()}",
                    json_path=error.field,
                    hint="; ".join(
                        filter(None, (error.reached(), "see Budgets in docs/mapping-language.md"))
                    ),
                ),
            )
        )
    return Invalid((Diagnostic(codes.MAPPING_RUNTIME, f"mapping failed: {error}"),))


def dry_run(plan: RequestPlan) -> list[Request]:
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


def _errors_first(problems: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(problems, key=lambda p: p.severity is not Severity.ERROR))
