"""`cdpctl providers`, `cdpctl actions PROVIDER`, `cdpctl fields PROVIDER ACTION` — what each
provider offers, read from the provider modules."""

from __future__ import annotations

import typer

from cdpctl.cli.common import check_choice, fail

FORMATS = ("text", "json")
FORMAT_OPTION = typer.Option("text", "--format", "-f", help="Output: text or json.")


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

    typer.echo(jsonwire.dumps_text(value))


def providers_command(output_format: str = FORMAT_OPTION) -> None:
    """List the providers: name, title, number of actions, default rate limit, docs page."""
    from cdpctl import catalog

    check_choice(output_format, FORMATS, "--format")
    providers = catalog.all_providers()
    if output_format == "json":
        _echo_json([catalog.provider_row(p) for p in providers])
    else:
        typer.echo(catalog.providers_text(providers), nl=False)


def actions_command(provider: str = PROVIDER_ARGUMENT, output_format: str = FORMAT_OPTION) -> None:
    """List a provider's actions: name, title, batching and default trigger."""
    from cdpctl import catalog

    check_choice(output_format, FORMATS, "--format")
    try:
        spec = catalog.find_provider(provider)
    except catalog.LookupFailed as error:
        fail(str(error))
    if output_format == "json":
        _echo_json([catalog.action_row(a) for a in spec.actions])
    else:
        typer.echo(catalog.actions_text(spec), nl=False)


def fields_command(
    provider: str = PROVIDER_ARGUMENT,
    action: str = typer.Argument(
        ...,
        metavar="ACTION",
        help="An action of PROVIDER (see `cdpctl actions PROVIDER`).",
        autocompletion=complete_action,
    ),
    output_format: str = FORMAT_OPTION,
) -> None:
    """List an action's fields: type, required, default mapping, constraints, description."""
    from cdpctl import catalog

    check_choice(output_format, FORMATS, "--format")
    try:
        spec = catalog.find_provider(provider)
        act = catalog.find_action(spec, action)
    except catalog.LookupFailed as error:
        fail(str(error))
    if output_format == "json":
        _echo_json(
            {
                "provider": spec.name,
                **catalog.action_row(act),
                "fields": [catalog.field_row(f) for f in act.fields],
            }
        )
    else:
        typer.echo(catalog.fields_text(spec, act), nl=False)
