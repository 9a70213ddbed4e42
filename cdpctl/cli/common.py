"""Small helpers shared by the commands (exit codes, errors, output format options)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from cdpctl.config import ProjectConfig
    from cdpctl.delivery.engine import PlanGate
    from cdpctl.pipeline import Destination
    from cdpctl.plans import TrackingPlan

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 2
EXIT_INTERRUPTED = 130
COLORS = ("auto", "always", "never")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with `code`. The message is one line whatever it quotes:
    control characters and newlines in it (a file name, a provider's answer) are escaped."""
    from cdpctl.output.terminal import escape

    sys.stderr.write(f"cdpctl: {escape(message)}\n")
    raise SystemExit(code)


def note(message: str) -> None:
    """One line of information on stderr (what was written, what was not converted): one line
    whatever the file names or values it quotes hold (cdpctl.output.terminal.escape)."""
    from cdpctl.output.terminal import escape

    sys.stderr.write(escape(message) + "\n")
    sys.stderr.flush()


def use_color(choice: str | None, stream: object = None, configured: str | None = None) -> bool:
    """--color beats CDPCTL_COLOR, which beats NO_COLOR/FORCE_COLOR, which beat the project
    config (`configured`), which beats terminal detection. "auto" hands over to detection.
    The answer is also what the stream's terminal guard lets through (colour codes or none)."""
    from cdpctl.output.terminal import set_colour

    stream = sys.stdout if stream is None else stream
    colour = _use_color(choice, stream, configured)
    set_colour(stream, colour)
    return colour


def _use_color(choice: str | None, stream: object, configured: str | None) -> bool:
    explicit = choice or os.environ.get("CDPCTL_COLOR") or None
    if explicit is not None and explicit not in COLORS:
        source = "--color" if choice else "CDPCTL_COLOR"
        fail(f"{source} must be one of {', '.join(COLORS)} (got {explicit!r})")
    if explicit in ("always", "never"):
        return explicit == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if explicit is None and configured in ("always", "never"):
        return configured == "always"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(text: str, chosen: str = "text", *, color: bool = False) -> None:
    """Write a command's output on stdout: a text view through the terminal guard (colour codes
    only with `color`), any other format exactly as it is (cdpctl.output.terminal)."""
    from cdpctl.output.terminal import write_data

    if chosen == "text":
        # click strips ANSI codes from output that is not a terminal unless told otherwise.
        typer.echo(text, nl=False, color=color)
    else:
        write_data(text)


def project_config() -> ProjectConfig:
    """The project's [tool.cdpctl] / cdpctl.toml settings; exit 2 naming the file and key when
    it cannot be used."""
    from cdpctl import config

    try:
        return config.load()
    except config.ConfigError as error:
        fail(str(error))


def resolve_format(
    flag: str | None, choices: tuple[str, ...], configured: str | None, where: str
) -> str:
    """--format beats CDPCTL_FORMAT, which beats the project config (`where` names it), which
    beats "text". Exit 2 with the allowed values when the winner is not one of `choices`."""
    for value, source in (
        (flag, "--format"),
        (os.environ.get("CDPCTL_FORMAT") or None, "CDPCTL_FORMAT"),
        (configured, where),
    ):
        if value is not None:
            return check_choice(value, choices, source)
    return "text"


def format_option(choices: tuple[str, ...]) -> Any:
    return typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="Output: "
        + " or ".join(choices)
        + ". Default: CDPCTL_FORMAT, then the project config, then text.",
        show_default=False,
    )


COLOR_OPTION = typer.Option(
    None, "--color", metavar="WHEN", help="Colour output: auto, always or never."
)


def check_choice(value: str, choices: object, option: str) -> str:
    """Exit 2 with the allowed values when `value` is not one of `choices`."""
    allowed = list(choices)  # type: ignore[call-overload]
    if value not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def load_destination(path: str) -> Destination:
    """Load, check and compile a mapping file; on any error print the findings and exit 2."""
    from cdpctl.lint import FileReport
    from cdpctl.output.diagnostics import render_text
    from cdpctl.pipeline import DestinationError
    from cdpctl.pipeline import load_destination as load

    try:
        destination = load(path)
    except DestinationError as error:
        if error.diagnostics:
            sys.stderr.write(render_text([FileReport(path, list(error.diagnostics))]))
        fail(str(error))
    return _with_account(destination)


