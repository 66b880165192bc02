"""The exchange's promises, counted against the real broker and real worker processes.

Conservation: per force, published = accepted + rejected + duplicate, exactly as intended;
every accepted event is on each entitled recipient's topic and on no other; every event has
its receipt. Under SIGKILL of the worker, nothing is lost and re-emitted deliveries keep their
ids. State survives a restart. A case published out of order is delivered in order.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import pytest

from common import processes
from consumers.store import PartnerStore
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from producers.traffic import Intent, Traffic, TrafficMix, plan, publish
from schemas.models import Delivery, OrderingFlag, ReceiptStatus, RejectedEvent
from streams.reference import StandingData
from tests.support.world import (
    TEST_FORCES,
    Broker,
    PartnerProcess,
    WorkerProcess,
    group_positions,
    read_topic,
    worker_app_id,
)

COURT_EVENT_TYPES = {
    "uk.gov.cjsx.DefendantCharged",
    "uk.gov.cjsx.CaseDocumentsAdded",
    "uk.gov.cjsx.RemandStatusChanged",
    "uk.gov.cjsx.DefendantDetailsAmended",
    "uk.gov.cjsx.CaseDiscontinued",
}
COURT_WITHHELD_FORMS = {"MG3", "MG3A", "MG6", "MG6C", "MG6D", "MG6E"}


def make_traffic(cases_per_force: int, seed: int) -> Traffic:
    standing = StandingData.load()
    sims = [SyntheticForce(force_profile(standing, f), seed=seed + int(f)) for f in TEST_FORCES]
    return plan(
        sims,
        TrafficMix(
            cases=cases_per_force,
            resends=20,
            content_duplicates=20,
            out_of_order_cases=5,
            gap_cases=2,
            faults_each=3,
        ),
        seed=seed,
    )


def publish_all(kafka: Broker, catalog: TopicCatalog, traffic: Traffic) -> None:
    publishers = {
        f: Publisher(
            bootstrap_servers=kafka.bootstrap, topic=catalog.ingest(f), **kafka.client(f"force-{f}")
        )
        for f in TEST_FORCES
    }
    try:
        for _ in publish(traffic.planned, publishers):
            pass
    finally:
        for publisher in publishers.values():
            publisher.flush()
            publisher.close()


@dataclass
class Observed:
    """What the exchange produced, read back from its topics."""

    watcher: ReceiptWatcher
    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)
    undecodable: Counter[str] = field(default_factory=Counter)

    def outcomes(self) -> Counter[tuple[str, str]]:
        """Outcomes by force from receipts: every record has one, undecodable ones too."""
        counts: Counter[tuple[str, str]] = Counter()
        for (force, status), n in self.watcher.outcomes.items():
            counts[force, status.value.lower()] += n
        return counts


def settle(
    kafka: Broker, catalog: TopicCatalog, traffic: Traffic, timeout: float
) -> ReceiptWatcher:
    """Follow receipts until every planned record has its outcome and accepted ones are
    delivered (held events wait out their hold time)."""
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts(f) for f in TEST_FORCES],
        **kafka.client(),
    )
    records = len(traffic.planned)

    def done(w: ReceiptWatcher) -> bool:
        outcomes = sum(n for n in w.outcomes.values())
        accepted = [s for s in w.statuses.values() if s.outcome is ReceiptStatus.ACCEPTED]
        return outcomes >= records and all(s.delivered_to for s in accepted)

    if not watcher.wait_until(done, timeout):
        accepted = [s for s in watcher.statuses.values() if s.outcome is ReceiptStatus.ACCEPTED]
        undelivered = [s for s in accepted if not s.delivered_to]
        held = traffic.gap_cases | traffic.out_of_order_cases
        which = [
            (str(s.event_id), "held case" if s.case_urn in held else "case never held")
            for s in undelivered[:10]
        ]
        outcomes = sum(watcher.outcomes.values())
        behind = receipts_behind(watcher)
        watcher.close()
        raise AssertionError(
            f"the exchange did not settle in time: {outcomes} outcomes of {records} records, "
            f"{len(undelivered)} accepted without a delivery {which}; ingest (partition, end, "
            f"worker's committed): {ingest_positions(kafka, catalog)}; receipts not yet read "
            f"(partition, end, watcher's position): {behind}"
        )
    watcher.poll(timeout_ms=1000)  # anything straggling, so over-counts would show
    return watcher


def ingest_positions(
    kafka: Broker, catalog: TopicCatalog
) -> dict[str, list[tuple[int, int, int | None]]]:
    """Per ingest topic: (partition, end offset, the worker group's committed offset)."""
    topics = [catalog.ingest(f) for f in TEST_FORCES]
    found: dict[str, list[tuple[int, int, int | None]]] = {}
    for (topic, partition), (end, committed) in group_positions(
        kafka, worker_app_id(catalog), topics
    ).items():
        found.setdefault(topic, []).append((partition, end, committed))
    return found


def receipts_behind(watcher: ReceiptWatcher) -> list[tuple[str, int, int, int]]:
    """Receipt partitions the watcher has not read to their end."""
    assigned = sorted(watcher.consumer.assignment())
    ends = watcher.consumer.end_offsets(assigned)
    return [
        (tp.topic, tp.partition, ends[tp], watcher.consumer.position(tp))
        for tp in assigned
        if watcher.consumer.position(tp) < ends[tp]
    ]


def observe(kafka: Broker, catalog: TopicCatalog, watcher: ReceiptWatcher) -> Observed:
    observed = Observed(watcher)
    for partner in catalog.registry.partners:
        observed.deliveries[partner.id] = [
            d
            for _, _, d in read_topic(kafka, catalog.deliver(partner.id), timeout_ms=2000)
            if isinstance(d, Delivery)
        ]
    rejections: set[UUID] = set()
    for _, _, r in read_topic(kafka, catalog.rejected, timeout_ms=2000):
        assert isinstance(r, RejectedEvent)
        if r.event_id is None and r.rejection_id not in rejections:  # re-emitted: same id
            rejections.add(r.rejection_id)
            observed.undecodable[r.force or "?"] += 1
    return observed


def check_conservation(catalog: TopicCatalog, traffic: Traffic, observed: Observed) -> int:
    """Assert every promise; return how many deliveries were re-emitted (same id twice)."""
    # Per force: outcomes are exactly what was intended, so they add up to what was published.
    assert observed.outcomes() == traffic.expected()
    for force, published in traffic.published().items():
        total = sum(n for (f, _), n in observed.outcomes().items() if f == force)
        assert total == published, force
    # Undecodable records are kept whole on the rejected topic, one each (and have receipts).
    assert observed.undecodable == Counter(p.force for p in traffic.planned if p.event is None)

    accepted_ids = {
        p.event.envelope.event_id
        for p in traffic.planned
        if p.intent is Intent.VALID and p.event is not None
    }
    statuses = observed.watcher.statuses
    assert {i for i, s in statuses.items() if s.outcome is ReceiptStatus.ACCEPTED} == accepted_ids

    registry = catalog.registry
    seen_on: dict[UUID, set[str]] = defaultdict(set)
    re_emitted = 0
    for partner_id, deliveries in observed.deliveries.items():
        partner = registry.partner(partner_id)
        assert partner is not None
        ids = Counter(d.delivery_id for d in deliveries)
        re_emitted += sum(n - 1 for n in ids.values())
        for delivery in deliveries:
            event = delivery.event
            assert delivery.recipient == partner_id
            assert event.envelope.event_id in accepted_ids  # nothing unaccepted leaks out
            seen_on[event.envelope.event_id].add(partner_id)
            if partner.kind == "cps":
                assert delivery.enrichment.cps_area == partner.cps_area
            else:
                assert event.avro_name in COURT_EVENT_TYPES
                assert getattr(event, "charging_advice", None) is None
                forms = {d.form.value for d in getattr(event, "documents", [])}
                assert not forms & COURT_WITHHELD_FORMS
    # Each accepted event: exactly one CPS area, delivered receipts match the topics.
    for event_id in accepted_ids:
        partners = seen_on[event_id]
        assert sum(1 for p in partners if p.startswith("cps-")) == 1, event_id
        assert statuses[event_id].delivered_to == partners
    return re_emitted


def check_ordering(traffic: Traffic, observed: Observed) -> None:
    for deliveries in observed.deliveries.values():
        by_case: dict[str, list[Delivery]] = defaultdict(list)
        seen: set[UUID] = set()
        for d in deliveries:
            if d.delivery_id not in seen:
                seen.add(d.delivery_id)
                by_case[d.event.envelope.case_urn].append(d)
        for urn, case in by_case.items():
            sequences = [d.event.envelope.sequence for d in case]
            assert sequences == sorted(sequences), urn
            if urn in traffic.gap_cases:
                assert case[0].ordering is OrderingFlag.RELEASED_AFTER_GAP
    reordered = [
        d
        for deliveries in observed.deliveries.values()
        for d in deliveries
        if d.event.envelope.case_urn in traffic.out_of_order_cases
    ]
    assert reordered, "the out-of-order cases were delivered"


@pytest.mark.timeout(600)
def test_conservation_and_order_of_a_mixed_run(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    traffic = make_traffic(cases_per_force=300, seed=11)
    worker = WorkerProcess(kafka, catalog, tmp_path).start()
    try:
        publish_all(kafka, catalog, traffic)
        watcher = settle(kafka, catalog, traffic, timeout=240)
        observed = observe(kafka, catalog, watcher)
    finally:
        worker.stop()
    assert check_conservation(catalog, traffic, observed) == 0  # no crash, no re-emission
    check_ordering(traffic, observed)
    watcher.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_nothing_is_lost_and_each_store_holds_each_delivery_once_through_kills(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """20,000+ events; the worker is SIGKILLed twice and every partner's subscriber once,
    mid-way, and all are restarted. Issue 4's crash proof and issue 5's exactly-once-in-store
    proof share this one run. The worker runs as ``cjsx worker`` runs, under its supervisor
    (killing the supervisor kills the worker with it): a worker that stops itself, as the
    commit watch makes it, is started again, and the proof holds across that too."""
    traffic = make_traffic(cases_per_force=3400, seed=29)
    assert len(traffic.planned) >= 20_000
    publish_all(kafka, catalog, traffic)
    total = len(traffic.planned)
    recipients = [
        "cps-london-north",
        "cps-london-south",
        "cps-mersey-cheshire",
        "court-magistrates",
        "court-crown",
    ]
    partners = {
        p: PartnerProcess(kafka, catalog, p, tmp_path / "partners").start() for p in recipients
    }
    probe = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts(f) for f in TEST_FORCES],
        **kafka.client(),
    )
    kills = []
    worker: WorkerProcess | None = None
    try:
        for fraction in (0.25, 0.6):
            worker = WorkerProcess(kafka, catalog, tmp_path, supervised=True).start()
            reached = probe.wait_until(
                lambda w, f=fraction: sum(w.outcomes.values()) >= total * f, timeout=600
            )
            assert reached, f"worker made no progress to {fraction:.0%}"
            worker.kill()  # SIGKILL: no clean shutdown, no final commit
            kills.append(sum(probe.outcomes.values()))
            if fraction == 0.25:
                for process in partners.values():
                    process.kill()  # mid-batch, between store and commit or not: any point
                    process.start()
        worker = WorkerProcess(kafka, catalog, tmp_path, supervised=True).start()
        watcher = settle(kafka, catalog, traffic, timeout=900)
        observed = observe(kafka, catalog, watcher)
        expected_by_partner = {
            p: {d.delivery_id for d in observed.deliveries[p]} for p in recipients
        }
        stores = {p: PartnerStore(partners[p].store_url) for p in recipients}

        def drained() -> bool:
            return all(
                stores[p].counts().deliveries >= len(expected_by_partner[p]) for p in recipients
            )

        assert processes.wait_for(drained, timeout=600), "partners did not catch up"
        assert watcher.wait_until(
            lambda w: all(s.delivered_to <= s.acknowledged_by for s in w.statuses.values()),
            timeout=300,
        ), "not every delivery was acknowledged"
    finally:
        probe.close()
        if worker is not None:
            worker.stop()  # on any outcome: a failed run must not leave its worker running
        for process in partners.values():
            process.stop()
    re_emitted = check_conservation(catalog, traffic, observed)
    check_ordering(traffic, observed)
    for p in recipients:
        ids = stores[p].delivery_ids()
        assert len(ids) == len(set(ids))  # the primary key: never twice
        assert {UUID(i) for i in ids} == expected_by_partner[p]  # and nothing missing
        counts = stores[p].counts()
        assert counts.quarantined == 0
        stores[p].close()
    deliveries = sum(len(d) for d in observed.deliveries.values())
    report = {
        "published": total,
        "worker_killed_after_outcomes": kills,
        "deliveries_on_topics": deliveries,
        "deliveries_re_emitted_by_worker": re_emitted,
        "receipts_re_emitted": watcher.duplicates_seen,
        "partner_stores_exactly_once": True,
    }
    print("crash-run", json.dumps(report))
    reports = Path(__file__).resolve().parents[2] / ".cache" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "crash-run.json").write_text(json.dumps(report, indent=2))
    watcher.close()


def test_a_restarted_worker_with_empty_local_state_still_knows_a_resend(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=5)
    event = force.charge(force.new_case())
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts("05")],
        **kafka.client("force-05"),
    )
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("05"), **kafka.client("force-05")
    ) as publisher:
        first = WorkerProcess(kafka, catalog, tmp_path / "a").start()
        try:
            publisher.publish(event).get(timeout=30)
            assert watcher.wait_until(lambda w: bool(w.outcomes), timeout=60)
        finally:
            first.stop()
        # A new worker on another machine: no local RocksDB, state only in the changelog.
        second = WorkerProcess(kafka, catalog, tmp_path / "b").start()
        try:
            publisher.publish(event).get(timeout=30)
            assert watcher.wait_until(lambda w: sum(w.outcomes.values()) >= 2, timeout=60)
        finally:
            second.stop()
    assert watcher.outcomes[("05", ReceiptStatus.ACCEPTED)] == 1
    assert watcher.outcomes[("05", ReceiptStatus.DUPLICATE)] == 1
    status = watcher.statuses[event.envelope.event_id]
    assert status.outcome is ReceiptStatus.ACCEPTED
    assert status.duplicates == 1
    assert status.original_event_id == event.envelope.event_id
    watcher.close()
