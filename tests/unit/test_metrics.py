"""The worker's metrics, fed by the real pipeline (no broker): stage counters follow events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from infra.registry import load_registry
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.simulator import Fault, SyntheticForce
from schemas.codec import Codec
from schemas.models import CaseEvent
from schemas.models.exchange import OrderingFlag
from schemas.reasons import Reason, ReasonCode
from streams.metrics import ExchangeMetrics, FirstReadings, Stage, StageResult, stage_results
from streams.pipeline import Exchange, Outcome, Source, Status, partition_for
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.route import load_policy
from streams.state import DictStore

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class World:
    """One force's ingest topic run through an ``Exchange`` with metrics on a fresh registry."""

    def __init__(self) -> None:
        self.standing = StandingData.load()
        self.registry = load_registry().limited_to(["05"])
        self.catalog = TopicCatalog(self.registry, namespace="unit")
        self.codec = Codec()
        self.exchange = Exchange(
            codec=self.codec,
            catalog=self.catalog,
            registry=self.registry,
            standing=self.standing,
            policy=load_policy(),
            seen_store=DictStore(),
            case_store=DictStore(),
        )
        self.prom = CollectorRegistry()
        self.metrics = ExchangeMetrics(self.prom)
        self.force = SyntheticForce(force_profile(self.standing, "05"), seed=11)
        self.offset = 0

    def send(self, payload: CaseEvent | bytes) -> Outcome:
        if isinstance(payload, bytes):
            key, value, partition = b"k", payload, 0
        else:
            key, value = payload.envelope.case_urn.encode(), self.codec.encode(payload)
            partition = partition_for(key, self.catalog.ingest_partitions)
        record = SourceRecord(self.catalog.ingest("05"), partition, self.offset, key, value)
        self.offset += 1
        outcome = self.exchange.process(record)
        self.metrics.record(outcome, datetime.now(UTC), 0.001)
        return outcome

    def stage(self, stage: Stage, result: StageResult, force: str = "05") -> float:
        value = self.prom.get_sample_value(
            "cjsx_stage_events_total",
            {"force": force, "stage": stage.value, "result": result.value},
        )
        return value or 0.0


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _results(outcome: Outcome) -> list[tuple[str, str]]:
    return [(stage.value, result.value) for _, stage, result in stage_results(outcome)]


def test_an_accepted_event_passes_every_stage_and_is_delivered(world: World) -> None:
    outcome = world.send(world.force.charge(world.force.new_case()))
    assert _results(outcome)[:4] == [
        ("decode", "passed"),
        ("validate", "passed"),
        ("deduplicate", "passed"),
        ("order", "passed"),
    ]
    assert _results(outcome)[4:] == [("route", "delivered")] * len(outcome.deliveries)
    assert outcome.deliveries


def test_each_rejection_is_counted_at_the_stage_that_made_it(world: World) -> None:
    garbage = world.force.faulty(Fault.GARBAGE)
    assert _results(world.send(garbage)) == [("decode", "rejected")]
    invalid = world.force.faulty(Fault.UNKNOWN_COURT)
    assert _results(world.send(invalid)) == [("decode", "passed"), ("validate", "rejected")]

    story = world.force.case_story()
    assert len(story) >= 2
    world.send(story[0])
    assert _results(world.send(story[0])) == [
        ("decode", "passed"),
        ("validate", "passed"),
        ("deduplicate", "duplicate"),
    ]
    # Another event claiming sequence 1 of the same case: the ordering stage's rejection.
    reused = story[1].model_copy(
        update={"envelope": story[1].envelope.model_copy(update={"sequence": 1})}
    )
    assert _results(world.send(reused)) == [
        ("decode", "passed"),
        ("validate", "passed"),
        ("deduplicate", "passed"),
        ("order", "rejected"),
    ]


def test_an_event_ahead_of_its_sequence_is_held(world: World) -> None:
    story = world.force.case_story()
    assert len(story) >= 2
    outcome = world.send(story[1])
    assert outcome.held
    assert ("order", "held") in _results(outcome)


def test_counters_add_up_to_the_funnel(world: World) -> None:
    charge = world.force.charge(world.force.new_case())
    for payload in (charge, charge, world.force.faulty(Fault.GARBAGE)):
        world.send(payload)
    received = world.prom.get_sample_value("cjsx_events_received_total", {"force": "05"})
    into_decode = sum(world.stage(Stage.DECODE, r) for r in StageResult)
    assert received == into_decode > 0
    passed_decode = world.stage(Stage.DECODE, StageResult.PASSED)
    assert passed_decode == sum(world.stage(Stage.VALIDATE, r) for r in StageResult)
    passed_dedupe = world.stage(Stage.DEDUPLICATE, StageResult.PASSED)
    assert passed_dedupe == sum(
        world.stage(Stage.ORDER, r)
        for r in (StageResult.PASSED, StageResult.HELD, StageResult.REJECTED)
    )
    deliveries = sum(
        world.prom.get_sample_value("cjsx_deliveries_total", {"recipient": p.id, "ordering": o})
        or 0.0
        for p in world.registry.partners
        for o in OrderingFlag
    )
    assert world.stage(Stage.ROUTE, StageResult.DELIVERED) == deliveries > 0


def test_a_partners_invalid_acknowledgement_is_not_an_ingest_event() -> None:
    prom = CollectorRegistry()
    metrics = ExchangeMetrics(prom)
    outcome = Outcome(
        source=Source.ACKNOWLEDGEMENT,
        status=Status.REJECTED,
        reasons=[Reason.of(ReasonCode.UNDECODABLE, "", "no")],
    )
    metrics.record(outcome, NOW)
    assert prom.get_sample_value("cjsx_acknowledgements_rejected_total") == 1
    assert prom.get_sample_value("cjsx_events_received_total", {"force": "unknown"}) is None


def test_internal_error_counters_exist_before_any_error() -> None:
    prom = CollectorRegistry()
    ExchangeMetrics(prom)
    for stage in ("pipeline", "acknowledgements"):
        assert prom.get_sample_value("cjsx_internal_errors_total", {"stage": stage}) == 0


def test_no_label_can_carry_a_case_or_a_person() -> None:
    prom = CollectorRegistry()
    ExchangeMetrics(prom)
    allowed = {"force", "outcome", "stage", "result", "reason", "kind", "partition", "recipient"}
    allowed |= {"ordering", "le", "version", "policy"}
    for family in prom.collect():
        for sample in family.samples:
            assert set(sample.labels) <= allowed, (family.name, sample.labels)
    for collector in list(prom._collector_to_names):  # label names, even of unused metrics
        names = getattr(collector, "_labelnames", ())
        assert set(names) <= allowed, names


def test_every_metric_the_worker_exports_is_in_the_catalogue() -> None:
    """docs/metrics.md is what operators read; a metric missing there is a claim nobody made."""
    from pathlib import Path

    catalogue = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    prom = CollectorRegistry()
    ExchangeMetrics(prom)
    names = {family.name for family in prom.collect()}
    # prometheus_client names a family without its suffix (_total counters, _info infos).
    missing = sorted(
        n for n in names if not any(f"`{n}{s}`" in catalogue for s in ("", "_total", "_info"))
    )
    assert missing == []


def test_a_replayed_record_is_counted_once_per_process() -> None:
    readings = FirstReadings()
    first = [readings.first("ingest", 0, o) for o in range(5)]
    replayed = [readings.first("ingest", 0, o) for o in range(3, 7)]  # after a rebalance
    assert first == [True] * 5
    assert replayed == [False, False, True, True]
    assert readings.first("ingest", 1, 0)  # partitions are counted apart