def _with_account(destination: Destination) -> Destination:
    """The destination with the facts of its account snapshot (docs/account.md), if any."""
    from cdpctl.account.runs import use_snapshot
    from cdpctl.account.snapshot import SnapshotError

    try:
        used = use_snapshot(destination)
    except (SnapshotError, ValueError) as error:
        fail(str(error))
    if used.note is not None:
        sys.stderr.write(f"cdpctl: warning: {used.note}\n")
    return used.destination


def output_format(flag: str | None, choices: tuple[str, ...]) -> str:
    """--format, else CDPCTL_FORMAT, else the project config, else text. A format this command
    does not have (CDPCTL_FORMAT=sarif set for `validate` in CI) means text here; an explicit
    --format must be one of `choices`."""
    if flag is not None:
        return check_choice(flag, choices, "--format")
    config = project_config()
    for value in (os.environ.get("CDPCTL_FORMAT") or None, config.format):
        if value is not None:
            return value if value in choices else "text"
    return "text"


def color_choice(flag: str | None) -> bool:
    """Colour for stdout: --color, CDPCTL_COLOR, NO_COLOR/FORCE_COLOR, the config, a tty."""
    return use_color(flag, configured=project_config().color)


def check_can_send(destination: Destination) -> None:
    """Before any live request: every referenced variable set, every credential sendable
    (exit 2 naming the setting and variable, never the value)."""
    from cdpctl.secrets import check_sendable

    if destination.settings.missing:
        fail(
            "cannot send: environment variable(s) not set: "
            + ", ".join(destination.settings.missing)
        )
    problems = check_sendable(destination.settings)
    if problems:
        fail("cannot send: " + "; ".join(problems))


def check_endpoint(flag: str | None, destination: Destination) -> str | None:
    """The endpoint requests go to instead of the provider's host (--endpoint, else the mapping
    file's `endpoint:`); exit 2 with what to change when it is not scheme://host[:port]."""
    from cdpctl.providers.base import endpoint_problem

    endpoint = flag or destination.file.endpoint
    if endpoint is None:
        return None
    problem = endpoint_problem(endpoint)
    if problem is not None:
        where = "--endpoint" if flag else f"{destination.file.path}: endpoint"
        fail(f"{where} {problem}")
    return endpoint


def check_writable(path: Path, option: str) -> None:
    """Exit 2 before any work when the file `path` could not be written: a replay must not find
    out halfway that its ledger or dead letters fail."""
    if path.is_dir():
        fail(f"{option}: {path} is a folder; give a file name")
    if not path.parent.is_dir():
        fail(f"{option}: cannot write {path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        fail(f"{option}: cannot write {path}: no permission to write in {path.parent}")


def make_folder(path: Path, option: str) -> None:
    """Create the folder an option names (exit 2 with the reason when that is impossible)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"{option}: cannot create the folder {path}: {error.strerror or error}")


PLAN_MODES = ("warn", "block")


PLAN_OPTION = typer.Option(
    None,
    "--plan",
    metavar="PLAN",
    help="Check every event against this tracking plan (docs/tracking-plans.md). Also "
    "`plan = …` in [tool.cdpctl].",
    show_default=False,
)
PLAN_MODE_OPTION = typer.Option(
    "warn",
    "--plan-mode",
    metavar="MODE",
    help="warn: count plan violations; block: also leave violating events out (not sent; "
    "dead-lettered when live).",
)


def plan_gate(flag: Path | None, mode: str) -> PlanGate | None:
    """The tracking plan of --plan, else the project config's, as an event gate (None when
    neither names one); exit 2 on an unusable plan or mode."""
    from cdpctl.delivery.engine import PlanGate

    check_choice(mode, PLAN_MODES, "--plan-mode")
    source = flag if flag is not None else project_config().plan
    if source is None:
        return None
    return PlanGate(load_plan_or_exit(source).checker(), block=mode == "block")


def load_plan_or_exit(path: Path | str) -> TrackingPlan:
    """Load a tracking plan and compile its schemas (so a broken schema is found now, not on
    the first event); on any problem print its one located error and exit 2."""
    from cdpctl.plans import PlanError, load_plan

    try:
        plan = load_plan(path)
        plan.checker()
    except PlanError as error:
        d = error.diagnostic
        fail(f"{d.location()}: error {d.code} {d.full_message()}")
    return plan
