"""Lag arithmetic and the broker collector's behaviour, without a broker."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from infra.registry import load_registry
from infra.topics import TopicCatalog
from streams.lag import (
    BROKER_METRIC_NAMES,
    REJECTED_REVIEW_TOOL,
    Backlog,
    BrokerMetrics,
    PartitionOffsets,
    Watch,
    backlog,
    catalog_watches,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("offsets", "position", "unconsumed"),
    [
        (PartitionOffsets(start=0, end=10, committed=4), 4, 6),
        (PartitionOffsets(start=0, end=10, committed=None), 0, 10),  # never committed
        (PartitionOffsets(start=0, end=10, committed=-1), 0, 10),  # broker's "no offset"
        (PartitionOffsets(start=7, end=10, committed=2), 7, 3),  # commit fell off the log
        (PartitionOffsets(start=0, end=10, committed=10), 10, 0),  # caught up
        (PartitionOffsets(start=0, end=10, committed=12), 10, 0),  # ahead (truncated log)
        (PartitionOffsets(start=5, end=5, committed=None), 5, 0),  # empty after retention
    ],
)
def test_position_and_unconsumed(offsets: PartitionOffsets, position: int, unconsumed: int) -> None:
    assert offsets.position == position
    assert offsets.unconsumed == unconsumed


def test_backlog_sums_messages_and_takes_the_oldest_unconsumed_record() -> None:
    parts = {
        0: PartitionOffsets(0, 10, 4),
        1: PartitionOffsets(0, 3, 3),  # caught up: its old records do not count
        2: PartitionOffsets(0, 2, None),
    }
    stamps = {0: int((NOW - 30) * 1000), 1: int((NOW - 999) * 1000), 2: int((NOW - 90) * 1000)}
    assert backlog(parts, stamps, NOW) == Backlog(messages=8, seconds=90.0)


def test_a_caught_up_group_is_zero_seconds_behind() -> None:
    assert backlog({0: PartitionOffsets(0, 5, 5)}, {}, NOW) == Backlog(0, 0.0)


def test_lag_whose_records_could_not_be_read_has_no_age_rather_than_zero() -> None:
    assert backlog({0: PartitionOffsets(0, 5, 1)}, {}, NOW) == Backlog(4, None)


def test_a_record_stamped_in_the_future_is_not_negative_lag() -> None:
    lag = backlog({0: PartitionOffsets(0, 5, 1)}, {0: int((NOW + 5) * 1000)}, NOW)
    assert lag == Backlog(4, 0.0)


def test_groups_are_namespaced_with_their_topics() -> None:
    catalog = TopicCatalog(load_registry().limited_to(["01"]), namespace="ns")
    assert catalog.partner_group("court-crown") == "ns.partner-court-crown"
    assert catalog.operator_group(REJECTED_REVIEW_TOOL) == "ns.operator-rejected-review"


def test_catalog_watches_every_partner_and_the_rejected_topic() -> None:
    catalog = TopicCatalog(load_registry().limited_to(["01"]), namespace="ns")
    watches = catalog_watches(catalog)
    partners = {p.id for p in catalog.registry.partners}
    assert {w.recipient for w in watches} == partners | {None}
    rejected = next(w for w in watches if w.recipient is None)
    assert rejected == Watch(catalog.rejected, "ns.operator-rejected-review")
    court = next(w for w in watches if w.recipient == "court-crown")
    assert court == Watch(catalog.deliver("court-crown"), "ns.partner-court-crown", "court-crown")


# -- the collector over a fake broker ----------------------------------------------------------

COURT = Watch("deliver.court", "partner-court", "court")
REJECTED = Watch("rejected", "operator-rejected-review")


class FakeReader:
    def __init__(self) -> None:
        self.offsets_by_watch: dict[Watch, dict[int, PartitionOffsets]] = {
            COURT: {0: PartitionOffsets(0, 10, 4), 1: PartitionOffsets(0, 2, 2)},
            REJECTED: {0: PartitionOffsets(0, 3, None)},
        }
        self.stamps = {("deliver.court", 0): int((NOW - 42) * 1000), ("rejected", 0): 0}
        self.fail: Exception | None = None
        self.asked: list[Mapping[tuple[str, int], int]] = []
        self.closed = False

    def offsets(self, watches: list[Watch]) -> dict[Watch, dict[int, PartitionOffsets]]:
        if self.fail is not None:
            raise self.fail
        return {w: self.offsets_by_watch[w] for w in watches}

    def timestamps(self, positions: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        self.asked.append(dict(positions))
        return {k: v for k, v in self.stamps.items() if k in positions}

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _collector(reader: FakeReader, clock: Clock) -> tuple[BrokerMetrics, CollectorRegistry]:
    collector = BrokerMetrics([COURT, REJECTED], lambda: reader, interval=5, clock=clock)
    registry = CollectorRegistry()
    registry.register(collector)
    return collector, registry


def test_collector_serves_lag_from_its_last_refresh() -> None:
    reader, clock = FakeReader(), Clock()
    collector, registry = _collector(reader, clock)
    assert collector.refresh() is not None
    assert reader.asked == [{("deliver.court", 0): 4, ("rejected", 0): 0}]  # lagging only
    value = registry.get_sample_value
    assert value("cjsx_broker_up") == 1
    assert value("cjsx_consumer_lag_messages", {"recipient": "court"}) == 6
    assert value("cjsx_consumer_lag_seconds", {"recipient": "court"}) == pytest.approx(42, 0.01)
    assert value("cjsx_rejected_backlog_messages") == 3
    assert value("cjsx_rejected_oldest_age_seconds") == pytest.approx(NOW)
    assert value("cjsx_lag_refresh_timestamp_seconds") == NOW


def test_nothing_is_exported_before_the_first_refresh() -> None:
    _, registry = _collector(FakeReader(), Clock())
    assert generate_latest(registry) == b""


def test_an_unreachable_broker_is_reported_down_and_its_client_discarded() -> None:
    reader, clock = FakeReader(), Clock()
    collector, registry = _collector(reader, clock)
    collector.refresh()
    reader.fail = ConnectionError("broker gone")
    clock.now += 5
    assert collector.refresh() is None
    assert reader.closed
    assert registry.get_sample_value("cjsx_broker_up") == 0
    # Recent values are still served; after stale_after they are withdrawn.
    assert registry.get_sample_value("cjsx_consumer_lag_messages", {"recipient": "court"}) == 6
    clock.now += collector.stale_after + 1
    assert registry.get_sample_value("cjsx_consumer_lag_messages", {"recipient": "court"}) is None
    assert registry.get_sample_value("cjsx_broker_up") == 0


def test_a_dead_refresher_reads_as_broker_down() -> None:
    reader, clock = FakeReader(), Clock()
    collector, registry = _collector(reader, clock)
    collector.refresh()
    clock.now += collector.stale_after + 1  # no refresh since: the thread is stuck or gone
    assert registry.get_sample_value("cjsx_broker_up") == 0


def test_a_retriable_error_is_retried_once_before_reporting_down() -> None:
    class Flaky(Exception):
        retriable = True

    reader, clock = FakeReader(), Clock()
    collector, registry = _collector(reader, clock)
    calls = 0
    original = reader.offsets

    def once_flaky(watches: list[Watch]) -> dict[Watch, dict[int, PartitionOffsets]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Flaky
        return original(watches)

    reader.offsets = once_flaky  # type: ignore[method-assign]
    assert collector.refresh() is not None
    assert registry.get_sample_value("cjsx_broker_up") == 1


def test_declared_names_match_what_is_collected() -> None:
    reader, clock = FakeReader(), Clock()
    collector, _ = _collector(reader, clock)
    collector.refresh()
    assert {m.name for m in collector.describe()} == BROKER_METRIC_NAMES
    assert {m.name for m in collector.collect()} == BROKER_METRIC_NAMES


def test_the_refresher_thread_refreshes_and_stops() -> None:
    reader = FakeReader()
    collector = BrokerMetrics([COURT, REJECTED], lambda: reader, interval=0.01)
    collector.start()
    try:
        for _ in range(200):
            if len(reader.asked) >= 2:
                break
            time.sleep(0.01)
    finally:
        collector.close()
    assert len(reader.asked) >= 2
    assert reader.closed
