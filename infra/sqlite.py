"""Local SQLite stores that hold case data: owner-only files, WAL, one way to open them.

The partner SDK's store and the exceptions console's store both keep case data (names,
dates of birth, rejected events' bytes) in SQLite by default, or in any database SQLAlchemy
reaches by URL (PostgreSQL in production).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a committed transaction survives a crash of the process
    (what at-least-once redelivery relies on); only a power cut may lose the newest. Readers
    and one writer work at once; a writer waits up to 5 s for another."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def owner_only_sqlite(database: str | None) -> None:
    """Create a SQLite database file owner-only (0600) before SQLite opens it.

    SQLite creates a missing database with 0644 less the umask, and its ``-wal`` and ``-shm``
    files with the database file's own mode, so a database file that is 0600 from its first
    byte keeps all three owner-only whatever the process's umask. A file that exists already
    is tightened to 0600; a missing folder is created 0700 (an existing folder is the
    caller's to choose).
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, 0o600)


def open_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, an owner-only file in WAL mode."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        owner_only_sqlite(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
