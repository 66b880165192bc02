"""``cjsx`` that dies part-way through writing a batch's state, as a killed worker can.

Run as ``python -m tests.support.crashing_worker worker ...``. The first batch in which a tick
of the ordering clock released held events writes the first key of its state to the worker's
table (RocksDB keeps it; its changelog record is still in the producer's buffer) and then the
process exits at once with ``EXIT_CODE``: no further write, no flush, no commit. Only tests use
this; the product never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cjsx.cli import main
from streams.staging import StagedStore

EXIT_CODE = 70


def _die_in_the_first_release_flush() -> None:
    flush = StagedStore.flush

    def flush_part_then_die(self: StagedStore, in_partition: Callable[[int], None]) -> int:
        # The batch's staged keys (private): a tick that released something wrote its
        # partition's tick memory.
        if not any(key.startswith("ticks:") for key in self._batch):
            return flush(self, in_partition)
        put = self.base.put

        def put_then_die(key: str, value: bytes) -> None:
            put(key, value)
            os._exit(EXIT_CODE)

        self.base.put = put_then_die  # type: ignore[method-assign]
        return flush(self, in_partition)

    StagedStore.flush = flush_part_then_die  # type: ignore[method-assign]


if __name__ == "__main__":
    _die_in_the_first_release_flush()
    main()
