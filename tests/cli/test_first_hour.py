"""What a new user meets in the first hour: the README's command table and the messages of a
mistyped event name."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run_cli
from typer.main import get_command

from cdpctl.cli.main import app

ROOT = Path(__file__).parents[2]


def test_readme_command_table_lists_every_command() -> None:
    table = [
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    listed = {match for line in table for match in re.findall(r"`cdpctl ([a-z-]+)", line)}
    listed |= {match for line in table for match in re.findall(r"· `([a-z-]+) ", line)}
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    assert commands <= listed, sorted(commands - listed)


def test_unknown_event_name_lists_only_the_bundled_call_type_samples() -> None:
    result = run_cli(["test-event", str(ROOT / "examples" / "loops.yaml"), "identfy"])
    assert result.exit_code == 2
    assert result.stderr == (
        "cdpctl: identfy: CDP100 no such event file, and not a bundled sample "
        "(alias, group, identify, page, screen, track)\n"
    )


def test_test_extra_bounds_the_packages_pip_backtracked_over() -> None:
    """distributed pins dask to its own release, and s3fs's aiobotocore pins botocore to a few
    patches: without lower and upper bounds on both partners, pip tried dozens of distributed
    and boto3 releases before resolving `pip install '.[test]'`."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    for name in ("dask[bag]", "distributed", "s3fs", "fsspec", "aiobotocore", "boto3", "botocore"):
        (spec,) = [s for s in extra if re.match(re.escape(name) + r"[<>=]", s)]
        assert ">=" in spec and "<" in spec.replace("<=", ""), spec
