"""The exchange on three brokers, under faults: nothing lost, nothing twice in any store.

One secured three-node KRaft cluster serves the module; each fault gets a fresh topic set,
its own supervised worker and the partners' subscriber processes, mixed traffic published at
a steady rate, and the fault injected mid-stream. Each proof then checks conservation
(published = accepted + rejected + duplicate per force, every event with its outcome
receipt), that each partner store holds each of its deliveries exactly once, and that every
delivery was acknowledged; and adds a figure to ``.cache/reports/faults.json``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from common import processes
from tests.e2e.faults_support import (
    FaultRun,
    active_controller,
    admin,
    busiest_ingest_leader,
    fault_run,
    node,
    restart,
    resume_all,
    verify,
    wait_fully_replicated,
)
from tests.support.world import LONG_LIVED, Broker, start_broker

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path) -> Iterator[Broker]:
    """Three secured nodes, each broker and controller; min.insync.replicas 2."""
    broker = start_broker(tmp_path_factory.mktemp("kafka3"), kafka_lib, size=3)
    LONG_LIVED.append(broker.cluster)  # a node a proof restarts is this fixture's
    try:
        yield broker
    finally:
        LONG_LIVED.remove(broker.cluster)
        resume_all(broker)
        broker.cluster.stop()


@pytest.fixture
def brokers(cluster: Broker) -> Broker:
    """The cluster whole again, whatever an earlier proof left behind."""
    resume_all(cluster)
    for n in cluster.cluster.nodes:
        if not n.is_running():
            restart(cluster, n)
    cluster.cluster.wait_ready(60)
    return cluster


def topics_of(run: FaultRun) -> list[str]:
    return [t.name for t in run.catalog.topics()]


def wait_recovered(run: FaultRun, since: float, timeout: float = 90) -> float:
    """Seconds from ``since`` until the exchange produced outcomes again (fails on timeout)."""
    ok = processes.wait_for(
        lambda: run.progress.recovered_after(since, run.total) is not None, timeout, 0.5
    )
    assert ok, f"no progress within {timeout}s of the fault; see {run.worker.log}"
    seconds = run.progress.recovered_after(since, run.total)
    assert seconds is not None
    return round(seconds, 1)


def follower_node(broker: Broker) -> int:
    """A node that is not the active controller: a broker fault, not a controller one."""
    controller = active_controller(broker)
    return next(n.node_id for n in broker.cluster.nodes if n.node_id != controller)


@pytest.mark.timeout(420)
def test_topics_have_three_replicas_and_no_unclean_election_and_a_killed_broker_loses_nothing(
    brokers: Broker, tmp_path: Path
) -> None:
    with fault_run(brokers, tmp_path, seed=101) as run:
        # Replication comes from the cluster: the spec's topics and the worker's own state.
        client = admin(brokers)
        try:

            def changelogs() -> list[str]:
                return [t for t in client.list_topics() if t.startswith(run.worker.app_id)]

            assert processes.wait_for(lambda: len(changelogs()) >= 2, 60, interval=1.0)
            described = client.describe_topics([*topics_of(run), *changelogs()])
            configs = client.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, run.catalog.ingest("01"))],
                config_filter="all",
            )
        finally:
            client.close()
        assert {len(p["replica_nodes"]) for t in described for p in t["partitions"]} == {3}
        ingest = next(iter(next(iter(configs.values())).values()))
        assert ingest["unclean.leader.election.enable"]["value"] == "false"
        assert ingest["min.insync.replicas"]["value"] == "2"

        run.start_publishing()
        run.wait_published(0.3)
        victim = node(brokers, follower_node(brokers))
        since = time.monotonic()
        victim.kill()  # SIGKILL: no controlled shutdown
        seconds = wait_recovered(run, since)
        run.wait_published(0.8)
        restart(brokers, victim)
        verify(run, "broker_sigkilled_then_restarted", seconds)
        wait_fully_replicated(brokers, topics_of(run))


@pytest.mark.timeout(420)
def test_killing_the_busiest_partitions_leader_then_the_active_controller_loses_nothing(
    brokers: Broker, tmp_path: Path
) -> None:
    with fault_run(brokers, tmp_path, seed=202) as run:
        run.start_publishing()
        run.wait_published(0.1)
        leader = node(brokers, busiest_ingest_leader(brokers, run.catalog))
        since = time.monotonic()
        leader.kill()
        run.wait_published(0.3)
        run.gate.clear()  # hold the rest back, so the controller fault also lands mid-stream
        first = wait_recovered(run, since)
        restart(brokers, leader)
        wait_fully_replicated(brokers, topics_of(run))
        controller = node(brokers, active_controller(brokers))
        since = time.monotonic()
        controller.kill()
        run.gate.set()
        second = wait_recovered(run, since)
        restart(brokers, controller)
        print("recovered after the leader", first, "and the controller", second)
        verify(run, "partition_leader_then_controller_killed", max(first, second))
        wait_fully_replicated(brokers, topics_of(run))


@pytest.mark.timeout(420)
def test_a_broker_paused_for_thirty_seconds_loses_nothing(brokers: Broker, tmp_path: Path) -> None:
    with fault_run(brokers, tmp_path, seed=303) as run:
        run.start_publishing()
        run.wait_published(0.3)
        paused = node(brokers, busiest_ingest_leader(brokers, run.catalog))
        since = time.monotonic()
        paused.signal(signal.SIGSTOP)  # like a long GC pause: connections open, no answers
        try:
            time.sleep(30)
        finally:
            paused.signal(signal.SIGCONT)
        seconds = wait_recovered(run, since)
        verify(run, "broker_paused_30s", seconds)
        wait_fully_replicated(brokers, topics_of(run))


@pytest.mark.timeout(420)
def test_stopping_the_whole_cluster_mid_run_and_starting_it_again_loses_nothing(
    brokers: Broker, tmp_path: Path
) -> None:
    with fault_run(brokers, tmp_path, seed=404) as run:
        run.start_publishing()
        run.wait_published(0.3)
        nodes = brokers.cluster.nodes
        since = time.monotonic()
        for n in nodes:
            n.signal(signal.SIGTERM)  # all at once, as a power cut with a clean shutdown
        for n in nodes:
            n.stop()
        time.sleep(5)
        for n in nodes:
            restart(brokers, n)
        brokers.cluster.wait_ready(90)
        seconds = wait_recovered(run, since, timeout=150)
        verify(run, "whole_cluster_stopped_and_started", seconds)
        wait_fully_replicated(brokers, topics_of(run))


@pytest.mark.timeout(420)
def test_restarting_the_worker_while_a_broker_is_down_loses_nothing(
    brokers: Broker, tmp_path: Path
) -> None:
    with fault_run(brokers, tmp_path, seed=505) as run:
        run.start_publishing()
        run.wait_published(0.3)
        down = node(brokers, busiest_ingest_leader(brokers, run.catalog))
        since = time.monotonic()
        down.kill()
        run.worker.kill()  # SIGKILL the supervisor; its worker dies with it
        run.worker.start()  # on the same local state, against two brokers of three
        seconds = wait_recovered(run, since)
        restart(brokers, down)
        verify(run, "worker_restarted_while_a_broker_is_down", seconds)
        wait_fully_replicated(brokers, topics_of(run))
