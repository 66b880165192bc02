"""What the fault proofs share: a run of the exchange on the three-broker cluster, faults to
inject into it, and the checks every fault must pass.

A ``FaultRun`` is one fresh topic set with its own supervised worker, the partners' subscriber
processes, a rate-limited publisher thread (so a fault lands while forces are still
publishing and the worker is mid-stream) and a progress monitor that timestamps outcome
receipts (so recovery is measured, not guessed). Everything it starts is stopped on any
outcome. The conservation checks are those of ``test_delivery_guarantees``, imported.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from common import processes
from infra.broker.node import KafkaNode
from infra.topics import TopicCatalog
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.traffic import Traffic, publish
from schemas.codec import Codec
from schemas.models import Delivery, RejectedEvent
from tests.e2e.test_delivery_guarantees import (
    Observed,
    check_conservation,
    check_ordering,
    make_traffic,
    settle,
)
from tests.support.world import TEST_FORCES, Broker, PartnerProcess, WorkerProcess, new_catalog

REPORT = Path(__file__).resolve().parents[2] / ".cache" / "reports" / "faults.json"
LOGS = REPORT.parent / "faults-logs"
RECIPIENTS = (
    "cps-london-north",
    "cps-london-south",
    "cps-mersey-cheshire",
    "court-magistrates",
    "court-crown",
)
"""Who the test forces' cases go to; a delivery to anyone else fails the run (no store)."""
PROGRESS = 100
"""Outcome receipts after a fault that count as "the exchange is working again"."""


def admin(broker: Broker) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000, **broker.client()
    )


def node(broker: Broker, node_id: int) -> KafkaNode:
    return next(n for n in broker.cluster.nodes if n.node_id == node_id)


def restart(broker: Broker, target: KafkaNode) -> None:
    """Start a stopped node again on its own data (no format: it keeps its log)."""
    target.start(die_with_parent=True)
    if not processes.wait_for(target.is_running, 10):
        raise RuntimeError(f"node {target.node_id} did not start; see {target.log_file}")


def under_replicated(broker: Broker, topics: list[str]) -> int:
    """Partitions of ``topics`` whose in-sync replicas are fewer than their replicas."""
    client = admin(broker)
    try:
        described = client.describe_topics(topics)
    finally:
        client.close()
    return sum(
        1
        for topic in described
        for p in topic["partitions"]
        if p["error_code"] != 0 or len(p["isr_nodes"]) < len(p["replica_nodes"])
    )


def wait_fully_replicated(broker: Broker, topics: list[str], timeout: float = 180) -> None:
    """Every replica of ``topics`` back in sync: a restarted node has caught up."""

    def healthy() -> bool:
        try:
            return under_replicated(broker, topics) == 0
        except Exception:  # noqa: BLE001 - a cluster that is still electing answers errors
            return False

    assert processes.wait_for(healthy, timeout, interval=1.0), "replicas did not catch up"


