"""Court results on the real broker with a real worker (issue 13.1).

A force charges a case; the court publisher bound to the case's court publishes its results
with its own credentials on its own topic. The force receives them on its results topic with
the trigger the result raises, the case's CPS area its copy without triggers, and the court
its receipts. A result for an offence never charged is rejected with its code and kept whole;
a resend is a duplicate; another court publisher may not publish for this court. For each
court, what it published equals what was delivered, rejected or found duplicate.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from consumers import ResultsReader
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.codec import Codec
from schemas.models import (
    CourtResult,
    DefendantCharged,
    HearingResulted,
    OffenceResults,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    ResultDelivery,
)
from streams.reference import StandingData
from tests.support.results import COURT, DISQUALIFIED, OTHER_COURT, results_for
from tests.support.world import Broker, WorkerProcess, read_topic

FORCE = "05"


def _publish(
    kafka: Broker, topic: str, principal: str, outbox: Path, events: list[HearingResulted]
) -> None:
    with Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        outbox_dir=outbox,
        **kafka.client(principal),
    ) as publisher:
        for event in events:
            publisher.publish(event).get(timeout=30)


def _receipts(kafka: Broker, topic: str, principal: str, want: int) -> list[Receipt]:
    """The court's receipts, read as the court (it may read nothing else)."""
    found: list[Receipt] = []
    for _ in range(30):
        found = [
            r
            for _, _, r in read_topic(kafka, topic, timeout_ms=1000, principal=principal)
            if isinstance(r, Receipt)
        ]
        if len(found) >= want:
            break
    return found


def _deliveries(kafka: Broker, topic: str, principal: str, want: int) -> list[ResultDelivery]:
    """What the recipient reads with the SDK's ``ResultsReader``, as itself."""
    found: list[ResultDelivery] = []
    with ResultsReader(
        bootstrap_servers=kafka.bootstrap, topic=topic, **kafka.client(principal)
    ) as reader:
        for _ in range(20):
            found += reader.poll(timeout_ms=500)
            if len(found) >= want:
                found += reader.poll(timeout_ms=1500)  # and nothing more
                break
        assert reader.undecodable == 0
    return found


