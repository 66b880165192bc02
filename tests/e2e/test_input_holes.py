"""Records the stream framework loses before the worker's agents see them are still processed.

Faust can drop fetched records (the crash run lost one acknowledgement in 47,000 that way,
and Faust's commit then moved past it; after a 30-second broker pause, runs of up to 113).
Here a wrapper of ``cjsx`` drops records between Faust's fetcher and its streams, as the
framework would. Where the worker notices (a later record of the same partition arrives
first, or a generation starts past its commit) it reads the missing records itself and its
commit moves past them; a few records left waiting at a commit it reads once; otherwise the
commit stands behind waiting records, and the worker stops so that a new one reads again
from that commit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from common import processes
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.models import ReceiptStatus
from streams.reference import StandingData
from tests.e2e.test_delivery_guarantees import make_traffic, publish_all
from tests.support.world import (
    TEST_FORCES,
    Broker,
    PartnerProcess,
    WorkerProcess,
    group_positions,
    worker_app_id,
)

PARTNER = "court-magistrates"
_EXIT_TEMPFAIL = 75


def _receipts(kafka: Broker, catalog: TopicCatalog) -> ReceiptWatcher:
    return ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[catalog.receipts(f) for f in TEST_FORCES],
        **kafka.client(),
    )


def _settled(records: int) -> Callable[[ReceiptWatcher], bool]:
    def settled(w: ReceiptWatcher) -> bool:
        statuses = w.statuses.values()
        return sum(w.outcomes.values()) >= records and all(
            PARTNER in s.acknowledged_by for s in statuses if PARTNER in s.delivered_to
        )

    return settled


def _partner(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> PartnerProcess:
    (tmp_path / "partner").mkdir()
    return PartnerProcess(kafka, catalog, PARTNER, tmp_path / "partner")


def lossy_worker(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path, env_extra: dict[str, str]
) -> WorkerProcess:
    """``cjsx worker`` run through ``tests.support.lossy_worker`` with its loss settings."""
    return WorkerProcess(
        kafka, catalog, tmp_path, module="tests.support.lossy_worker", env_extra=env_extra
    )


def _uncommitted(
    kafka: Broker, catalog: TopicCatalog
) -> dict[tuple[str, int], tuple[int, int | None]]:
    """Input partitions the worker's group has not committed to their end: (end, committed)."""
    topics = [*(catalog.ingest(f) for f in TEST_FORCES), catalog.acks(PARTNER)]
    positions = group_positions(kafka, worker_app_id(catalog), topics)
    return {tp: (end, done) for tp, (end, done) in positions.items() if end and done != end}


