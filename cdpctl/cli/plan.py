"""`cdpctl plan show PLAN` — the tracking plan as cdpctl reads it."""

from __future__ import annotations

import typer

from cdpctl.cli.common import (
    COLOR_OPTION,
    color_choice,
    emit,
    format_option,
    load_plan_or_exit,
    output_format,
)
from cdpctl.cli.help import command_help

FORMATS = ("text", "json")

app = typer.Typer(
    help="Tracking plans: see what cdpctl reads from one (validate --plan checks mappings "
    "against it).",
    short_help="Show a tracking plan as cdpctl reads it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("show", **command_help("plan show"))
def show(
    plan: str = typer.Argument(
        ...,
        metavar="PLAN",
        help="A Segment Protocols rules export, an Avo export, a RudderStack tracking-plan "
        "YAML or project folder, or a folder of Snowplow Iglu schemas.",
    ),
    format_flag: str | None = format_option(FORMATS),
    color: str | None = COLOR_OPTION,
) -> None:
    """Print the plan's events and their declared properties: type, required, format and
    allowed values. An unreadable plan is one located error and exit 2."""
    from cdpctl import jsonwire
    from cdpctl.output.terminal import escape
    from cdpctl.plans.show import plan_row, plan_text

    chosen = output_format(format_flag, FORMATS)
    loaded = load_plan_or_exit(plan)
    if chosen == "json":
        emit(jsonwire.dumps_text(plan_row(loaded)) + "\n", chosen)
        return
    colored = color_choice(color)
    heading, _, rest = plan_text(loaded, escape).partition("\n")
    if colored:
        heading = typer.style(heading, bold=True)
    typer.echo(f"{heading}\n{rest}", nl=False, color=colored)
