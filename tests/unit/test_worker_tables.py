"""The worker's RocksDB tables are opened with bounded memory, not Faust's defaults (three
64 MiB memtables and a 2 GiB block cache per table partition)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from infra.broker.node import free_port
from infra.registry import load_registry
from infra.topics import TopicCatalog
from streams.app import CASES_TABLE, SEEN_TABLE, WorkerConfig, create_app

MIB = 1024 * 1024


@pytest.mark.parametrize("table", [SEEN_TABLE, CASES_TABLE])
def test_each_table_partition_has_bounded_memtables_and_cache(tmp_path: Path, table: str) -> None:
    catalog = TopicCatalog(load_registry())
    config = WorkerConfig(
        app_id="cjsx-unit-tables",
        bootstrap=f"127.0.0.1:{free_port()}",  # nothing listens: no broker is needed
        catalog=catalog,
        registry=catalog.registry,
        datadir=str(tmp_path),
        follow_interval=None,
        table_write_buffer_mib=4,
        table_block_cache_mib=6,
    )
    app, _ = create_app(config)
    try:
        options = app.tables[table].data.rocksdb_options
        assert options.write_buffer_size == 4 * MIB
        assert options.max_write_buffer_number == 2
        assert options.block_cache_size == 6 * MIB
        assert options.ttl is not None  # the expiry the table had before is still there
    finally:
        stoppers = [c for c in app._extra_services if c.__name__ == "_StopClients"]
        asyncio.run(stoppers[0]().on_stop())
