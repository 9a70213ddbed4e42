"""Options shared by `replay` and `diff` for many inputs and the Dask engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cdpctl.cli.common import fail

if TYPE_CHECKING:
    from cdpctl.delivery.dask_engine import DaskOptions
    from cdpctl.delivery.inputs import Archive

ENGINES = ("local", "dask")
REFUSED_LIVE = (
    "--engine dask runs dry runs only: a live replay is paced by the provider's rate limit "
    "(more workers cannot send faster) and one sender keeps one ledger and one dead-letter "
    "file. Dry-run on Dask, then send with --engine local --live (split a long backfill into "
    "runs with --since/--until)"
)

EVENTS_ARGUMENT = typer.Argument(
    ...,
    metavar="EVENTS",
    help="Event archives: .ndjson, .json arrays, gzip (by content), folders, globs, fsspec "
    "URLs (s3://…, gs://…, file://…), or - for stdin.",
)
ENGINE_OPTION = typer.Option(
    "local", "--engine", help="local (this machine) or dask (a Dask cluster; dry runs only)."
)
SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    metavar="ADDRESS",
    help="With --engine dask: a running scheduler (tcp://HOST:PORT); default: a local cluster "
    "of --workers processes.",
)
BLOCKSIZE_OPTION = typer.Option(
    "64MiB",
    "--blocksize",
    help="With --engine dask: plain NDJSON files larger than this are read in parts "
    "(gzip files are one part each).",
)


def archive(arguments: list[str]) -> Archive:
    """The inputs the arguments name (exit 2 naming the first that matches nothing)."""
    from cdpctl.delivery.inputs import Archive, InputError, expand

    try:
        return Archive(expand(arguments))
    except InputError as error:
        fail(str(error))


def dask_options(
    engine: str, scheduler: str | None, workers: int, blocksize: str, *, live: bool = False
) -> DaskOptions | None:
    """None for the local engine; exit 2 when the Dask engine cannot be used as asked."""
    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    if engine == "local":
        if scheduler is not None:
            fail("--scheduler needs --engine dask")
        return None
    if live:
        fail(REFUSED_LIVE)
    try:
        from dask.utils import parse_bytes

        from cdpctl.delivery import dask_engine
    except ImportError as error:
        fail(
            f"--engine dask needs the dask extra ({error.name or error}): "
            "pip install 'cdpctl[dask]'"
        )
    try:
        size = parse_bytes(blocksize)
    except (ValueError, TypeError):
        fail(f"--blocksize must be a size such as 64MiB or 1000000 (got {blocksize!r})")
    if size < 1:
        fail(f"--blocksize must be at least 1 byte (got {blocksize!r})")
    return dask_engine.DaskOptions(scheduler=scheduler, workers=workers, blocksize=size)
