"""The worker's RocksDB tables are opened with bounded memory, not Faust's defaults (three
64 MiB memtables and a 2 GiB block cache per table partition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.app import CASES_TABLE, SEEN_TABLE, create_app
from tests.support.offline_worker import offline_config, stop_clients

MIB = 1024 * 1024


@pytest.mark.parametrize("table", [SEEN_TABLE, CASES_TABLE])
def test_each_table_partition_has_bounded_memtables_and_cache(tmp_path: Path, table: str) -> None:
    config = offline_config(tmp_path, table_write_buffer_mib=4, table_block_cache_mib=6)
    app, _ = create_app(config)
    try:
        options = app.tables[table].data.rocksdb_options
        assert options.write_buffer_size == 4 * MIB
        assert options.max_write_buffer_number == 2
        assert options.block_cache_size == 6 * MIB
        assert options.ttl is not None  # the expiry the table had before is still there
    finally:
        stop_clients(app)
