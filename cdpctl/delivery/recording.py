"""`--record DIR`: every request/response pair of a live run, redacted, as NDJSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdpctl import jsonwire

RECORD_FILE = "exchanges.ndjson"


def open_recorder(directory: Path | None) -> Callable[[dict[str, Any]], None] | None:
    """An appender for DIR/exchanges.ndjson; one unbuffered write per line, so worker
    processes can share the file."""
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / RECORD_FILE, "ab", buffering=0)  # noqa: SIM115 - run-long

    def record(entry: dict[str, Any]) -> None:
        handle.write(jsonwire.dumps(entry) + b"\n")

    return record
