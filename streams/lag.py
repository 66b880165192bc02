"""Broker-side metrics: each partner's consumer lag, the rejected backlog, broker reachability.

Lag is committed versus end offsets per partition (``KafkaAdminClient.list_group_offsets`` and
``list_partition_offsets``). Lag in seconds is the age of the oldest unconsumed record: the
collector fetches the one record at each lagging partition's committed position (a consumer
``assign`` + ``seek`` + one small fetch) and reads its timestamp. That is one round trip per
refresh and exact; an ``offsets_for_times`` bisection would need about twenty round trips per
partition and only bracket the answer.

The broker is read by a background thread every ``interval`` seconds and a scrape only reads
the last snapshot, so ``/metrics`` (served on the worker's event loop) never waits on Kafka.
``cjsx_broker_up`` says whether the last refresh reached the broker; lag samples older than
``stale_after`` are withdrawn rather than served as if current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from infra.topics import TopicCatalog

log = logging.getLogger("cjsx.lag")

#: The operators' tool that reviews the rejected topic commits as this group; until it has
#: committed, the whole retained topic counts as backlog.
REJECTED_REVIEW_TOOL = "rejected-review"


# -- lag arithmetic (pure) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """One partition's log start and end offsets and a group's committed offset, if any."""

    start: int
    end: int
    committed: int | None = None

    @property
    def position(self) -> int:
        """The next offset the group will read: its commit, or the log start if it has none
        or its commit fell off the log (retention)."""
        committed = self.start if self.committed is None or self.committed < 0 else self.committed
        return min(max(committed, self.start), self.end)

    @property
    def unconsumed(self) -> int:
        return self.end - self.position


@dataclass(frozen=True, slots=True)
class Backlog:
    """Unconsumed records of one topic for one group, and the age of the oldest (None when
    there are records but none could be read to date them)."""

    messages: int
    seconds: float | None


def backlog(
    partitions: Mapping[int, PartitionOffsets],
    oldest_timestamp_ms: Mapping[int, int],
    now: float,
) -> Backlog:
    """Sum the partitions' lag; the age is that of the oldest unconsumed record of any.

    ``oldest_timestamp_ms`` holds the timestamp of the record at each lagging partition's
    position; a caught-up topic is 0 s behind, however old its last record.
    """
    messages = sum(p.unconsumed for p in partitions.values())
    if messages == 0:
        return Backlog(0, 0.0)
    ages = [
        max(0.0, now - oldest_timestamp_ms[n] / 1000)
        for n, p in partitions.items()
        if p.unconsumed > 0 and oldest_timestamp_ms.get(n, -1) >= 0
    ]
    return Backlog(messages, max(ages) if ages else None)


# -- what is watched, and the broker behind a small interface ---------------------------------


@dataclass(frozen=True, slots=True)
class Watch:
    """A topic read by a consumer group; ``recipient`` is None for the rejected topic."""

    topic: str
    group: str
    recipient: str | None = None


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


# -- the collector -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The result of one refresh."""

    taken_at: float
    backlogs: dict[Watch, Backlog] = field(default_factory=dict)


_FAMILIES: dict[str, str] = {
    "cjsx_broker_up": "1 if the last lag refresh reached the broker and read its offsets, else 0",
    "cjsx_lag_refresh_timestamp_seconds": "Unix time of the last successful lag refresh",
    "cjsx_consumer_lag_messages": "Delivery records a recipient's consumer group has not "
    "committed yet (end offset minus committed offset, summed over partitions)",
    "cjsx_consumer_lag_seconds": "Age of the oldest delivery record a recipient's consumer "
    "group has not committed yet; 0 when caught up",
    "cjsx_rejected_backlog_messages": "Records on the rejected topic not yet handled by the "
    "operators' review group (all retained records until it commits)",
    "cjsx_rejected_oldest_age_seconds": "Age of the oldest rejected record not yet handled by "
    "the operators' review group; 0 when none",
}

#: Every metric name the broker collector exports (dashboards and alerts are checked
#: against these).
BROKER_METRIC_NAMES = frozenset(_FAMILIES)