@pytest.mark.timeout(300)
def test_records_lost_inside_the_framework_are_read_again_and_committed_past(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    traffic = make_traffic(cases_per_force=20, seed=41)
    # Three records in a row: Faust's commit lets a single unacknowledged record through by
    # itself (its off-by-one), not three.
    lose = f"{catalog.ingest(TEST_FORCES[0])}@3-5,{catalog.acks(PARTNER)}@3"
    worker = lossy_worker(
        kafka,
        catalog,
        tmp_path,
        # Only the refetch may move the commit past the hole, not a restart.
        env_extra={"CJSX_TEST_LOSE": lose, "CJSX_WORKER_COMMIT_STALL_SECONDS": "600"},
    )
    partner = _partner(kafka, catalog, tmp_path)
    watcher = _receipts(kafka, catalog)
    records = len(traffic.planned)
    try:
        worker.start()
        partner.start()
        publish_all(kafka, catalog, traffic)
        finished = watcher.wait_until(_settled(records), timeout=180)
        committed = processes.wait_for(lambda: not _uncommitted(kafka, catalog), 30, 1.0)
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
    assert committed, f"the commit stopped at a hole: {_uncommitted(kafka, catalog)}"


@pytest.mark.timeout(300)
def test_records_lost_before_a_generations_first_record_are_read_again(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """A restarted worker starts reading at the committed offset; records lost before the
    first one handed over are a hole too, though no earlier record of the generation shows
    it."""
    first, second = make_traffic(cases_per_force=20, seed=45), make_traffic(20, seed=47)
    partner = _partner(kafka, catalog, tmp_path)
    watcher = _receipts(kafka, catalog)
    records = len(first.planned) + len(second.planned)
    worker = WorkerProcess(kafka, catalog, tmp_path)
    try:
        worker.start()
        partner.start()
        publish_all(kafka, catalog, first)
        assert watcher.wait_until(_settled(len(first.planned)), timeout=180)
        assert processes.wait_for(lambda: not _uncommitted(kafka, catalog), 30, 1.0)
        worker.stop()
        topic = catalog.ingest(TEST_FORCES[0])
        (end, _), partition = min(
            (position, partition)
            for (name, partition), position in group_positions(
                kafka, worker_app_id(catalog), [topic]
            ).items()
            if name == topic
        )
        publish_all(kafka, catalog, second)
        worker = lossy_worker(
            kafka,
            catalog,
            tmp_path,  # same name and state: the group's member again, from its commits
            env_extra={
                "CJSX_TEST_LOSE": f"{topic}#{partition}@{end}-{end + 1}",
                "CJSX_WORKER_COMMIT_STALL_SECONDS": "600",
            },
        )
        worker.start()
        finished = watcher.wait_until(_settled(records), timeout=120)
        holes = worker.metric("cjsx_input_holes_total", stage="pipeline")
    finally:
        watcher.close()
        partner.stop()
        worker.stop()
    assert holes == 1.0  # the loss happened, and was noticed
    assert finished, "a record lost before the generation's first record was never processed"
    assert sum(watcher.outcomes.values()) == records


@pytest.mark.timeout(240)
def test_a_record_faust_skips_alone_at_the_commit_is_still_processed(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """Faust's stream skips a record handed over under an older generation and does not
    acknowledge it; alone in its partition, nothing after it shows a hole, and it waits at
    the commit. A force's resend to a restarted worker had no receipt that way."""
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=5)
    event = force.charge(force.new_case())
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap, topics=[catalog.receipts("05")], **kafka.client()
    )
    restarted = lossy_worker(
        kafka,
        catalog,
        tmp_path,
        env_extra={
            "CJSX_TEST_SKIP": catalog.ingest("05"),
            "CJSX_WORKER_COMMIT_STALL_SECONDS": "600",  # no restart: only the read may mend it
        },
    )
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("05"), **kafka.client("force-05")
    ) as publisher:
        first = WorkerProcess(kafka, catalog, tmp_path).start()
        try:
            publisher.publish(event).get(timeout=30)
            assert watcher.wait_until(lambda w: bool(w.outcomes), timeout=60)
        finally:
            first.stop()
        try:
            restarted.start()
            publisher.publish(event).get(timeout=30)
            finished = watcher.wait_until(lambda w: sum(w.outcomes.values()) >= 2, 90)
            holes = restarted.metric("cjsx_input_holes_total", stage="pipeline")
            # The read record is the commit's too: it stood at that record, nothing follows
            # it in its partition, and only the read can move it (no restart at 600 s).
            committed_past = processes.wait_for(
                lambda: not any(t == catalog.ingest("05") for t, _ in _uncommitted(kafka, catalog)),
                30,
            )
        finally:
            watcher.close()
            restarted.stop()
    assert holes == 1.0  # the skip happened, and the waiting record was read
    assert finished, "the skipped record was never processed"
    assert watcher.outcomes[("05", ReceiptStatus.DUPLICATE)] == 1
    assert committed_past, f"the commit stood at the read record: {_uncommitted(kafka, catalog)}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("lose", "blind"),
    [
        # Two records, the guard blinded: the agents go on past them, the commit cannot (a
        # single record Faust's commit passes by itself, see above).
        pytest.param("3-4", True, id="records-handled-past-the-commit"),
        # Every record from offset 3 on: nothing after them arrives to show the hole, and
        # more wait than the worker reads itself (its batch, 20 here), so it must restart.
        pytest.param("3-100000", False, id="a-partition-never-fed-again"),
    ],
)
def test_a_loss_the_worker_cannot_notice_stops_it_and_a_new_worker_processes_the_records(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path, lose: str, blind: bool
) -> None:
    traffic = make_traffic(cases_per_force=20, seed=43)
    lossy = lossy_worker(
        kafka,
        catalog,
        tmp_path,
        env_extra={
            "CJSX_TEST_LOSE": f"{catalog.ingest(TEST_FORCES[0])}@{lose}",
            "CJSX_TEST_UNNOTICED": "1" if blind else "0",
            "CJSX_WORKER_COMMIT_STALL_SECONDS": "8",
            "CJSX_WORKER_BATCH_SIZE": "20",
        },
    )
    restarted = WorkerProcess(kafka, catalog, tmp_path)  # same name and state, no loss
    partner = _partner(kafka, catalog, tmp_path)
    watcher = _receipts(kafka, catalog)
    records = len(traffic.planned)
    try:
        lossy.start()
        partner.start()
        publish_all(kafka, catalog, traffic)
        code = lossy.exit_code(timeout=120)
        assert code == _EXIT_TEMPFAIL, f"the stalled worker did not stop: {lossy.log}"
        complete_before = watcher.wait_until(
            lambda w: sum(w.outcomes.values()) >= records, timeout=10
        )
        stalled = "a commit stood still before its records" in lossy.log.read_text()
        restarted.start()
        finished = watcher.wait_until(_settled(records), timeout=180)
    finally:
        watcher.close()
        partner.stop()
        lossy.stop()
        restarted.stop()
    assert stalled, f"the worker stopped for another reason: {lossy.log}"
    assert not complete_before  # the lost records had no outcome from the first worker
    assert finished, "a record lost unnoticed was never processed after the restart"
    assert sum(watcher.outcomes.values()) == records
