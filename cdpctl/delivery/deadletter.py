"""Dead-letter NDJSON: every event that was not delivered, with why — replayable as it is.

Each line is `{"deadLetter": {...reason...}, "event": {...original event...}}`; `cdpctl replay`
unwraps such lines, so the file can be fed back once the cause is fixed. Lines are written one
by one so a killed process loses none.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any

from cdpctl import jsonwire
from cdpctl.secrets import Redactor

MAX_BODY_CHARS = 2000


class DeadLetters:
    def __init__(self, path: Path, redactor: Redactor) -> None:
        self.path = path
        self._redactor = redactor
        self._handle: IO[bytes] | None = None
        self.count = 0

    def write(
        self,
        *,
        reason: str,
        event: Any = None,
        raw: bytes | None = None,
        line: int | None = None,
        subscription: str | None = None,
        status: int | None = None,
        response: str | None = None,
        attempts: int | None = None,
    ) -> None:
        details: dict[str, Any] = {"reason": self._redactor.text(reason), "at": _now()}
        for name, value in (
            ("subscription", subscription),
            ("status", status),
            ("attempts", attempts),
            ("line", line),
        ):
            if value is not None:
                details[name] = value
        if response:
            details["response"] = self._redactor.text(response[:MAX_BODY_CHARS])
        record: dict[str, Any] = {"deadLetter": details}
        if event is not None:
            record["event"] = event
        elif raw is not None:
            record["raw"] = raw.decode("utf-8", "replace")
        if self._handle is None:
            # Unbuffered append: one write() per line, so worker processes sharing the file
            # never interleave lines and a killed process loses none.
            self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115
        self._handle.write(jsonwire.dumps(record) + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
