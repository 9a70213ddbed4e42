"""Dead-letter NDJSON: every event that was not delivered, with why — replayable as it is.

Each line is `{"deadLetter": {...reason...}, "event": {...original event...}}`; `cdpctl replay`
unwraps such lines, so the file can be fed back once the cause is fixed. Each record is
written and flushed to disk (fdatasync) before `write` returns, so the ledger records a failure
only once its dead letter is durable; a full disk raises `DeadLetterError` and the run stops.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import IO, Any

from cdpctl import jsonwire
from cdpctl.secrets import Redactor

MAX_BODY_CHARS = 2000


class DeadLetterError(Exception):
    """The dead-letter file cannot be written (full disk, permissions): the run must stop."""


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
        details: dict[str, Any] = {
            "reason": self._redactor.clip(reason, MAX_BODY_CHARS),
            "at": _now(),
        }
        for name, value in (
            ("subscription", subscription),
            ("status", status),
            ("attempts", attempts),
            ("line", line),
        ):
            if value is not None:
                details[name] = value
        if response:
            details["response"] = self._redactor.clip(response, MAX_BODY_CHARS)
        record: dict[str, Any] = {"deadLetter": details}
        if event is not None:
            record["event"] = event
        elif raw is not None:
            record["raw"] = raw.decode("utf-8", "replace")
        text = jsonwire.dumps(record) + b"\n"
        end = None
        try:
            if self._handle is None:
                self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - run-long
            end = os.fstat(self._handle.fileno()).st_size
            written = self._handle.write(text)
            if written != len(text):
                raise OSError(f"only {written} of {len(text)} bytes were written")
            os.fdatasync(self._handle.fileno())
        except OSError as error:
            if end is not None and self._handle is not None:  # leave no half record behind
                with contextlib.suppress(OSError):
                    os.ftruncate(self._handle.fileno(), end)
            raise DeadLetterError(
                f"cannot write the dead-letter file {self.path}: {error.strerror or error}"
            ) from None
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
