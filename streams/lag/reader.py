"""The broker behind a small interface: start, end and committed offsets, and the timestamp of
the record at a position.

Lag in seconds is the age of the oldest unconsumed record: the reader fetches the one record
at each lagging partition's committed position (a consumer ``assign`` + ``seek`` + one small
fetch) and reads its timestamp. That is one round trip per refresh and exact; an
``offsets_for_times`` bisection would need about twenty round trips per partition and only
bracket the answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from streams.lag.offsets import PartitionOffsets, Watch


class OffsetReader(Protocol):
    """What the collector needs from the broker (a fake in unit tests)."""

    def offsets(self, watches: list[Watch]) -> dict[Watch, dict[int, PartitionOffsets]]:
        """Start, end and committed offsets of every partition of every watched topic."""

    def timestamps(self, positions: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """The timestamp (ms) of the record at each (topic, partition) → offset."""

    def close(self) -> None: ...


class KafkaOffsetReader:
    """``OffsetReader`` over kafka-python 3's admin client and an assign-only consumer."""

    def __init__(
        self, bootstrap: str, client_config: Mapping[str, Any], timeout_ms: int = 5000
    ) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        self.timeout_ms = timeout_ms
        config = dict(client_config)
        self.admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            client_id="cjsx-lag",
            **config,
        )
        try:
            # No group: this consumer only peeks, it never commits or joins anything.
            self.consumer = KafkaConsumer(
                bootstrap_servers=bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=64 * 1024,
                fetch_max_bytes=1024 * 1024,
                fetch_max_wait_ms=100,
                # Only the first record's timestamp is read, so its batch's CRC is not
                # checked (in pure Python, before the crc32c extension, it was ~1% of the
                # worker's process: bench.worker_profile).
                check_crcs=False,
                request_timeout_ms=timeout_ms + 1000,
                client_id="cjsx-lag-peek",
                **config,
            )
        except Exception:
            self.admin.close()
            raise

    def offsets(self, watches: list[Watch]) -> dict[Watch, dict[int, PartitionOffsets]]:
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        topics = sorted({w.topic for w in watches})
        partitions: dict[str, list[int]] = {
            t["name"]: sorted(p["partition_index"] for p in t["partitions"])
            for t in self.admin.describe_topics(topics)
            if t.get("error_code", 0) == 0
        }
        tps = [TopicPartition(t, n) for t in topics for n in partitions.get(t, [])]
        ends = self.admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.LATEST))
        starts = self.admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.EARLIEST))
        specs: dict[str, list[Any]] = {}
        for w in watches:
            specs.setdefault(w.group, []).extend(
                TopicPartition(w.topic, n) for n in partitions.get(w.topic, [])
            )
        committed = self.admin.list_group_offsets({g: tp for g, tp in specs.items() if tp})
        result: dict[Watch, dict[int, PartitionOffsets]] = {}
        for w in watches:
            group = committed.get(w.group, {})
            result[w] = {}
            for n in partitions.get(w.topic, []):
                tp = TopicPartition(w.topic, n)
                done = group.get(tp)
                result[w][n] = PartitionOffsets(
                    start=int(starts[tp].offset),
                    end=int(ends[tp].offset),
                    committed=None if done is None else int(done.offset),
                )
        return result

    def timestamps(self, positions: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        from kafka import TopicPartition

        found: dict[tuple[str, int], int] = {}
        if not positions:
            self.consumer.assign([])
            return found
        tps = {TopicPartition(t, n): (t, n) for t, n in positions}
        self.consumer.assign(list(tps))
        # A partition paused by the previous refresh stays paused across a re-assign.
        self.consumer.resume(*tps)
        for tp, key in tps.items():
            self.consumer.seek(tp, positions[key])
        deadline = time.monotonic() + self.timeout_ms / 1000
        while len(found) < len(tps) and time.monotonic() < deadline:
            for tp, records in self.consumer.poll(timeout_ms=200).items():
                if records and tps[tp] not in found:
                    found[tps[tp]] = int(records[0].timestamp)
                    self.consumer.pause(tp)
        return found

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.admin.close()
