"""State staged per record and written once per key per batch.

The worker processes records in batches. A record's state changes are staged until the
record is settled: kept when its outputs can be sent, discarded when they cannot (an output
too large, a failure in a stage), so a record that ends in a rejection leaves no trace in the
deduplication or ordering state. What a batch kept reaches the table once per key, however
often the batch changed it: one changelog record and one RocksDB put instead of one per
change (the partition's hold index and tick memory change with most records).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from streams.state import KeyValueStore

_DELETED: Final = b"\x00cjsx-deleted\x00"
"""Marks a staged delete (a value no stage writes: stages write JSON or Avro)."""


class StagedStore:
    """A ``KeyValueStore`` over ``base`` that stages writes per record and per batch.

    ``keep(partition)`` moves the current record's writes into the batch, remembering the
    partition whose state they are (a Faust table writes a key's changelog to the partition
    of the record being processed); ``flush`` writes the batch to ``base``.
    """

    def __init__(self, base: KeyValueStore, order: Callable[[str], int] | None = None) -> None:
        self.base = base
        self.order = order
        """Rank of a key in a flush (lowest first; by first write within a rank): a worker
        killed part-way through a flush keeps a prefix of it, so the stage that owns the keys
        says which may be written before which (``streams.order.write_rank``)."""
        self._record: dict[str, bytes] = {}
        self._batch: dict[str, tuple[bytes, int]] = {}

    def get(self, key: str) -> bytes | None:
        if key in self._record:
            value = self._record[key]
        elif key in self._batch:
            value = self._batch[key][0]
        else:
            return self.base.get(key)
        return None if value is _DELETED else value

    def put(self, key: str, value: bytes) -> None:
        self._record[key] = value

    def delete(self, key: str) -> None:
        self._record[key] = _DELETED

    def keep(self, partition: int) -> None:
        for key, value in self._record.items():
            self._batch[key] = (value, partition)
        self._record.clear()

    def largest_write(self) -> int:
        """Bytes of the current record's largest staged write (key and value): a table's
        changelog record must fit its topic like any other output."""
        return max((len(k) + len(v) for k, v in self._record.items()), default=0)

    def discard(self) -> None:
        self._record.clear()

    @property
    def pending(self) -> int:
        """Keys the batch will write at the next flush."""
        return len(self._batch)

    def flush(self, in_partition: Callable[[int], None]) -> int:
        """Write each key the batch kept once; ``in_partition(p)`` is called before the writes
        of partition ``p`` (the worker points the table at a record of that partition).
        Returns the number of writes."""
        by_partition: dict[int, list[tuple[str, bytes]]] = {}
        for key, (value, partition) in self._batch.items():
            by_partition.setdefault(partition, []).append((key, value))
        writes = 0
        order = self.order
        for partition, items in sorted(by_partition.items()):
            in_partition(partition)
            if order is not None:
                items.sort(key=lambda item: order(item[0]))  # stable: first write within a rank
            for key, value in items:
                if value is _DELETED:
                    self.base.delete(key)
                else:
                    self.base.put(key, value)
                writes += 1
        # Cleared only once every write went through: a flush that failed part-way is
        # repeated whole (writing a value again is harmless).
        self._batch.clear()
        return writes
