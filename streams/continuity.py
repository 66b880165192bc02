"""Noticing records the stream framework never handed over, and reading them directly.

Within one consumer generation a partition's records reach the agent in offset order. Faust
can nevertheless lose a record on the way: around a restarted worker's recovery (it resumes
its stream partitions while it still seeks them to their committed offsets) one record in
tens of thousands never reached an agent, and Faust's commit then moved past it (its check
for an unacknowledged record at the head of a partition lets exactly one through), so the
record was lost for good: in the crash run, an acknowledgement no receipt ever reported.

The guard tracks, per partition and generation, the offset it expects next, starting from
the committed offset the generation was seeked to (Faust skips records fetched while its
flow control is off or under an older generation, and a record lost there is the first of a
generation, not one in the middle). A record further on means a hole: before processing that
record the agent reads the missing offsets itself, with a consumer of its own that joins no
group, and processes them first, in order. The batch's commit covers them like the records
Faust did hand over. Offsets with no record (a transaction marker) simply come back empty.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.record import SourceRecord

Partition = tuple[str, int]

_TIMEOUT_MS = 10_000
_PROBE_MS = 3_000


@dataclass
class Continuity:
    """The offset expected next in each partition, per consumer generation."""

    _next: dict[Partition, tuple[int, int]] = field(default_factory=dict)

    def observe(
        self, partition: Partition, generation: int, offset: int, start: int | None = None
    ) -> range | None:
        """Note a record the agent received; return the offsets before it that it never
        received (None when nothing is missing). ``start`` is where the generation began
        reading the partition (its committed offset; None: unknown), which the first record
        of a generation is checked against."""
        expected = self._next.get(partition)
        self._next[partition] = (generation, offset + 1)
        if expected is None or expected[0] != generation:
            if start is not None and offset > start:
                return range(start, offset)  # lost before the generation's first record
            return None
        if offset <= expected[1]:
            return None  # in order, or read again
        return range(expected[1], offset)

    def handled_next(self) -> dict[Partition, int]:
        """The offset after the last record received, per partition."""
        return {partition: offset for partition, (_, offset) in self._next.items()}

    def forget(self, partitions: set[Partition]) -> None:
        """Drop revoked partitions: whoever gets them next starts from the commit."""
        for partition in partitions:
            self._next.pop(partition, None)


class Refetcher:
    """Reads given offsets of a partition with an assign-only kafka-python consumer (made at
    the first hole: most workers never need it). Blocking: call it from a thread; the
    worker's agents share one, and the commit watch has its own for its probes."""

    def __init__(
        self,
        bootstrap: str,
        client_config: Mapping[str, Any],
        max_bytes: int,
        client_id: str = "cjsx-refetch",
        *,
        check_crcs: bool = True,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.client_config = dict(client_config)
        self.max_bytes = max_bytes
        self.check_crcs = check_crcs
        self.consumer: Any = None
        self.lock = threading.Lock()

    def fetch(self, partition: Partition, offsets: range) -> list[SourceRecord]:
        """The records at ``offsets`` (fewer where the log has none), in order."""
        with self.lock:
            return self._fetch(partition, offsets)

    def holding_records(self, positions: Mapping[Partition, int]) -> dict[Partition, int]:
        """The partitions with a record at or after the given offset (a partition ending in a
        transaction marker has none there), with their end offsets."""
        from kafka import TopicPartition

        with self.lock:
            consumer = self._consumer()
            wanted = {TopicPartition(*p): offset for p, offset in positions.items()}
            ends = consumer.end_offsets(list(wanted))
            found: dict[Partition, int] = {}
            for tp, offset in wanted.items():
                if ends.get(tp, 0) <= offset:
                    continue
                consumer.assign([tp])
                consumer.seek(tp, offset)
                if consumer.poll(timeout_ms=_PROBE_MS, max_records=1).get(tp):
                    found[tp.topic, tp.partition] = ends[tp]
            return found

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        if self.consumer is None:
            self.consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=self.max_bytes,
                fetch_max_bytes=self.max_bytes,
                check_crcs=self.check_crcs,
                request_timeout_ms=_TIMEOUT_MS + 1000,
                client_id=self.client_id,
                **self.client_config,
            )
        return self.consumer

    def _fetch(self, partition: Partition, offsets: range) -> list[SourceRecord]:
        from kafka import TopicPartition

        consumer = self._consumer()
        tp = TopicPartition(*partition)
        consumer.assign([tp])
        consumer.seek(tp, offsets.start)
        found: list[SourceRecord] = []
        while consumer.position(tp) < offsets.stop:
            polled = consumer.poll(timeout_ms=_TIMEOUT_MS).get(tp, [])
            if not polled:
                raise TimeoutError(f"no records from {tp.topic}/{tp.partition} to refetch")
            found.extend(SourceRecord.of(r) for r in polled if r.offset in offsets)
        return found

    def close(self) -> None:
        with self.lock:
            if self.consumer is not None:
                self.consumer.close()
                self.consumer = None
