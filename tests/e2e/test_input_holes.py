"""A record the stream framework loses before the worker's agents see it is still processed.

Faust can drop a fetched record (the crash run lost one acknowledgement in 47,000 that way,
and Faust's commit then moved past it). Here a wrapper of ``cjsx`` drops one ingest record
and one acknowledgement between Faust's fetcher and its streams, as the framework would: the
worker must notice the hole and read the missing record itself, so every record still has
its outcome and every delivery its acknowledgement, in the same worker process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.topics import TopicCatalog
from producers.receipts import ReceiptWatcher
from tests.e2e.test_delivery_guarantees import make_traffic, publish_all
from tests.support.world import TEST_FORCES, Broker, PartnerProcess, WorkerProcess

PARTNER = "court-magistrates"


@pytest.mark.timeout(300)
def test_a_record_lost_inside_the_framework_is_read_again(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    traffic = make_traffic(cases_per_force=20, seed=41)
    lose = f"{catalog.ingest(TEST_FORCES[0])}@3,{catalog.acks(PARTNER)}@3"
    worker = WorkerProcess(
        kafka,
        catalog,
        tmp_path,
        module="tests.support.lossy_worker",
        env_extra={"CJSX_TEST_LOSE": lose},
    )
    partner = PartnerProcess(kafka, catalog, PARTNER, tmp_path / "partner")
    (tmp_path / "partner").mkdir()
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts(f) for f in TEST_FORCES],
        **kafka.client(),
    )
    records = len(traffic.planned)

    def settled(w: ReceiptWatcher) -> bool:
        statuses = w.statuses.values()
        return sum(w.outcomes.values()) >= records and all(
            PARTNER in s.acknowledged_by for s in statuses if PARTNER in s.delivered_to
        )

    try:
        worker.start()
        partner.start()
        publish_all(kafka, catalog, traffic)
        finished = watcher.wait_until(settled, timeout=180)
        holes = {
            stage: worker.metric("cjsx_input_holes_total", stage=stage)
            for stage in ("pipeline", "acknowledgements")
        }
    finally:
        watcher.close()
        partner.stop()
        worker.stop()
    assert holes == {"pipeline": 1.0, "acknowledgements": 1.0}  # both losses happened
    assert finished, "a lost record was never processed: an outcome or acknowledgement is missing"
    assert sum(watcher.outcomes.values()) == records
