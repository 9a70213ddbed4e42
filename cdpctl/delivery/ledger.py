"""The replay ledger: every event's outcome per (destination, subscription, messageId), in SQLite.

An event is marked `sending` (committed) just before its first request is handed to the
connection, and `delivered` or `failed` once the outcome is known (a failure only after its
dead-letter record is on disk). After a crash, a `sending` row means *in doubt*: the provider
may or may not have acknowledged it, so a resumed run does not send it again blindly; it
reports it once (dead letter + `in doubt` state) and `--resend-in-doubt` sends exactly those.

One run holds a ledger at a time: `hold` takes an exclusive OS lock on `LEDGER.lock` (released
by the kernel when the process ends, even on kill -9) and writes the holder's pid and start
time into it, so a second run can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SENDING = "sending"
IN_DOUBT = "in doubt"  # was `sending` when a run stopped; reported once as a dead letter
DELIVERED = "delivered"
FAILED = "failed"
FINAL_STATES = (DELIVERED, FAILED)
MALFORMED = ""  # the subscription name under which malformed records are recorded
BLOCKED = "<tracking plan>"  # …and events the tracking plan blocks (--plan-mode block)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    destination TEXT NOT NULL,
    subscription TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    reason TEXT,
    updated REAL NOT NULL,
    PRIMARY KEY (destination, subscription, message_id)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Key:
    destination: str
    subscription: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    key: Key
    state: str
    attempts: int = 0
    status: int | None = None
    reason: str | None = None


class Ledger:
    """A small SQLite file in WAL mode; safe to share between worker processes."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (and with `create`, set up) the ledger. Worker processes open it with
        `create=False` after the parent has set it up: changing the journal mode or the schema
        needs locks that concurrent writers would refuse."""
        self.path = path
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA synchronous=NORMAL")
        if create:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]

    def state(self, key: Key) -> str | None:
        """The recorded state of one event, or None when the ledger has never seen it."""
        row = self._db.execute(
            "SELECT state FROM outcomes WHERE destination=? AND subscription=? AND message_id=?",
            (key.destination, key.subscription, key.message_id),
        ).fetchone()
        return row[0] if row is not None else None

    def mark_sending(self, keys: Iterable[Key]) -> None:
        """Durably record intent before the first request of these events goes out."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outcomes (destination, subscription, message_id, state, updated) "
                "VALUES (?, ?, ?, 'sending', ?) ON CONFLICT DO UPDATE SET state='sending', "
                "updated=excluded.updated",
                [(k.destination, k.subscription, k.message_id, now) for k in keys],
            )

    def record(self, outcomes: Iterable[Outcome]) -> None:
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outcomes (destination, subscription, message_id, state, attempts, "
                "status, reason, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
                "SET state=excluded.state, attempts=excluded.attempts, status=excluded.status, "
                "reason=excluded.reason, updated=excluded.updated",
                [
                    (
                        o.key.destination,
                        o.key.subscription,
                        o.key.message_id,
                        o.state,
                        o.attempts,
                        o.status,
                        o.reason,
                        now,
                    )
                    for o in outcomes
                ],
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


class LedgerBusy(Exception):
    """Another run holds the ledger."""


class LedgerLock:
    """An exclusive hold on a ledger for this process's lifetime (see `hold`)."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def release(self) -> None:
        self._handle.close()


def hold(path: Path) -> LedgerLock:
    """Take the ledger for this run, or raise LedgerBusy naming the run that has it."""
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise LedgerBusy(
            f"{path} is in use by another replay ({holder}); wait for it to finish, or give "
            "this run its own --state file"
        ) from None
    handle.seek(0)
    handle.truncate()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    handle.write(f"pid {os.getpid()}, started at {started}")
    handle.flush()
    return LedgerLock(handle)
