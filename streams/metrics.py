"""The worker's Prometheus metrics, on an injected registry (docs/metrics.md).

Names follow Prometheus conventions (``cjsx_<what>_<unit>``, ``_total`` for counters, base
units); labels are low-cardinality only: force, recipient, reason code, outcome, stage. A
case, an event id or a person never becomes a label. Broker-side metrics (consumer lag, the
rejected backlog, broker reachability) are collected by ``streams.lag``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from streams.pipeline import Outcome, Source, Stage, Status

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
_PROCESSING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1)

# Reasons only the decode step gives: the bytes never became an event.
# Where an internal error can happen (streams/app.py); children exist from the start so an
# error-rate query has a zero to compare with rather than no series at all.
INTERNAL_ERROR_STAGES = ("pipeline", "acknowledgements")


class StageResult(StrEnum):
    """What became of an event at a stage; ``passed`` goes on to the next stage."""

    PASSED = "passed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    HELD = "held"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"


_INGEST_STAGES = (Stage.DECODE, Stage.VALIDATE, Stage.DEDUPLICATE, Stage.ORDER)
_STOPPED = {Status.REJECTED: StageResult.REJECTED, Status.DUPLICATE: StageResult.DUPLICATE}


def stage_results(outcome: Outcome) -> Iterator[tuple[str, Stage, StageResult]]:
    """(force, stage, result) for every stage an outcome's event went through.

    An ingest record passes the stages in order until one stops it (the pipeline says which),
    so the events into a stage are the sum of its results. Internal errors are left out
    (counted by ``cjsx_internal_errors_total``); route counts one result per delivery, so it
    counts deliveries, not events, and includes held events released by a later tick.
    """
    force = outcome.force or outcome.court or "unknown"  # a court publisher's records by its id
    if outcome.status in _STOPPED and outcome.stopped_at is not None:
        for stage in _INGEST_STAGES:
            if stage is outcome.stopped_at:
                yield force, stage, _STOPPED[outcome.status]
                break
            yield force, stage, StageResult.PASSED
    elif outcome.status is Status.ACCEPTED:
        for stage in _INGEST_STAGES[:-1]:
            yield force, stage, StageResult.PASSED
        yield force, Stage.ORDER, StageResult.HELD if outcome.held else StageResult.PASSED
    for note in outcome.deliveries:
        yield note.force, Stage.ROUTE, StageResult.DELIVERED
    for _ in range(outcome.undeliverable):
        yield force, Stage.ROUTE, StageResult.UNDELIVERABLE


class FirstReadings:
    """The offsets this process has counted, per partition.

    Delivery is at least once: after a rebalance the worker processes the records after the
    last commit again (same ids, so nothing reaches a partner twice), and counting them
    again would make ``cjsx_events_received_total`` exceed the ingest topics' record counts.
    A record is counted only the first time this process reads its offset. (A record replayed
    by another worker process, after a crash or a takeover, is that process's first reading.)
    """

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def first(self, topic: str, partition: int, offset: int) -> bool:
        key = (topic, partition)
        if offset < self._next.get(key, 0):
            return False
        self._next[key] = offset + 1
        return True


class ExchangeMetrics:
    """Every metric the stream worker itself exports (the broker's are in ``streams.lag``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.build = Info(
            "cjsx_build", "Version of the exchange and its routing policy", registry=registry
        )
        self.received = Counter(
            "cjsx_events_received_total",
            "Records read from a force's ingest topic",
            ["force"],
            registry=registry,
        )
        self.outcomes = Counter(
            "cjsx_events_total",
            "Ingest records by final outcome (accepted, rejected, duplicate)",
            ["force", "outcome"],
            registry=registry,
        )
        self.stages = Counter(
            "cjsx_stage_events_total",
            "Events leaving each pipeline stage by result; the events into a stage are the "
            "sum of its results (route counts deliveries)",
            ["force", "stage", "result"],
            registry=registry,
        )
        self.rejections = Counter(
            "cjsx_rejection_reasons_total",
            "Reasons given for rejected events; an event with several reasons counts once each",
            ["force", "reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "cjsx_duplicates_total",
            "Duplicate events by kind (same event id, or same content under a new id)",
            ["force", "kind"],
            registry=registry,
        )
        self.held = Counter(
            "cjsx_events_held_total",
            "Events held by the ordering stage waiting for a gap to fill",
            ["force"],
            registry=registry,
        )
        self.held_now = Gauge(
            "cjsx_cases_held",
            "Cases with events held for ordering, per worker partition",
            ["partition"],
            registry=registry,
        )
        self.deliveries = Counter(
            "cjsx_deliveries_total",
            "Events delivered to a recipient's topic, by how they left the ordering stage",
            ["recipient", "ordering"],
            registry=registry,
        )
        self.undeliverable = Counter(
            "cjsx_undeliverable_total",
            "Accepted events no recipient was entitled to (kept on the rejected topic)",
            ["force"],
            registry=registry,
        )
        self.processing = Histogram(
            "cjsx_processing_seconds",
            "Worker time to process one ingest record, all stages",
            buckets=_PROCESSING_BUCKETS,
            registry=registry,
        )
        self.occurred_to_delivered = Histogram(
            "cjsx_occurred_to_delivered_seconds",
            "From the event occurring in the force system to its delivery to a recipient",
            ["recipient"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.published_to_delivered = Histogram(
            "cjsx_published_to_delivered_seconds",
            "From the force publishing the event to its delivery to a recipient",
            ["recipient"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.acknowledgements = Counter(
            "cjsx_acknowledgements_total",
            "Partners' acknowledgements relayed to forces as receipts",
            ["recipient"],
            registry=registry,
        )
        self.acknowledgements_rejected = Counter(
            "cjsx_acknowledgements_rejected_total",
            "Records on a partner's acknowledgements topic that were not a valid "
            "acknowledgement by that partner (kept on the rejected topic)",
            registry=registry,
        )
        self.internal_errors = Counter(
            "cjsx_internal_errors_total",
            "Records the worker failed on (kept on the rejected topic for replay)",
            ["stage"],
            registry=registry,
        )
        for stage in INTERNAL_ERROR_STAGES:
            self.internal_errors.labels(stage)
        self.holes = Counter(
            "cjsx_input_holes_total",
            "Times a partition's next record arrived with records before it never received "
            "(the worker read the missing ones itself and processed them first)",
            ["stage"],
            registry=registry,
        )
        for stage in INTERNAL_ERROR_STAGES:
            self.holes.labels(stage)
        self.records_written = Counter(
            "cjsx_records_written_total",
            "Records the worker wrote for its outcomes (receipts, deliveries, rejections), "
            "each acknowledged by the broker; table changelogs not included",
            registry=registry,
        )
        self.state_writes = Counter(
            "cjsx_state_writes_total",
            "Keys written to the worker's tables (one per key per batch)",
            registry=registry,
        )
        self.emit_seconds = Histogram(
            "cjsx_emit_seconds",
            "From sending a batch's outputs to the broker acknowledging all of them",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.commit_longest = Gauge(
            "cjsx_commit_longest_seconds",
            "The longest offset commit since the worker started",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "cjsx_commit_seconds",
            "Duration of one offset commit (which first flushes the producer)",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def _child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, remembered: prometheus-client checks and converts the
        values on every call, a dozen times per event on the worker's one core."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def record(self, outcome: Outcome, now: datetime, seconds: float | None = None) -> None:
        """Count one outcome; ``seconds`` is the processing time of an ingest record."""
        if outcome.source is Source.ACKNOWLEDGEMENT:
            # Not an ingest record: the funnel counts ingest records only.
            if outcome.acknowledged_by is not None:
                self._child(self.acknowledgements, outcome.acknowledged_by).inc()
            else:
                self.acknowledgements_rejected.inc()
            return
        force = outcome.force or outcome.court or "unknown"  # a court publisher by its id
        if outcome.status is not None:
            self._child(self.received, force).inc()
            self._child(self.outcomes, force, outcome.status.value).inc()
        for reason in outcome.reasons:
            self._child(self.rejections, force, reason.code.value).inc()
        for stage_force, stage, result in stage_results(outcome):
            self._child(self.stages, stage_force, stage.value, result.value).inc()
        if outcome.duplicate is not None:
            self._child(self.duplicates, force, outcome.duplicate.value).inc()
        if outcome.held:
            self._child(self.held, force).inc()
        if outcome.undeliverable:
            self._child(self.undeliverable, force).inc(outcome.undeliverable)
        for note in outcome.deliveries:
            self._child(self.deliveries, note.recipient, note.ordering).inc()
            self._child(self.occurred_to_delivered, note.recipient).observe(
                max(0.0, (now - note.occurred_at).total_seconds())
            )
            self._child(self.published_to_delivered, note.recipient).observe(
                max(0.0, (now - note.published_at).total_seconds())
            )
        if outcome.acknowledged_by is not None:
            self._child(self.acknowledgements, outcome.acknowledged_by).inc()
        if seconds is not None:
            self.processing.observe(seconds)
