"""A SQLite store: dedup and thresholds that hold across CLI runs on one machine.

    state: {type: sqlite, path: ~/.cache/trailguard/state.db}

The file and its folder are made on first use, in WAL mode so a reader never blocks a run;
each window update is one transaction, so two runs at once count every hit once. Rows that
have expired are deleted when the store opens and every few thousand keys remembered.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from trailguard.state import StateError
from trailguard.state.window import Window, apply_hit

if TYPE_CHECKING:
    from trailguard.state.spec import StateSpec

OPTIONS = ("path",)
SCHEMA_VERSION = 1
PRUNE_EVERY = 5000
"""Delete expired rows after this many keys remembered (and at every open)."""
GRACE_SECONDS = 86400
"""Rows outlive their use by a day, so late records (and backfills) still find them."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    until REAL NOT NULL,       -- the key counts as seen before this time
    expires_at REAL NOT NULL   -- the row may be deleted after this (wall clock)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_expires_at ON seen (expires_at);
CREATE TABLE IF NOT EXISTS windows (
    key TEXT PRIMARY KEY,
    hits BLOB NOT NULL,        -- JSON list of hit times, sorted
    counted BLOB NOT NULL,     -- JSON object: event key to hit time
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS windows_expires_at ON windows (expires_at);
"""


class SqliteStoreError(StateError):
    """The state file cannot be opened or written; the message says what to check."""


def validate(spec: StateSpec) -> None:
    spec.option("path")


def build(spec: StateSpec, clients: Mapping[str, Any]) -> SqliteStore:
    return SqliteStore(Path(spec.option("path")).expanduser())


class SqliteStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._db: sqlite3.Connection | None = None
        self._since_prune = 0

    def seen(self, key: str, now: float) -> bool:
        row = self._connection().execute("SELECT until FROM seen WHERE key = ?", (key,)).fetchone()
        return row is not None and float(row[0]) > now

    def remember(self, expiries: Mapping[str, float]) -> None:
        expires = self.clock() + GRACE_SECONDS
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO seen (key, until, expires_at) VALUES (?, ?, ?)",
                [(key, until, max(until, expires)) for key, until in expiries.items()],
            )
        self._since_prune += len(expiries)
        if self._since_prune >= PRUNE_EVERY:
            self.prune()

    def window_hit(
        self,
        key: str,
        at: float,
        window_seconds: int,
        threshold: int,
        event_key: str | None = None,
    ) -> int | None:
        with self._transaction() as db:
            row = db.execute("SELECT hits, counted FROM windows WHERE key = ?", (key,)).fetchone()
            window = Window(orjson.loads(row[0]), orjson.loads(row[1])) if row else Window()
            hit = apply_hit(window, at, window_seconds, threshold, event_key)
            if hit.fired is not None:
                db.execute("DELETE FROM windows WHERE key = ?", (key,))
            elif hit.changed:
                db.execute(
                    "INSERT OR REPLACE INTO windows (key, hits, counted, expires_at) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        key,
                        orjson.dumps(window.hits),
                        orjson.dumps(window.counted),
                        self.clock() + 2 * window_seconds + GRACE_SECONDS,
                    ),
                )
        return hit.fired

    def prune(self) -> None:
        """Delete the rows no run needs any more."""
        now = self.clock()
        with self._transaction() as db:
            db.execute("DELETE FROM seen WHERE expires_at < ?", (now,))
            db.execute("DELETE FROM windows WHERE expires_at < ?", (now,))
        self._since_prune = 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit; transactions are explicit (BEGIN IMMEDIATE) where they matter.
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except (OSError, sqlite3.Error) as exc:
                raise SqliteStoreError(
                    f"cannot use the state file {self.path}: {exc}; check that it is a SQLite "
                    "file trailguard made (or absent) in a folder you may write, or change "
                    "`state.path`"
                ) from exc
            self._db = db
            self.prune()
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so concurrent runs queue instead of racing."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
