"""The partner store on a real PostgreSQL server, by URL: the same guarantees as SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import processes
from consumers.store import PartnerStore
from infra.broker.node import free_port
from tests.support.builders import synthetic_force
from tests.unit.test_partner_store import COURT, deliveries_to

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _binary(name: str) -> str:
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).exists() else None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is missing: `make test` installs Debian's postgresql")
    return found


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; tests on a root CI box run it as ``postgres``."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    # Not under pytest's owner-only temp folder: the postgres user must reach it.
    home = Path(tempfile.mkdtemp(prefix="cjsx-postgres-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(
        _as_postgres([_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "cjsx"]),
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = processes.spawn(
        _as_postgres(
            [
                _binary("postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=127.0.0.1",
            ]
        ),
        log=home / "postgres.log",
    )
    try:
        url = f"postgresql+psycopg://cjsx@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                PartnerStore(url).close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        processes.stop(server)
        shutil.rmtree(home, ignore_errors=True)


def test_the_store_keeps_each_delivery_once_on_postgresql(postgres_url: str) -> None:
    store = PartnerStore(postgres_url)
    try:
        batch = deliveries_to(COURT, synthetic_force())
        assert store.store_many(batch) == [True, True, True]
        assert store.store_many(batch) == [False, False, False]
        view = store.case(batch[0].event.envelope.case_urn)
        assert view is not None
        assert view.events == 3
        assert view.charging_advice is None
        assert store.counts().deliveries == 3
    finally:
        store.close()
