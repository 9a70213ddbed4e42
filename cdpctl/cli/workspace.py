"""`cdpctl workspace pull | status | push` — mapping files and a Segment workspace in step,
through Segment's Public API (token in SEGMENT_PUBLIC_API_TOKEN)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cdpctl.cli.common import EXIT_FINDINGS, EXIT_OK, fail, format_option, output_format
from cdpctl.cli.help import command_help

if TYPE_CHECKING:
    from cdpctl.pipeline import Destination
    from cdpctl.secrets import Redactor
    from cdpctl.workspace.client import Client
    from cdpctl.workspace.sync import Target

app = typer.Typer(
    help="Keep mapping files and a Segment workspace in step (Segment's Public API).",
    short_help="Pull, compare and push a Segment destination's subscriptions.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FORMATS = ("text", "json")
REGIONS = ("us", "eu")

API_URL_OPTION = typer.Option(
    None,
    "--api-url",
    metavar="URL",
    help="The Public API's base URL instead of Segment's (the cdpctl sandbox, a proxy).",
)
DESTINATION_OPTION = typer.Option(
    None,
    "--destination",
    "-d",
    metavar="ID",
    help="The Segment destination id (default: the file's destination.segment.destination_id).",
)
REGION_OPTION = typer.Option(
    None, "--region", metavar="REGION", help="us or eu (default: the file's, else us)."
)
PAGE_SIZE_OPTION = typer.Option(
    200, "--page-size", min=1, max=200, help="Subscriptions per page when listing them."
)
WRITES_OPTION = typer.Option(
    5.0,
    "--writes-per-minute",
    min=0.01,
    max=6000,
    help="Pace writes to this many a minute (Segment allows 5; raise it only for a sandbox "
    "or a proxy with another limit).",
)


def _token() -> tuple[str, Redactor]:
    from cdpctl.secrets import MIN_SECRET_LENGTH, Redactor
    from cdpctl.workspace.api import TOKEN_ENV

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        fail(f"set {TOKEN_ENV} to a Segment Public API token (Settings › Access Management)")
    if len(token) < MIN_SECRET_LENGTH or not all(" " < c <= "~" for c in token):
        fail(
            f"{TOKEN_ENV} is not a usable token (too short, or a character an HTTP header "
            "cannot carry) — check the environment variable"
        )
    redactor = Redactor()
    redactor.add(token, "${" + TOKEN_ENV + "}")
    return token, redactor


def _base(api_url: str | None, region: str) -> str:
    from urllib.parse import urlsplit

    from cdpctl.workspace.api import base_url

    if api_url is None:
        return base_url(region)
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        fail(f"--api-url must be http(s)://host[:port][/path] (got {api_url!r})")
    return api_url.rstrip("/")


def _target(
    destination: Destination | None,
    flag: str | None,
    region: str | None,
    api_url: str | None,
) -> Target:
    from cdpctl.workspace.sync import Target

    link = destination.file.segment if destination is not None else None
    destination_id = flag or (link.destination_id if link else None)
    if not destination_id:
        where = destination.file.path if destination is not None else "the command line"
        fail(
            f"{where}: no Segment destination; add destination.segment.destination_id to the "
            "file or pass --destination ID"
        )
    chosen = region or (link.region if link else "us")
    if chosen not in REGIONS:
        fail(f"--region must be one of {', '.join(REGIONS)} (got {chosen!r})")
    return Target(_base(api_url, chosen), destination_id, chosen)


def _client(writes_per_minute: float, quiet: bool = False) -> Client:
    from cdpctl.workspace.client import Client, Pacer

    token, redactor = _token()

    def waiting(seconds: float, why: str) -> None:
        if not quiet and seconds >= 0.05:
            typer.echo(f"  waiting {seconds:.1f}s: {why}", err=True)

    return Client(
        token,
        writes_per_minute=writes_per_minute,
        redactor=redactor,
        pacer=Pacer(writes_per_minute, on_wait=waiting),
    )


def _load(path: str) -> Destination:
    from cdpctl.cli.common import load_destination

    return load_destination(path)


@app.command("pull", **command_help("workspace pull"))
def pull(
    mapping: str | None = typer.Argument(
        None, metavar="[MAPPING]", help="Update this mapping file from its destination."
    ),
    destination_id: str | None = DESTINATION_OPTION,
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="FILE", help="Write a new mapping file here."
    ),
    provider: str | None = typer.Option(
        None, "--provider", "-p", metavar="NAME", help="The cdpctl provider, if not told."
    ),
    region: str | None = REGION_OPTION,
    api_url: str | None = API_URL_OPTION,
    page_size: int = PAGE_SIZE_OPTION,
) -> None:
    """The destination's subscriptions as a mapping file `validate` accepts, converted as
    `import segment` converts an export, with `destination.segment` and each subscription's
    `id:`. On an existing MAPPING, only what differs changes: comments and order stay. Exit 1
    when something could not be converted (listed), 0 otherwise."""
    from cdpctl.scaffold import schema_reference
    from cdpctl.workspace.sync import WorkspaceError, pull_text, read_remote, write_file

    if mapping is None and (destination_id is None or output is None):
        fail("give a MAPPING file to update, or --destination ID and -o FILE for a new one")
    existing: tuple[str, str] | None = None
    target_path = output
    link_id, link_region = destination_id, region
    if mapping is not None:
        from cdpctl.loading import LoadError, load_yaml

        try:
            document = load_yaml(mapping)
        except LoadError as error:
            fail(f"{error.diagnostic.location()}: {error.diagnostic.full_message()}")
        data = document.data if isinstance(document.data, dict) else {}
        destination = data.get("destination") if isinstance(data.get("destination"), dict) else {}
        segment = destination.get("segment") if isinstance(destination, dict) else None
        if isinstance(segment, dict):
            link_id = link_id or segment.get("destination_id")
            link_region = link_region or segment.get("region")
        provider = provider or (destination.get("provider") if destination else None)
        existing = (mapping, Path(mapping).read_text(encoding="utf-8"))
        target_path = output or Path(mapping)
    elif output is not None and output.exists():
        fail(f"{output} already exists; update it with `cdpctl workspace pull {output}`")
    if not link_id:
        fail(f"{mapping}: no destination.segment.destination_id; pass --destination ID")
    chosen = link_region or "us"
    if chosen not in REGIONS:
        fail(f"--region must be one of {', '.join(REGIONS)} (got {chosen!r})")
    from cdpctl.workspace.sync import Target

    target = Target(_base(api_url, chosen), link_id, chosen)
    assert target_path is not None
    with _client(5.0) as client:
        try:
            remote = read_remote(client, target, page_size)
            pulled = pull_text(
                remote,
                target,
                provider=provider,
                schema_ref=schema_reference(target_path),
                existing=existing,
            )
        except WorkspaceError as error:
            fail(str(error))
        try:
            write_file(target_path, pulled.text)
        except OSError as error:
            fail(f"cannot write {target_path}: {error.strerror or error}")
    source = f"Segment destination {target.destination_id}"
    for item in pulled.not_converted:
        typer.echo(client.redactor.text(f"{source}: not converted: {item}"), err=True)
    if not pulled.layout_kept:
        typer.echo(
            f"{target_path}: could not update the file in place; rewrote it whole (its "
            "comments are gone: compare with git)",
            err=True,
        )
    typer.echo(
        f"{source}: {pulled.converted} of {pulled.total} subscription(s) pulled "
        f"({remote.pages} page(s)) into {target_path}",
        err=True,
    )
    raise typer.Exit(EXIT_FINDINGS if pulled.not_converted else EXIT_OK)


def _events_view(destination: Destination, remote: Any, events: list[str], fmt: str) -> Any:
    """What the change does to the requests of that traffic: the workspace's version → the
    file's, through `cdpctl diff`'s machinery."""
    from cdpctl.cli.scale import archive
    from cdpctl.delivery.sources import SourceError
    from cdpctl.output import review as view
    from cdpctl.pipeline import DestinationError
    from cdpctl.review import EventDiff, ReviewSummary, collect_changed
    from cdpctl.workspace.events import workspace_destination

    try:
        before, left_out = workspace_destination(destination, remote.subscriptions)
    except DestinationError as error:
        fail(f"--events: the workspace's version does not compile: {error}")
    for note in left_out:
        typer.echo(f"--events: {note}", err=True)
    summary = ReviewSummary()
    shown: list[EventDiff] = []
    try:
        collect_changed(before, destination, archive(events).records(), summary, shown, 20)
    except SourceError as error:
        fail(str(error))
    text = view.VIEWS[fmt](summary, shown)
    if fmt == "json":  # cdpctl's own document, nested in the status document
        from cdpctl import jsonwire

        return jsonwire.loads(text)
    return text


@app.command("status", **command_help("workspace status"))
def status(
    mappings: list[str] = typer.Argument(..., metavar="MAPPING", help="Mapping files."),
    destination_id: str | None = DESTINATION_OPTION,
    region: str | None = REGION_OPTION,
    api_url: str | None = API_URL_OPTION,
    events: list[str] | None = typer.Option(
        None,
        "--events",
        metavar="ARCHIVE",
        help="Also show what the change does to the requests of these events (as cdpctl diff).",
    ),
    page_size: int = PAGE_SIZE_OPTION,
    format_flag: str | None = format_option(FORMATS),
) -> None:
    """Per subscription: create, update, delete or in sync, with each differing field
    (name, trigger, enabled, every mapped field; workspace → file). Exit 0 when every file is
    in sync, 1 when not, 2 on errors — a drift check for CI."""
    from cdpctl.output.workspace import RENDERERS, FileStatus
    from cdpctl.workspace.sync import WorkspaceError, comparison_for, read_remote

    chosen = output_format(format_flag, FORMATS)
    statuses = []
    with _client(5.0) as client:
        for path in mappings:
            destination = _load(path)
            target = _target(destination, destination_id, region, api_url)
            try:
                remote = read_remote(client, target, page_size)
                comparison = comparison_for(destination, remote)
            except WorkspaceError as error:
                fail(f"{path}: {error}")
            seen = _events_view(destination, remote, events, chosen) if events else None
            statuses.append(FileStatus(path, target.destination_id, comparison, seen))
            client.redactor.extend(destination.settings.secrets)
    typer.echo(RENDERERS[chosen](statuses, client.redactor), nl=False)
    in_sync = all(s.comparison.in_sync for s in statuses)
    raise typer.Exit(EXIT_OK if in_sync else EXIT_FINDINGS)


@app.command("push", **command_help("workspace push"))
def push(
    mappings: list[str] = typer.Argument(..., metavar="MAPPING", help="Mapping files."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking (CI)."),
    prune: bool = typer.Option(
        False, "--prune", help="Also delete subscriptions that exist only in the workspace."
    ),
    destination_id: str | None = DESTINATION_OPTION,
    region: str | None = REGION_OPTION,
    api_url: str | None = API_URL_OPTION,
    writes_per_minute: float = WRITES_OPTION,
    page_size: int = PAGE_SIZE_OPTION,
) -> None:
    """Make the workspace hold the file's subscriptions. Refuses unless `validate` passes and
    Segment can run every mapping; shows the changes and asks first (--yes for CI); writes
    within Segment's limit (paced, Retry-After honoured, progress on stderr); writes each new
    subscription's `id:` back into the file, so a re-run after an interruption converges and
    never creates a subscription twice. `defaults: true` mappings are written out whole, as
    Segment stores them."""
    from cdpctl.lint import FileReport
    from cdpctl.loading import load_yaml
    from cdpctl.output.diagnostics import render_text
    from cdpctl.output.workspace import change_lines
    from cdpctl.workspace.sync import (
        WorkspaceError,
        comparison_for,
        read_remote,
        unsupported,
    )
    from cdpctl.workspace.sync import push as apply

    loaded = []
    for path in mappings:
        destination = _load(path)  # exits 2 with the findings unless validate passes
        problems = unsupported(load_yaml(path))
        if problems:
            sys.stderr.write(render_text([FileReport(path, problems)]))
            fail(f"{path}: Segment cannot run {len(problems)} mapping(s); nothing pushed")
        loaded.append((destination, _target(destination, destination_id, region, api_url)))
    failed = False
    with _client(writes_per_minute) as client:
        redactor = client.redactor
        for destination, target in loaded:
            path = destination.file.path
            try:
                remote = read_remote(client, target, page_size)
                comparison = comparison_for(destination, remote)
            except WorkspaceError as error:
                fail(f"{path}: {error}")
            pending = comparison.pending(prune=prune)
            typer.echo(
                redactor.text(
                    "\n".join(
                        [
                            f"{path} → Segment destination {target.destination_id}: "
                            f"{len(pending)} write(s)",
                            *change_lines(comparison, prune=prune),
                        ]
                    )
                )
            )
            if not pending and not any(c.id_to_write for c in comparison.changes):
                continue
            if pending and not yes:
                if not sys.stdin.isatty():
                    fail(f"{path}: {len(pending)} write(s) to make; pass --yes to apply them")
                if not typer.confirm(f"Apply {len(pending)} write(s)?", err=True):
                    fail("nothing pushed", EXIT_FINDINGS)
            try:
                pushed = apply(
                    client,
                    target,
                    destination,
                    comparison,
                    prune=prune,
                    report=lambda line: typer.echo(redactor.text(line), err=True),
                )
            except WorkspaceError as error:
                typer.echo(
                    redactor.text(
                        f"cdpctl: {path}: {error} (re-run the push: it picks up where it stopped)"
                    ),
                    err=True,
                )
                failed = True
                continue
            for line in pushed.not_written_back:
                typer.echo(f"{path}: could not write the id back; add it by hand: {line}", err=True)
            skipped = comparison.count("delete") if not prune else 0
            try:  # read back: what `status` will say
                after = comparison_for(destination, read_remote(client, target, page_size))
            except WorkspaceError as error:
                fail(f"{path}: reading the workspace back: {error}")
            left = len(after.pending(prune=prune))
            typer.echo(
                f"{path}: {len(pushed.applied)} write(s) applied"
                + (f", {pushed.adopted} create(s) found already made" if pushed.adopted else "")
                + (f"; {skipped} left in the workspace (no --prune)" if skipped else "")
                + ("; the workspace matches the file" if not left else f"; {left} still differ"),
                err=True,
            )
            failed = failed or bool(left)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)
