"""Broker-side metrics, in three rooms: the lag arithmetic (:mod:`.offsets`, pure), the Kafka
reader behind a small interface (:mod:`.reader`), and the Prometheus collector with its refresh
thread (:mod:`.collector`)."""

from streams.lag.collector import (
    BROKER_METRIC_NAMES,
    REJECTED_REVIEW_TOOL,
    BrokerMetrics,
    Snapshot,
    catalog_watches,
    register_broker_metrics,
)
from streams.lag.offsets import Backlog, PartitionOffsets, Watch, backlog
from streams.lag.reader import KafkaOffsetReader, OffsetReader

__all__ = [
    "BROKER_METRIC_NAMES",
    "REJECTED_REVIEW_TOOL",
    "Backlog",
    "BrokerMetrics",
    "KafkaOffsetReader",
    "OffsetReader",
    "PartitionOffsets",
    "Snapshot",
    "Watch",
    "backlog",
    "catalog_watches",
    "register_broker_metrics",
]