def busiest_ingest_leader(broker: Broker, catalog: TopicCatalog) -> int:
    """The broker leading the ingest partition holding the most records right now."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, **broker.client())
    client = admin(broker)
    try:
        partitions = [
            TopicPartition(t, p)
            for t in catalog.ingest_topics()
            for p in range(catalog.ingest_partitions)
        ]
        ends = consumer.end_offsets(partitions)
        busiest = max(partitions, key=lambda tp: ends[tp])
        described = client.describe_topics([busiest.topic])
    finally:
        consumer.close()
        client.close()
    leader = next(
        p["leader_id"]
        for p in described[0]["partitions"]
        if p["partition_index"] == busiest.partition
    )
    return int(leader)


def wait_metadata_everywhere(broker: Broker, timeout: float = 60) -> None:
    """Wait until every node has replicated the cluster metadata written so far (the new
    topic set's ACLs among it), so no process meets a broker that does not know it yet."""
    client = admin(broker)
    try:
        target = client.describe_metadata_quorum()["topics"][0]["partitions"][0]["high_watermark"]

        def caught_up() -> bool:
            state = client.describe_metadata_quorum()["topics"][0]["partitions"][0]
            return all(v["log_end_offset"] >= target for v in state["current_voters"])

        assert processes.wait_for(caught_up, timeout, interval=0.5), "metadata lagging"
    finally:
        client.close()
    time.sleep(2)  # and for each broker to apply what it has replicated


def active_controller(broker: Broker) -> int:
    """The KRaft quorum's leader: the node whose loss forces a controller election."""
    client = admin(broker)
    try:
        quorum = client.describe_metadata_quorum()
    finally:
        client.close()
    return int(quorum["topics"][0]["partitions"][0]["leader_id"])


class _CheckedPublisher(Publisher):
    """A publisher that keeps every send's future, so a record the broker never
    acknowledged shows up as a publishing failure rather than as a loss downstream."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.futures: list[Any] = []

    def send_raw(self, key: bytes | None, value: bytes, headers: Any = ()) -> Any:
        future = super().send_raw(key, value, headers)
        self.futures.append(future)
        return future


@dataclass
class Progress:
    """Timestamps of outcome-receipt counts, sampled by a thread with its own watcher."""

    samples: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def latest(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def recovered_after(self, fault_at: float, total: int) -> float | None:
        """Seconds from ``fault_at`` until ``PROGRESS`` more outcomes had arrived."""
        before = max((n for t, n in self.samples if t <= fault_at), default=0)
        target = min(before + PROGRESS, total)
        return next((t - fault_at for t, n in self.samples if t > fault_at and n >= target), None)


@dataclass
class FaultRun:
    broker: Broker
    catalog: TopicCatalog
    home: Path
    traffic: Traffic
    rate: float
    worker: WorkerProcess
    partners: dict[str, PartnerProcess] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    published: int = 0
    publish_errors: list[BaseException] = field(default_factory=list)
    publishers: dict[str, _CheckedPublisher] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)
    """Set while the forces may publish; cleared, publishing pauses where it is."""
    fault_at: float | None = None

    @property
    def total(self) -> int:
        return len(self.traffic.planned)

    def start_publishing(self) -> None:
        self.gate.set()
        for force in TEST_FORCES:
            self.publishers[force] = _CheckedPublisher(
                bootstrap_servers=self.broker.bootstrap,
                topic=self.catalog.ingest(force),
                # Long enough to outlast a whole-cluster restart: without the outbox (issue 10,
                # item 3) a force's send that times out is the force's loss, not the exchange's.
                delivery_timeout_ms=300_000,
                max_block_ms=300_000,
                **self.broker.client(f"force-{force}"),
            )
        thread = threading.Thread(target=self._publish, name="publisher", daemon=True)
        self.threads.append(thread)
        thread.start()
        monitor = threading.Thread(target=self._monitor, name="progress", daemon=True)
        self.threads.append(monitor)
        monitor.start()

    def _publish(self) -> None:
        try:
            for i, _ in enumerate(publish(self.traffic.planned, dict(self.publishers)), 1):
                self.published = i
                while not self.gate.wait(0.5):
                    if self.stopping.is_set():
                        return
                if self.stopping.is_set():
                    return
                if i % 10 == 0:
                    time.sleep(10 / self.rate)
            for publisher in self.publishers.values():
                publisher.flush(timeout=300)
        except BaseException as error:  # noqa: BLE001 - reported by finish_publishing
            self.publish_errors.append(error)

    def _monitor(self) -> None:
        watcher = ReceiptWatcher(
            bootstrap_servers=self.broker.bootstrap,
            topics=[self.catalog.receipts(f) for f in TEST_FORCES],
            **self.broker.client(),
        )
        try:
            while not self.progress.stop.is_set():
                watcher.poll(timeout_ms=200)
                count = sum(watcher.outcomes.values())
                self.progress.samples.append((time.monotonic(), count))
        finally:
            watcher.close()

    def wait_published(self, fraction: float, timeout: float = 120) -> None:
        reached = processes.wait_for(lambda: self.published >= self.total * fraction, timeout)
        assert reached, f"publishing did not reach {fraction:.0%}"

    def mark_fault(self) -> None:
        self.fault_at = time.monotonic()

    def finish_publishing(self, timeout: float = 330) -> None:
        """Wait for the publisher; every record must have been acknowledged by the broker."""
        self.threads[0].join(timeout)
        assert not self.threads[0].is_alive(), "publishing did not finish"
        assert not self.publish_errors, self.publish_errors
        for publisher in self.publishers.values():
            for future in publisher.futures:
                future.get(timeout=1)  # raises what the broker refused
        assert self.published == self.total

    def close(self) -> None:
        self.stopping.set()
        self.progress.stop.set()
        for thread in self.threads:
            thread.join(30)
        for publisher in self.publishers.values():
            with contextlib.suppress(Exception):
                publisher.producer.close(timeout=5)
        self.worker.stop()
        for partner in self.partners.values():
            partner.stop()


@contextlib.contextmanager
def fault_run(
    broker: Broker, home: Path, *, seed: int, cases: int = 200, rate: float = 150
) -> Iterator[FaultRun]:
    """A fresh topic set, its partners and a supervised worker; all stopped on any outcome.

    Supervised, because a worker whose batch the broker did not acknowledge stops itself
    before committing (exit 75, ``streams/emitter.py``) and must be started again.
    """
    catalog = new_catalog(broker)
    wait_metadata_everywhere(broker)
    worker = WorkerProcess(broker, catalog, home, supervised=True)
    run = FaultRun(broker, catalog, home, make_traffic(cases, seed), rate, worker)
    failed = False
    try:
        for partner in RECIPIENTS:
            run.partners[partner] = PartnerProcess(broker, catalog, partner, home / "partners")
            run.partners[partner].start()
        worker.start()
        yield run
    except BaseException:
        failed = True
        worker.dump_stacks()  # before anything is stopped: what it was waiting on
        raise
    finally:
        run.close()
        if failed:
            keep_logs(home, broker)


def keep_logs(home: Path, broker: Broker) -> None:
    """Copy a failed run's process logs (worker, partners, brokers) beside the report, so the
    cause can be read after pytest has removed its temporary folders."""
    target = LOGS / home.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for log in home.rglob("*.log"):
        shutil.copy(log, target / f"{log.parent.name}-{log.name}")
    for n in broker.cluster.nodes:
        with contextlib.suppress(OSError):
            shutil.copy(n.log_file, target / f"broker-{n.node_id}.log")
    print("fault run logs kept in", target)


def read_outputs(broker: Broker, catalog: TopicCatalog, watcher: ReceiptWatcher) -> Observed:
    """Every delivery topic and the rejected topic, read to their current ends at once."""
    codec = Codec()
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, enable_auto_commit=False, **broker.client()
    )
    deliveries: dict[str, list[Delivery]] = {p.id: [] for p in catalog.registry.partners}
    rejections: set[UUID] = set()
    undecodable: Counter[str] = Counter()
    try:
        topics = [catalog.deliver(p.id) for p in catalog.registry.partners] + [catalog.rejected]
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, "could not read the outputs back"
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    value = codec.decode(record.value)
                    if isinstance(value, Delivery):
                        deliveries.setdefault(value.recipient, []).append(value)
                    elif (
                        isinstance(value, RejectedEvent)
                        and value.event_id is None
                        and value.rejection_id not in rejections  # re-emitted: same id
                    ):
                        rejections.add(value.rejection_id)
                        undecodable[value.force or "?"] += 1
    finally:
        consumer.close()
    return Observed(watcher, deliveries=deliveries, undecodable=undecodable)


def partner_positions(
    broker: Broker, catalog: TopicCatalog, partners: list[str]
) -> dict[str, list[tuple[int, int, int, int | None]]]:
    """Per partner, its delivery partitions as (partition, high watermark, last stable
    offset, the partner group's committed offset): tells a partner that stopped fetching
    (committed < LSO) from records it may not read yet (LSO < high watermark)."""
    plain = KafkaConsumer(bootstrap_servers=broker.bootstrap, **broker.client())
    committed_reader = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, isolation_level="read_committed", **broker.client()
    )
    client = admin(broker)
    found: dict[str, list[tuple[int, int, int, int | None]]] = {}
    try:
        for partner in partners:
            topic = catalog.deliver(partner)
            tps = [TopicPartition(topic, n) for n in sorted(plain.partitions_for_topic(topic))]
            high = plain.end_offsets(tps)
            stable = committed_reader.end_offsets(tps)
            group = catalog.partner_group(partner)
            try:
                done = client.list_group_offsets({group: tps}).get(group, {})
            except KafkaError:  # no coordinator yet: shown as nothing committed
                done = {}
            found[partner] = [
                (
                    tp.partition,
                    high[tp],
                    stable[tp],
                    None if tp not in done else int(done[tp].offset),
                )
                for tp in tps
            ]
    finally:
        plain.close()
        committed_reader.close()
        client.close()
    return found


def store_rows(store: Path) -> list[tuple[str, str]]:
    """(delivery id, event id) of every row a partner's store holds."""
    query = "SELECT delivery_id, event_id FROM deliveries"
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as conn:
        return [(str(d), str(e)) for d, e in conn.execute(query)]


def verify(run: FaultRun, fault: str, seconds_to_recover: float | None) -> dict[str, Any]:
    """Every promise after a fault; returns the figure written to the report."""
    broker, catalog, traffic = run.broker, run.catalog, run.traffic
    run.finish_publishing()
    watcher = settle(broker, catalog, traffic, timeout=240)
    try:
        observed = read_outputs(broker, catalog, watcher)
        outcomes = sum(watcher.outcomes.values())
        figure: dict[str, Any] = {
            "published": run.total,
            "outcomes": outcomes,
            "lost": run.total - outcomes,
            "duplicates_in_stores": None,
            "seconds_to_recover": seconds_to_recover,
        }
        receivers = {p for p, d in observed.deliveries.items() if d}
        assert receivers <= set(RECIPIENTS), f"deliveries to partners without a store: {receivers}"
        check_conservation(catalog, traffic, observed)
        expected = {p: {d.delivery_id for d in observed.deliveries[p]} for p in RECIPIENTS}
        paths = {p: run.home / "partners" / f"{p}.sqlite" for p in RECIPIENTS}

        def drained() -> bool:
            return all(len(store_rows(paths[p])) >= len(expected[p]) for p in RECIPIENTS)

        caught_up = processes.wait_for(drained, 180, interval=1.0)
        exited = [p for p, child in run.partners.items() if child.process and child.process.poll()]
        short = {
            p: f"{len(store_rows(paths[p]))} stored of {len(expected[p])}"
            for p in RECIPIENTS
            if len(store_rows(paths[p])) < len(expected[p])
        }
        assert caught_up, (
            f"partners did not catch up; exited: {exited}; short: {short}; "
            f"partitions: {partner_positions(broker, catalog, list(short))}"
        )
        assert watcher.wait_until(
            lambda w: all(s.delivered_to <= s.acknowledged_by for s in w.statuses.values()),
            timeout=180,
        ), "not every delivery was acknowledged"
        duplicates = 0
        for p in RECIPIENTS:
            rows = store_rows(paths[p])
            events = Counter(e for _, e in rows)
            duplicates += sum(n - 1 for n in events.values())  # one event stored twice
            assert {UUID(d) for d, _ in rows} == expected[p], p  # nothing missing, nothing else
        figure["duplicates_in_stores"] = duplicates
        record(fault, figure)
        assert figure["lost"] == 0
        assert duplicates == 0
        check_order(traffic, observed)
    finally:
        watcher.close()
    return figure


def check_order(traffic: Traffic, observed: Observed) -> None:
    """Case order at every partner; the gap flag where it is owed.

    ``check_ordering`` expects each partner's first delivery of a gap case to carry
    RELEASED_AFTER_GAP, but a court is not sent every event (``streams/route/policy.toml``):
    when the first event after the gap is one a court may not see, the court's first delivery
    of that case is rightly IN_ORDER. CPS areas receive every event of their cases, so the
    flag is checked there, and case order everywhere.
    """
    cps = {p: d for p, d in observed.deliveries.items() if p.startswith("cps-")}
    check_ordering(traffic, Observed(observed.watcher, cps, observed.undecodable))
    for partner, deliveries in observed.deliveries.items():
        by_case: dict[str, list[int]] = {}
        seen: set[UUID] = set()
        for d in deliveries:
            if d.delivery_id not in seen:
                seen.add(d.delivery_id)
                by_case.setdefault(d.event.envelope.case_urn, []).append(d.event.envelope.sequence)
        for urn, sequences in by_case.items():
            assert sequences == sorted(sequences), (partner, urn)


def record(fault: str, figure: dict[str, Any]) -> None:
    """Add one fault's figure to ``.cache/reports/faults.json`` (other faults' kept)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = json.loads(REPORT.read_text())
    except (FileNotFoundError, ValueError):
        report = {}
    report[fault] = figure
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print("fault", fault, json.dumps(figure))


def resume_all(broker: Broker) -> None:
    """SIGCONT every node: a paused JVM ignores SIGTERM, so this comes before any stop."""
    for n in broker.cluster.nodes:
        n.signal(signal.SIGCONT)


Inject = Callable[[FaultRun], None]
