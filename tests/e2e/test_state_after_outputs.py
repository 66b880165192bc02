"""A worker that dies while writing a batch's state loses none of the batch's deliveries.

The worker's state (RocksDB, with a changelog) and its outputs are not written atomically.
Held events released by a tick showed the danger: the case's state said "released" while the
tick's memory and the deliveries were gone, so the replayed tick found nothing to release, and
the events stayed accepted and undelivered for good (CI, the crash run: 3 accepted without a
delivery). Two defences (ADR 0002, addendum of 2026-12-02): a batch's state is written only
after the broker has acknowledged its outputs, and a worker starting after an unclean stop
rebuilds its tables from their changelogs instead of trusting RocksDB. Here a wrapper of
``cjsx`` dies right after the first state write of the batch in which a tick releases a
held event; a normal worker then starts in the same folder. Without either defence the event
stays ACCEPTED with no delivery (checked); ``tests/unit/test_crash_recovery.py`` proves each
defence's part over every crash point the model reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from producers.traffic import TrafficMix, plan
from schemas.models import ReceiptStatus
from streams.reference import StandingData
from tests.e2e.test_delivery_guarantees import publish_all
from tests.support.crashing_worker import EXIT_CODE
from tests.support.world import TEST_FORCES, Broker, WorkerProcess

FORCE = TEST_FORCES[0]


@pytest.mark.timeout(300)
def test_a_worker_dying_while_writing_a_release_s_state_loses_no_delivery(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    sim = SyntheticForce(force_profile(StandingData.load(), FORCE), seed=61)
    # One case with a gap that never fills: its events are held until a tick releases them.
    traffic = plan(
        [sim],
        TrafficMix(
            cases=0,
            resends=0,
            content_duplicates=0,
            out_of_order_cases=0,
            gap_cases=1,
            faults_each=0,
        ),
        seed=61,
    )
    held = {p.event.envelope.event_id for p in traffic.planned if p.event is not None}
    assert held
    assert len(held) == len(traffic.planned)
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap, topics=[catalog.receipts(FORCE)], **kafka.client()
    )
    dying = WorkerProcess(kafka, catalog, tmp_path, module="tests.support.crashing_worker")
    worker = WorkerProcess(kafka, catalog, tmp_path)
    try:
        dying.start()
        publish_all(kafka, catalog, traffic)
        code = dying.exit_code(timeout=120)
        assert code == EXIT_CODE, (
            f"the worker did not die in the release's state write (exit {code}); it ends:\n"
            + dying.log_tail()
        )
        worker.start()  # the same folder: its RocksDB holds the one key written

        def settled(w: ReceiptWatcher) -> bool:
            return all(
                w.statuses.get(i) is not None and bool(w.statuses[i].delivered_to) for i in held
            )

        delivered = watcher.wait_until(settled, timeout=120)
        statuses = {
            str(i): (
                s.outcome.value if s.outcome else None,
                sorted(s.delivered_to),
            )
            for i in held
            if (s := watcher.statuses.get(i)) is not None
        }
    finally:
        watcher.close()
        worker.stop()
        dying.stop()
    assert delivered, f"a held event was accepted but never delivered: {statuses}"
    assert "did not stop cleanly; rebuilding its tables" in worker.log.read_text()
    assert all(outcome == ReceiptStatus.ACCEPTED.value for outcome, _ in statuses.values())
