"""The Prometheus collector of broker-side metrics: each partner's consumer lag, the rejected
backlog, broker reachability.

The broker is read by a background thread every ``interval`` seconds and a scrape only reads
the last snapshot, so ``/metrics`` (served on the worker's event loop) never waits on Kafka.
``cjsx_broker_up`` says whether the last refresh reached the broker; lag samples older than
``stale_after`` are withdrawn rather than served as if current. The owner closes it at
shutdown (``close`` stops the thread and the reader's clients).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from infra.topics import TopicCatalog
from streams.lag.offsets import Backlog, Watch, backlog
from streams.lag.reader import KafkaOffsetReader, OffsetReader

log = logging.getLogger("cjsx.lag")

#: The operators' tool that reviews the rejected topic commits as this group; until it has
#: committed, the whole retained topic counts as backlog.
REJECTED_REVIEW_TOOL = "rejected-review"


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
