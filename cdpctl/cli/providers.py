"""`cdpctl providers`, `cdpctl actions PROVIDER`, `cdpctl fields PROVIDER ACTION` — what each
provider offers, read from the provider modules."""

from __future__ import annotations

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    color_choice,
    emit,
    fail,
    format_option,
    output_format,
)

FORMATS = ("text", "json")
FORMAT_OPTION = format_option(FORMATS)


def complete_provider(incomplete: str) -> list[str]:
    from cdpctl.providers import provider_names

    return [name for name in provider_names() if name.startswith(incomplete)]


def complete_action(ctx: typer.Context, incomplete: str) -> list[str]:
    from cdpctl.providers import get_provider

    provider = get_provider(str(ctx.params.get("provider") or ""))
    if provider is None:
        return []
    return [a.name for a in provider.actions if a.name.startswith(incomplete)]


PROVIDER_ARGUMENT = typer.Argument(
    ...,
    metavar="PROVIDER",
    help="A provider name (see `cdpctl providers`).",
    autocompletion=complete_provider,
)


def _echo_json(value: object) -> None:
    from cdpctl import jsonwire

    emit(jsonwire.dumps_text(value) + "\n", "json")


def _echo_text(text: str, color: str | None) -> None:
    """A table or listing; with colour its heading line is bold."""
    colored = color_choice(color)
    heading, _, rest = text.partition("\n")
    if colored:
        heading = typer.style(heading, bold=True)
    typer.echo(f"{heading}\n{rest}", nl=False, color=colored)


def providers_command(
    format_flag: str | None = FORMAT_OPTION, color: str | None = COLOR_OPTION
) -> None:
    """List the providers: name, title, number of actions, default rate limit, docs page."""
    from cdpctl import catalog

    chosen = output_format(format_flag, FORMATS)
    providers = catalog.all_providers()
    if chosen == "json":
        _echo_json([catalog.provider_row(p) for p in providers])
    else:
        _echo_text(catalog.providers_text(providers), color)


def actions_command(
    provider: str = PROVIDER_ARGUMENT,
    format_flag: str | None = FORMAT_OPTION,
    color: str | None = COLOR_OPTION,
) -> None:
    """List a provider's actions: name, title, batching and default trigger."""
    from cdpctl import catalog

    chosen = output_format(format_flag, FORMATS)
    try:
        spec = catalog.find_provider(provider)
    except catalog.LookupFailed as error:
        fail(str(error))
    if chosen == "json":
        _echo_json([catalog.action_row(a) for a in spec.actions])
    else:
        _echo_text(catalog.actions_text(spec), color)


def fields_command(
    provider: str = PROVIDER_ARGUMENT,
    action: str = typer.Argument(
        ...,
        metavar="ACTION",
        help="An action of PROVIDER (see `cdpctl actions PROVIDER`).",
        autocompletion=complete_action,
    ),
    format_flag: str | None = FORMAT_OPTION,
    color: str | None = COLOR_OPTION,
) -> None:
    """List an action's fields: type, required, default mapping, constraints, description."""
    from cdpctl import catalog

    chosen = output_format(format_flag, FORMATS)
    try:
        spec = catalog.find_provider(provider)
        act = catalog.find_action(spec, action)
    except catalog.LookupFailed as error:
        fail(str(error))
    if chosen == "json":
        _echo_json(
            {
                "provider": spec.name,
                **catalog.action_row(act),
                "fields": [catalog.field_row(f) for f in act.fields],
            }
        )
    else:
        _echo_text(catalog.fields_text(spec, act), color)
