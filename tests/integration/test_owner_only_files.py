"""Files holding case data are owner-only: folders 0700, files 0600 (issue 11, hole 6).

A real worker (RocksDB tables, whose write-ahead logs hold held events) and a real
``cjsx partner run`` with its default SQLite store (names, dates of birth) are started under a
permissive umask (022, what a login shell usually has), an event goes all the way through,
and every folder and file they made is walked while they run (SQLite removes its ``-wal`` and
``-shm`` files on a clean close, so they are looked at before it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from common import processes
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.simulator import SyntheticForce
from streams.reference import StandingData
from tests.support.world import Broker, PartnerProcess, WorkerProcess

PARTNER = "court-magistrates"


@contextlib.contextmanager
def permissive_umask() -> Iterator[None]:
    """Children started inside inherit umask 022: the processes must protect themselves."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def loose_modes(top: Path) -> list[str]:
    """Every folder under ``top`` (itself included) not 0700, and every file not 0600."""
    found = []
    for folder, dirs, files in os.walk(top):
        for path in (Path(folder), *(Path(folder) / f for f in files)):
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            if mode != wanted:
                found.append(f"{path.relative_to(top.parent)} {mode:o}")
        del dirs  # os.walk visits them next
    return found


def stored_deliveries(database: Path) -> int:
    """Deliveries in the partner's store, read without writing anything."""
    if not database.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_worker_state_and_partner_store_are_owner_only(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=23)
    case = force.new_case()
    partner_home = tmp_path / "partner"
    partner_home.mkdir()
    partner_env = PartnerProcess(kafka, catalog, PARTNER, partner_home)._env()
    with permissive_umask():
        worker = WorkerProcess(kafka, catalog, tmp_path / "worker")
        partner: subprocess.Popen[bytes] | None = None
        try:
            worker.start()
            partner = processes.spawn(
                [sys.executable, "-m", "cjsx", "partner", "run", "--partner", PARTNER],
                log=partner_home / "partner.log",
                env=partner_env,
            )
            with Publisher(
                bootstrap_servers=kafka.bootstrap,
                topic=catalog.ingest("05"),
                **kafka.client("force-05"),
            ) as publisher:
                for event in (force.charge(case), force.remand_change(case)):
                    publisher.publish(event).get(timeout=30)
            store = partner_home / "partners" / f"{PARTNER}.sqlite"
            assert processes.wait_for(lambda: stored_deliveries(store) >= 2, 90), (
                partner_home / "partner.log"
            ).read_text()

            # The partner's store, with SQLite's write-ahead log and shared-memory index.
            partners = partner_home / "partners"
            names = {p.name for p in partners.iterdir()}
            assert {f"{PARTNER}.sqlite", f"{PARTNER}.sqlite-wal", f"{PARTNER}.sqlite-shm"} <= names
            assert loose_modes(partners) == []

            # The worker's tables: RocksDB's write-ahead logs hold the events it holds.
            datadir = tmp_path / "worker" / "worker" / worker.app_id
            wal = [p for p in datadir.rglob("*.log") if p.stat().st_size > 0]
            assert wal, f"no RocksDB write-ahead log under {datadir}"
            assert loose_modes(tmp_path / "worker" / "worker") == []
        finally:
            if partner is not None:
                processes.stop(partner)
            worker.stop()

        # Restarted, RocksDB replays its write-ahead logs into sorted tables (SST files).
        try:
            worker.start()
            assert processes.wait_for(lambda: any(datadir.rglob("*.sst")), 30), "no SST files"
            assert loose_modes(tmp_path / "worker" / "worker") == []
        finally:
            worker.stop()
