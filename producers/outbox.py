"""A force system's local, durable outbox: an event handed to the ``Publisher`` is kept here
until the broker has acknowledged it.

One SQLite file per live publisher, in a folder per topic (owner-only: 0700 folders, 0600
files, since events carry personal data). An entry is committed before ``add`` returns; it is
removed only after the broker's acknowledgement. A file whose owner died (its lock is free)
is adopted by the next publisher of that topic, which sends its entries again, first and in
their order, with their original event ids: the exchange drops the repeats by event id.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from common.errors import CjsxError

Durability = Literal["process", "machine"]
"""``process``: an entry survives the publishing process dying (SQLite WAL, synchronous
NORMAL). ``machine``: it also survives a power cut or OS crash (fsync on every commit)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    event_id TEXT,
    key BLOB,
    value BLOB NOT NULL,
    headers TEXT NOT NULL
)
"""


class OutboxCode(StrEnum):
    """Why the outbox refused: stable codes, for logs and for the force's operators."""

    OUTBOX_IN_USE = "OUTBOX_IN_USE"
    OUTBOX_UNSAFE = "OUTBOX_UNSAFE"


class OutboxError(CjsxError):
    """The outbox cannot be used; ``code`` says why."""

    def __init__(self, code: OutboxCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Entry:
    """One event as it goes on the wire, waiting for the broker's acknowledgement."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event_id: str | None


def _private_dir(path: Path) -> None:
    """``path`` and any folder made on the way to it: owner-only."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    os.chmod(path, 0o700)


def _lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` (the kernel frees it when its holder dies), or None if
    a live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Outbox:
    """The durable queue behind one publisher. Thread-safe: the publisher adds from the
    caller's thread and removes from its sending thread."""

    def __init__(self, folder: Path, *, durability: Durability = "process") -> None:
        self.folder = folder
        _private_dir(folder)
        if folder.stat().st_uid != os.geteuid():
            raise OutboxError(OutboxCode.OUTBOX_UNSAFE, f"{folder} belongs to another user")
        self.path = folder / f"{uuid.uuid4().hex}.sqlite"
        try:
            self._lock_fd = _lock(self.path.with_suffix(".lock"))
        except FileNotFoundError:  # another publisher's close removed the empty folder
            _private_dir(folder)
            self._lock_fd = _lock(self.path.with_suffix(".lock"))
        if self._lock_fd is None:  # a fresh random name: cannot happen unless tampered with
            raise OutboxError(OutboxCode.OUTBOX_IN_USE, f"{self.path} is locked")
        self._mutex = threading.Lock()
        self._db = self._open(self.path, durability)
        self.adopted = self._adopt_orphans(durability)

    @staticmethod
    def _open(path: Path, durability: Durability) -> sqlite3.Connection:
        # Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the
        # database file's permissions.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if durability == 'machine' else 'NORMAL'}")
        db.execute(_SCHEMA)
        return db

    def _adopt_orphans(self, durability: Durability) -> int:
        """Move the entries of every outbox in the folder whose owner is gone into this one,
        oldest file first, in their order. Returns how many entries were adopted."""
        adopted = 0
        files = sorted(self.folder.glob("*.sqlite"), key=lambda p: p.stat().st_mtime)
        for other in files:
            if other == self.path:
                continue
            fd = _lock(other.with_suffix(".lock"))
            if fd is None:
                continue  # a live publisher's
            try:
                source = self._open(other, durability)
                try:
                    rows = source.execute(
                        "SELECT topic, event_id, key, value, headers FROM outbox ORDER BY seq"
                    ).fetchall()
                finally:
                    source.close()
                with self._mutex:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany(
                        "INSERT INTO outbox (topic, event_id, key, value, headers)"
                        " VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
                    self._db.execute("COMMIT")
                adopted += len(rows)
                _remove_files(other)
            finally:
                other.with_suffix(".lock").unlink(missing_ok=True)
                os.close(fd)
        return adopted

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        event_id: str | None,
    ) -> Entry:
        """Keep one event; committed (durably, per ``durability``) when this returns."""
        stored = json.dumps([[name, data.hex()] for name, data in headers])
        with self._mutex:
            cursor = self._db.execute(
                "INSERT INTO outbox (topic, event_id, key, value, headers) VALUES (?, ?, ?, ?, ?)",
                (topic, event_id, key, value, stored),
            )
        seq = cursor.lastrowid
        assert seq is not None
        return Entry(seq, topic, key, value, tuple((n, d) for n, d in headers), event_id)

    def pending(self, after: int = 0, limit: int = 500) -> list[Entry]:
        """Entries not yet acknowledged, in the order they were added, after ``after``."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT seq, topic, key, value, headers, event_id FROM outbox"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            Entry(
                seq,
                topic,
                key,
                value,
                tuple((name, bytes.fromhex(data)) for name, data in json.loads(headers)),
                event_id,
            )
            for seq, topic, key, value, headers, event_id in rows
        ]

    def remove(self, seqs: Iterable[int]) -> None:
        """Forget acknowledged entries (one transaction for all of them)."""
        batch = [(s,) for s in seqs]
        if not batch:
            return
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", batch)
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._mutex:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    def close(self) -> None:
        """Close; an empty outbox leaves no file behind, a non-empty one waits for the next
        publisher of its topic."""
        if self._lock_fd is None:
            return
        empty = len(self) == 0
        with self._mutex:
            self._db.close()
        if empty:
            _remove_files(self.path)
            self.path.with_suffix(".lock").unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = None
        if empty:
            with contextlib.suppress(OSError):  # not empty: another publisher's, or kept
                self.folder.rmdir()


def _remove_files(database: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{suffix}").unlink()


def pending_in(folder: Path) -> int:
    """How many entries wait in every outbox file in ``folder`` (for operators and tests)."""
    total = 0
    for file in sorted(folder.glob("*.sqlite")):
        db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            (count,) = db.execute("SELECT count(*) FROM outbox").fetchone()
        except sqlite3.OperationalError:
            count = 0  # created but not yet initialised
        finally:
            db.close()
        total += int(count)
    return total