def test_court_results_flow_back_to_the_force_and_the_cps(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    standing = StandingData.load()
    force = SyntheticForce(force_profile(standing, FORCE), seed=11)
    case = force.new_case()
    charge = force.charge(case)
    assert isinstance(charge, DefendantCharged)
    court_ou = charge.first_hearing.court_ou
    area = standing.cps_area_for_court(court_ou)
    assert area is not None
    cps = f"cps-{area.id}"

    # 1. The force charges the case, and the exchange accepts and delivers the charge.
    with Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.ingest(FORCE),
        outbox_dir=tmp_path / "outbox",
        **kafka.client(f"force-{FORCE}"),
    ) as publisher:
        publisher.publish(charge).get(timeout=30)
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts(FORCE)],
        **kafka.client(f"force-{FORCE}"),
    )
    try:
        assert watcher.wait_until(
            lambda w: bool((s := w.statuses.get(charge.envelope.event_id)) and s.delivered_to),
            timeout=60,
        ), "the charge was not accepted and delivered"
    finally:
        watcher.close()

    # 2. The court bound to the case's court publishes its results, a result for an offence
    #    never charged, and the first results again; another court tries this court's case.
    now = datetime.now(UTC)
    good = results_for(charge, at=now)
    never_charged = results_for(
        charge,
        sequence=2,
        at=now,
        offences=[OffenceResults(offence_sequence=9, results=[CourtResult(code=1015)])],
    )
    _publish(
        kafka,
        catalog.court_ingest(COURT),
        COURT,
        tmp_path / "outbox",
        [good, never_charged, good],
    )
    trespass = results_for(charge, publisher=OTHER_COURT, at=now)
    _publish(kafka, catalog.court_ingest(OTHER_COURT), OTHER_COURT, tmp_path / "outbox", [trespass])

    # 3. The court's receipts: accepted (delivered to the force and CPS), rejected, duplicate.
    receipts = _receipts(kafka, catalog.court_receipts(COURT), COURT, want=3)
    by_event: dict[UUID, list[Receipt]] = {}
    for receipt in receipts:
        by_event.setdefault(receipt.event_id, []).append(receipt)
    accepted, duplicate = by_event[good.envelope.event_id]
    assert accepted.status is ReceiptStatus.ACCEPTED
    assert accepted.deliveries == [f"force-{FORCE}", cps]
    assert duplicate.status is ReceiptStatus.DUPLICATE
    (rejected,) = by_event[never_charged.envelope.event_id]
    assert rejected.status is ReceiptStatus.REJECTED
    assert [(r.code, r.field) for r in rejected.reasons] == [
        ("RESULT_OFFENCE_NOT_CHARGED", "defendants[0].offences[0].offence_sequence")
    ]
    assert {r.force for r in receipts} == {COURT}

    # Conservation for the court: published = delivered + rejected + duplicate.
    outcomes = Counter(r.status for r in receipts)
    published = 3
    assert (
        outcomes[ReceiptStatus.ACCEPTED]
        + outcomes[ReceiptStatus.REJECTED]
        + outcomes[ReceiptStatus.DUPLICATE]
        == published
    )
    assert outcomes == {
        ReceiptStatus.ACCEPTED: 1,
        ReceiptStatus.REJECTED: 1,
        ReceiptStatus.DUPLICATE: 1,
    }

    # The other court may not publish for a court house it is not bound to.
    (refused,) = _receipts(kafka, catalog.court_receipts(OTHER_COURT), OTHER_COURT, want=1)
    assert refused.status is ReceiptStatus.REJECTED
    assert "COURT_NOT_BOUND" in [r.code for r in refused.reasons]

    # 4. The force receives the results once, on its own results topic, with the trigger.
    (to_force,) = _deliveries(kafka, catalog.force_results(FORCE), f"force-{FORCE}", 1)
    assert to_force.recipient == f"force-{FORCE}"
    assert to_force.event == good
    disqualification = next(r for r in to_force.enrichment.results if r.code == DISQUALIFIED)
    assert [t.code for t in disqualification.triggers] == ["TRPR0001"]
    assert disqualification.offence_code == charge.offences[0].code

    # 5. The CPS area receives its copy, without PNC triggers.
    (to_cps,) = _deliveries(kafka, catalog.partner_results(cps), cps, 1)
    assert to_cps.event == good
    assert [r.code for r in to_cps.enrichment.results] == [
        r.code for r in to_force.enrichment.results
    ]
    assert all(r.triggers == [] for r in to_cps.enrichment.results)

    # 6. The rejected results are kept whole, with their reason, for operators.
    kept = [
        r
        for _, _, r in read_topic(kafka, catalog.rejected, principal="operator")
        if isinstance(r, RejectedEvent)
    ]
    by_source = {r.source_topic: r for r in kept}
    never = by_source[catalog.court_ingest(COURT)]
    assert never.event_id == never_charged.envelope.event_id
    assert never.event_type == "uk.gov.cjsx.HearingResulted"
    assert never.value == Codec().encode(never_charged)  # the bytes as published
    assert [r.code for r in never.reasons] == ["RESULT_OFFENCE_NOT_CHARGED"]
    assert catalog.court_ingest(OTHER_COURT) in by_source

    # The force's own receipts say nothing of the court's events.
    force_receipts = [
        r
        for _, _, r in read_topic(kafka, catalog.receipts(FORCE), principal=f"force-{FORCE}")
        if isinstance(r, Receipt)
    ]
    assert {r.event_id for r in force_receipts} == {charge.envelope.event_id}
    assert worker.metric("cjsx_events_total", force=COURT, outcome="accepted") == 1
    assert worker.metric("cjsx_events_total", force=COURT, outcome="rejected") == 1
    assert worker.metric("cjsx_events_total", force=COURT, outcome="duplicate") == 1
