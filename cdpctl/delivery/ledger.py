"""The replay ledger: every event's outcome per (destination, subscription, messageId), in SQLite.

An event is marked `sending` (committed) just before its first request is handed to the
connection, and `delivered`, `failed` or `in doubt` once the outcome is known (a failure only
after its dead-letter record is on disk). Outcomes are written in groups, after the answers
that decided them, so a crash between the answer and the write leaves the event `sending`:
*in doubt*, never sent twice. After a crash, a `sending` row means the provider may or may not
have acted on the event; a resumed run does not send it again, it reports it in doubt, and
`--resend-in-doubt` sends exactly those.

Subscriptions are recorded by identity, not by name: the ledger keeps, per identity, the name,
action, trigger and a fingerprint of the mapping it was last run with, and `bind` matches a
mapping file's subscriptions to them, so renaming or reordering subscriptions (or editing one)
does not make a resumed run send again what was delivered. What cannot be matched for certain
is refused (`ResumeAmbiguous`).

One run holds a ledger at a time: `hold` takes an exclusive OS lock on `LEDGER.lock` (released
by the kernel when the process ends, even on kill -9) and writes the holder's pid and start
time into it, so a second run can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cdpctl import jsonwire

SENDING = "sending"
IN_DOUBT = "in doubt"  # its request may have been processed; resent only with --resend-in-doubt
DELIVERED = "delivered"
FAILED = "failed"
#: refused, and its dead letter being written: a resumed run writes the letter and says failed
FAILING = "failing"
FINAL_STATES = (DELIVERED, FAILED)
MALFORMED = ""  # the subscription under which malformed records are recorded
BLOCKED = "<tracking plan>"  # …and events the tracking plan blocks (--plan-mode block)

#: Outcomes are a rowid table (rows appended in the order events are sent) with the key as its
#: unique index: recording an outcome rewrites the row where it was appended, near its
#: neighbours, so a transaction touches a few table pages and only the index pages of the keys
#: it adds, instead of one page per key for both writes (random messageIds scatter keys). A
#: ledger written as a WITHOUT ROWID table by an earlier version is read and written the same.
CACHE_KIB = 32 * 1024  # SQLite's page cache: the pages of the keys a run touches stay in memory
#: WAL pages between checkpoints: each checkpoint copies pages back and syncs the file, so a
#: page written by many transactions is copied once (committed transactions are in the WAL
#: either way: durability is the same)
CHECKPOINT_PAGES = 10_000

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
);
CREATE TABLE IF NOT EXISTS subscriptions (
    destination TEXT NOT NULL,
    identity TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT,
    trigger TEXT,
    fingerprint TEXT,
    segment_id TEXT,
    PRIMARY KEY (destination, identity)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Key:
    destination: str
    subscription: str  # the subscription's identity in this ledger (see `bind`)
    message_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    key: Key
    state: str
    attempts: int = 0
    status: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """What identifies a subscription across runs."""

    name: str
    action: str
    trigger: str
    fingerprint: str  # action, trigger and mapping: equal when only the name changed
    segment_id: str | None = None  # the file's `id:` (Segment's subscription id), if any

    @classmethod
    def of(
        cls, name: str, action: str, trigger: str, mapping: Any, segment_id: str | None = None
    ) -> Subscription:
        text = jsonwire.dumps_text({"action": action, "trigger": trigger, "mapping": mapping})
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return cls(name, action, trigger, digest, segment_id)


class LedgerError(Exception):
    """The ledger file cannot be used; the message names the file and what to do."""


class ResumeAmbiguous(Exception):
    """The mapping changed so that which earlier subscription a current one continues is
    unknown; the message names what changed and how to proceed."""


def _explain(path: Path, error: sqlite3.Error) -> LedgerError:
    text = str(error)
    if "not a database" in text:
        what = (
            "is not a cdpctl ledger (not an SQLite database); point --state at a ledger or "
            "a new file"
        )
    elif "malformed" in text or "corrupt" in text:
        what = (
            "is damaged (the database is malformed); restore it, or move it aside and start "
            "over with a new --state file"
        )
    elif "readonly" in text or "read-only" in text:
        what = "cannot be written (read-only); make it writable or choose another --state file"
    elif "locked" in text or "busy" in text:
        what = "is locked by another process; wait for it, or give this run its own --state"
    else:
        what = f"cannot be used ({text}); check the file, or give this run a new --state file"
    return LedgerError(f"{path} {what}")


class Ledger:
    """A small SQLite file in WAL mode. Every SQLite error becomes a LedgerError naming the
    file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._guard():
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise _explain(self.path, error) from None

    def close(self) -> None:
        with self._guard():
            self._db.close()

    def count(self) -> int:
        with self._guard():
            return int(self._db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0])

    def state(self, key: Key) -> str | None:
        """The recorded state of one event, or None when the ledger has never seen it."""
        with self._guard():
            row = self._db.execute(
                "SELECT state FROM outcomes WHERE destination=? AND subscription=? "
                "AND message_id=?",
                (key.destination, key.subscription, key.message_id),
            ).fetchone()
        return row[0] if row is not None else None

    def reason(self, key: Key) -> str | None:
        """Why the ledger holds `key` in its state (a failure's reason), if it says."""
        with self._guard():
            row = self._db.execute(
                "SELECT reason FROM outcomes WHERE destination=? AND subscription=? "
                "AND message_id=?",
                (key.destination, key.subscription, key.message_id),
            ).fetchone()
        return row[0] if row is not None else None

    def mark_sending(self, keys: Iterable[Key], settled: Sequence[Outcome] = ()) -> None:
        """Durably record intent before the first request of these events goes out, in one
        transaction with `settled`: outcomes of earlier events whose answers are in (so one
        commit serves both)."""
        now = time.time()
        with self._guard(), self._transaction():
            if settled:
                self._db.executemany(_RECORD, _outcome_rows(settled, now))
            self._db.executemany(
                "INSERT INTO outcomes (destination, subscription, message_id, state, updated) "
                "VALUES (?, ?, ?, 'sending', ?) ON CONFLICT DO UPDATE SET state='sending', "
                "updated=excluded.updated",
                [(k.destination, k.subscription, k.message_id, now) for k in keys],
            )

    def forget(self, keys: Iterable[Key]) -> None:
        """Drop events the provider refused but the run could not settle: never sent, as far
        as a resumed run is concerned."""
        with self._guard(), self._transaction():
            self._db.executemany(
                "DELETE FROM outcomes WHERE destination=? AND subscription=? AND message_id=?",
                [(k.destination, k.subscription, k.message_id) for k in keys],
            )

    def record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        with self._guard(), self._transaction():
            self._db.executemany(_RECORD, _outcome_rows(outcomes, time.time()))

    def bind(self, destination: str, current: Sequence[Subscription]) -> list[str]:
        """Each current subscription's identity in this ledger (in `current`'s order), matched
        to the subscriptions earlier runs recorded — by the file's Segment `id:`, then by
        fingerprint (renamed or moved), then by name and action (edited) — and recorded for the
        next run. Raises ResumeAmbiguous when a subscription matches none while an earlier one
        of the same action is gone: renamed *and* edited, or replaced, cannot be told apart,
        and guessing could resend or skip."""
        with self._guard():
            recorded = self._recorded(destination)
        identities: list[str | None] = [None] * len(current)
        free = dict(recorded)  # identity -> Subscription, not yet matched

        def match(rule: Any) -> None:
            for position, sub in enumerate(current):
                if identities[position] is not None:
                    continue
                candidates = [i for i, old in free.items() if rule(sub, old)]
                rivals = [
                    p
                    for p, other in enumerate(current)
                    if identities[p] is None and any(rule(other, free[i]) for i in candidates)
                ]
                if len(candidates) == 1 and rivals == [position]:
                    identities[position] = candidates[0]
                    del free[candidates[0]]

        match(lambda sub, old: sub.segment_id and sub.segment_id == old.segment_id)
        match(lambda sub, old: old.fingerprint and sub.fingerprint == old.fingerprint)
        match(lambda sub, old: sub.name == old.name and old.action in (None, sub.action))
        for position, sub in enumerate(current):
            if identities[position] is not None:
                continue
            gone = [old for old in free.values() if old.action in (None, sub.action)]
            if gone:
                names = ", ".join(f'"{old.name}"' for old in gone)
                raise ResumeAmbiguous(
                    f'--resume: subscription "{sub.name}" ({sub.action}) is new to {self.path} '
                    f"and the earlier run's {names} ({sub.action}) is gone, so which events it "
                    f"already delivered is unknown: to continue that run, give it back the "
                    f"earlier name; to start afresh, use a new --state file"
                )
            taken = set(recorded) | {i for i in identities if i is not None}
            identity = sub.name
            number = 1
            while identity in taken:
                number += 1
                identity = f"{sub.name}#{number}"
            identities[position] = identity
        bound = [i for i in identities if i is not None]
        with self._guard(), self._transaction():
            self._db.executemany(
                "INSERT INTO subscriptions (destination, identity, name, action, trigger, "
                "fingerprint, segment_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "name=excluded.name, action=excluded.action, trigger=excluded.trigger, "
                "fingerprint=excluded.fingerprint, segment_id=excluded.segment_id",
                [
                    (
                        destination,
                        identity,
                        sub.name,
                        sub.action,
                        sub.trigger,
                        sub.fingerprint,
                        sub.segment_id,
                    )
                    for identity, sub in zip(bound, current, strict=True)
                ],
            )
        return bound

    def _recorded(self, destination: str) -> dict[str, Any]:
        """Subscriptions earlier runs recorded; a ledger written before identities were kept
        knows only names (action unknown: `None`)."""
        found: dict[str, Any] = {
            identity: _Recorded(name, action, trigger or "", fingerprint or "", segment_id)
            for identity, name, action, trigger, fingerprint, segment_id in self._db.execute(
                "SELECT identity, name, action, trigger, fingerprint, segment_id FROM "
                "subscriptions WHERE destination=?",
                (destination,),
            )
        }
        for (name,) in self._db.execute(
            "SELECT DISTINCT subscription FROM outcomes WHERE destination=? AND subscription "
            "NOT IN (?, ?)",
            (destination, MALFORMED, BLOCKED),
        ):
            found.setdefault(name, _Recorded(name, None, "", "", None))
        return found

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


@dataclass(frozen=True, slots=True)
class _Recorded:
    name: str
    action: str | None
    trigger: str
    fingerprint: str
    segment_id: str | None


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


_RECORD = (
    "INSERT INTO outcomes (destination, subscription, message_id, state, attempts, status, "
    "reason, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
    "state=excluded.state, attempts=excluded.attempts, status=excluded.status, "
    "reason=excluded.reason, updated=excluded.updated"
)


def _outcome_rows(outcomes: Sequence[Outcome], now: float) -> list[tuple[Any, ...]]:
    return [
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
    ]


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
    try:
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    except OSError as error:
        raise LedgerError(
            f"{path} cannot be locked for this run ({lock_path}: {error.strerror or error}); "
            "choose a --state file in a writable folder"
        ) from None
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
