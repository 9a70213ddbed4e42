"""Help text that reads like other command-line tools: `MAPPING`, `--limit INTEGER`.

Typer 0.2x decorates plain (non-rich) help with `<str>` and `<int range>` types and usage
lines like `{MAPPING}`; cdpctl's options and arguments carry their own metavars instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer import core


def _argument_type(self: core.TyperArgument, ctx: Any) -> str | None:
    del self, ctx
    return None  # the argument's name (its metavar) says it all


def _argument_usage(self: core.TyperArgument) -> str:
    name = self.display_name_raw
    if self.nargs != 1:
        name += "..."
    return name if self.required else f"[{name}]"


def _option_type(self: core.TyperOption, ctx: Any) -> str | None:
    del ctx
    if self.metavar is not None:
        return self.metavar
    annotation: Any = self.type_descriptor.annotation
    return _NAMES.get(annotation, "TEXT")


_NAMES: dict[Any, str] = {int: "N", float: "N", Path: "PATH", str: "TEXT"}


def install() -> None:
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
