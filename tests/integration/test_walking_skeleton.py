"""The path through real processes: publisher → broker → worker process → broker → partner."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner

from cjsx.cli import cli
from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.models import DefendantCharged, ReceiptStatus, RejectedEvent
from streams.reference import StandingData
from tests.support.world import Broker, WorkerProcess, read_topic


def test_an_event_travels_from_force_to_partner_store(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=7)
    case = force.new_case()
    event = force.charge(case)
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("05"), **kafka.client("force-05")
    ) as publisher:
        publisher.publish(event).get(timeout=30)

    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts("05")],
        **kafka.client("force-05"),
    )
    try:
        assert watcher.wait_until(
            lambda w: bool(
                (s := w.statuses.get(event.envelope.event_id)) and len(s.delivered_to) >= 2
            ),
            timeout=60,
        ), "no accepted-and-delivered receipts arrived"
        status = watcher.statuses[event.envelope.event_id]
        assert status.outcome is ReceiptStatus.ACCEPTED
        assert status.delivered_to == {"cps-mersey-cheshire", "court-magistrates"}

        store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
        subscriber = Subscriber(
            bootstrap_servers=kafka.bootstrap,
            topic=catalog.deliver("court-magistrates"),
            group_id=catalog.partner_group("court-magistrates"),
            store=store,
            acks_topic=catalog.acks("court-magistrates"),
            **kafka.client("court-magistrates"),
        )
        try:
            subscriber.run(until=lambda: store.counts().deliveries >= 1, idle_timeout=30)
        finally:
            subscriber.close()
        view = store.case(event.envelope.case_urn)
        assert view is not None
        assert view.court_ou == case.court
        assert view.charging_advice is None
        stored = store.events_of(event.envelope.case_urn)
        assert [d["event"]["envelope"]["event_id"] for d in stored] == [
            str(event.envelope.event_id)
        ]
        assert watcher.wait_until(
            lambda w: "court-magistrates" in w.statuses[event.envelope.event_id].acknowledged_by,
            timeout=30,
        ), "the partner's acknowledgement did not come back as a receipt"
    finally:
        watcher.close()
    assert worker.metric("cjsx_events_total", force="05", outcome="accepted") == 1
    assert worker.metric("cjsx_deliveries_total", recipient="court-magistrates") == 1


def test_a_malformed_record_is_rejected_with_its_reason_and_original_bytes(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess
) -> None:
    garbage = b"\x00\x01 this is not an event \xff"
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("93"), **kafka.client("force-93")
    ) as publisher:
        metadata = publisher.send_raw(b"key-93", garbage, [("x-test", b"1")]).get(timeout=30)

    rejected: list[RejectedEvent] = []
    for _ in range(20):
        rejected = [
            r
            for _, _, r in read_topic(kafka, catalog.rejected, principal="operator")
            if isinstance(r, RejectedEvent)
        ]
        if rejected:
            break
    assert len(rejected) == 1
    record = rejected[0]
    assert record.value == garbage
    assert record.key == b"key-93"
    assert record.source_topic == catalog.ingest("93")
    assert record.source_offset == metadata.offset
    assert record.force == "93"
    assert [h.key for h in record.headers] == ["x-test"]
    assert [r.code for r in record.reasons] == ["UNDECODABLE"]
    assert worker.metric("cjsx_rejection_reasons_total", reason="UNDECODABLE") == 1

    # The operator's view of it, as `cjsx rejected` shows it (connecting as `operator`).
    env = {
        "CJSX_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "CJSX_SECRETS_DIR": str(kafka.secrets_dir),
        "CJSX_TOPIC_NAMESPACE": catalog.namespace,
        "CJSX_FORCES": "01,05,93",
    }
    runner = CliRunner()
    listed = runner.invoke(cli, ["rejected", "list", "--force", "93"], env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.output.split("\t")[0] == str(record.rejection_id)
    where = f"{catalog.ingest('93')}/{metadata.partition}/{metadata.offset}"
    assert listed.output.rstrip().endswith(f"\t93\t{where}\tUNDECODABLE")
    shown = runner.invoke(cli, ["rejected", "show", str(record.rejection_id)], env=env)
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert base64.b64decode(detail["value"]) == garbage
    assert detail["event"] is None
    assert detail["decode_error"].startswith("UNDECODABLE")


def test_a_valid_charge_delivered_to_the_court_has_no_charging_advice(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess
) -> None:
    force = SyntheticForce(force_profile(StandingData.load(), "01"), seed=3)
    event = force.charge(force.new_case(), advised=True)
    assert event.charging_advice
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("01"), **kafka.client("force-01")
    ) as publisher:
        publisher.publish(event).get(timeout=30)
    deliveries = {}
    for _ in range(20):
        for partner in ("court-magistrates", "cps-london-north", "cps-london-south"):
            topic = catalog.deliver(partner)
            for _, _, d in read_topic(kafka, topic, timeout_ms=1000, principal=partner):
                deliveries[partner] = d
        if "court-magistrates" in deliveries and len(deliveries) == 2:
            break
    court = deliveries["court-magistrates"]
    cps = next(v for k, v in deliveries.items() if k.startswith("cps-"))
    assert isinstance(court.event, DefendantCharged)
    assert court.event.charging_advice is None
    assert isinstance(cps.event, DefendantCharged)
    assert cps.event.charging_advice == event.charging_advice