class BrokerMetrics(Collector):
    """A Prometheus collector serving broker-side metrics from a periodically refreshed
    snapshot; ``refresh`` may also be called directly (tests, ``cjsx status``)."""

    def __init__(
        self,
        watches: Iterable[Watch],
        reader_factory: Callable[[], OffsetReader],
        *,
        interval: float = 5.0,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.watches = list(watches)
        self.reader_factory = reader_factory
        self.interval = interval
        self.stale_after = max(stale_after, 3 * interval)
        self.clock = clock
        self._reader: OffsetReader | None = None
        self._lock = threading.Lock()  # guards the snapshot fields
        self._refreshing = threading.Lock()  # one refresh at a time: clients are not shared
        self._last_good: Snapshot | None = None
        self._last_attempt_ok = False
        self._last_attempt_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- refreshing ------------------------------------------------------------------------

    def refresh(self) -> Snapshot | None:
        """Read the broker once; on failure keep the last snapshot and mark the broker down."""
        with self._refreshing:
            return self._refresh()

    def _refresh(self) -> Snapshot | None:
        try:
            try:
                snapshot = self._read()
            except Exception as error:
                # A transient broker state (a coordinator moving or being created) is worth
                # one quick retry before the broker is reported down.
                if not getattr(error, "retriable", False):
                    raise
                time.sleep(0.2)
                snapshot = self._read()
        except Exception as error:  # noqa: BLE001 - any broker failure means "down", not a crash
            log.warning("lag refresh failed: %s", type(error).__name__)
            self._drop_reader()
            with self._lock:
                self._last_attempt_ok = False
                self._last_attempt_at = self.clock()
            return None
        with self._lock:
            self._last_good = snapshot
            self._last_attempt_ok = True
            self._last_attempt_at = snapshot.taken_at
        return snapshot

    def _read(self) -> Snapshot:
        if self._reader is None:
            self._reader = self.reader_factory()
        offsets = self._reader.offsets(self.watches)
        positions = {
            (w.topic, n): p.position
            for w, parts in offsets.items()
            for n, p in parts.items()
            if p.unconsumed > 0
        }
        stamps = self._reader.timestamps(positions)
        now = self.clock()
        backlogs = {
            w: backlog(
                parts,
                {n: stamps[(w.topic, n)] for n in parts if (w.topic, n) in stamps},
                now,
            )
            for w, parts in offsets.items()
        }
        return Snapshot(taken_at=now, backlogs=backlogs)

    def _drop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:  # a broken client is discarded either way
                log.debug("closing the lag reader failed", exc_info=True)

    def start(self) -> BrokerMetrics:
        """Refresh in a daemon thread until ``close``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cjsx-lag", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.interval)
        with self._refreshing:
            self._drop_reader()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            with self._refreshing:
                self._drop_reader()

    # -- the Prometheus side ---------------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        for name, help_text in _FAMILIES.items():
            yield GaugeMetricFamily(name, help_text, labels=_labels(name))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            good, ok, attempted = self._last_good, self._last_attempt_ok, self._last_attempt_at
        if attempted is None:
            return  # nothing read yet: absent, not a guess
        now = self.clock()
        fresh = good is not None and now - good.taken_at <= self.stale_after
        up = ok and now - attempted <= self.stale_after
        families = {
            name: GaugeMetricFamily(name, h, labels=_labels(name)) for name, h in _FAMILIES.items()
        }
        families["cjsx_broker_up"].add_metric([], 1.0 if up else 0.0)
        if good is not None:
            families["cjsx_lag_refresh_timestamp_seconds"].add_metric([], good.taken_at)
        if fresh and good is not None:
            for watch, lag in good.backlogs.items():
                if watch.recipient is None:
                    families["cjsx_rejected_backlog_messages"].add_metric([], lag.messages)
                    if lag.seconds is not None:
                        families["cjsx_rejected_oldest_age_seconds"].add_metric([], lag.seconds)
                else:
                    label = [watch.recipient]
                    families["cjsx_consumer_lag_messages"].add_metric(label, lag.messages)
                    if lag.seconds is not None:
                        families["cjsx_consumer_lag_seconds"].add_metric(label, lag.seconds)
        yield from families.values()


def _labels(name: str) -> list[str]:
    return ["recipient"] if name.startswith("cjsx_consumer_lag_") else []


def catalog_watches(catalog: TopicCatalog) -> list[Watch]:
    """Every partner's delivery topic with its group, and the rejected topic."""
    watches = [
        Watch(catalog.deliver(p.id), catalog.partner_group(p.id), p.id)
        for p in catalog.registry.partners
    ]
    watches.append(Watch(catalog.rejected, catalog.operator_group(REJECTED_REVIEW_TOOL)))
    return watches


def register_broker_metrics(
    registry: CollectorRegistry,
    bootstrap: str,
    catalog: TopicCatalog,
    client_config: Mapping[str, Any] | None = None,
    *,
    interval: float = 5.0,
) -> BrokerMetrics:
    """Register the broker collector on ``registry`` and start its refresher thread.

    ``client_config`` holds kafka-python connection settings (security protocol, SASL) for
    the admin client and the peeking consumer. Call ``close()`` on the result at shutdown.
    """
    config = dict(client_config or {})
    collector = BrokerMetrics(
        catalog_watches(catalog),
        lambda: KafkaOffsetReader(bootstrap, config),
        interval=interval,
    )
    registry.register(collector)
    return collector.start()
