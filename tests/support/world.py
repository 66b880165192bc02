"""Real processes for integration and end-to-end tests: broker, topics, worker, partners."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from common import processes
from infra.broker.node import BrokerSecurity, KafkaCluster, free_port
from infra.registry import load_registry
from infra.security.access import admin_client, apply_acls, apply_users
from infra.security.local import local_security
from infra.security.policy import ADMIN, principals
from infra.security.secrets import Credentials
from infra.topics import TopicCatalog, apply_topics
from schemas.codec import Codec
from schemas.models import AvroRecord

TEST_FORCES = ("01", "05", "93")
STARTED_SESSIONS: set[int] = set()
"""Session ids of the processes this harness started (each is a session leader), so the
leak checks in ``tests/conftest.py`` find their descendants even if they escaped."""


LONG_LIVED: list[KafkaCluster] = []
"""Clusters a session- or module-scoped fixture owns: a node such a cluster restarts inside
a test (a fault proof) belongs to the fixture, not to the test."""


def _track(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        STARTED_SESSIONS.add(process.pid)


@dataclass
class Broker:
    """The session's real broker with security on, and a way to connect as anyone."""

    cluster: KafkaCluster
    security: BrokerSecurity
    secrets_dir: Path

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    def client(self, principal: str = ADMIN) -> dict[str, Any]:
        """kafka-python settings to connect as ``principal`` (a registry principal or admin)."""
        return self.security.client(principal, Credentials(self.secrets_dir).password(principal))

    def start(self) -> None:
        """(Re)start every node and wait until the cluster answers; stop() undoes it."""
        self.cluster.start()
        for node in self.cluster.nodes:
            _track(node.process)

    def apply_users(self) -> None:
        """SCRAM users for every principal of the full registry."""
        names = principals(load_registry())
        passwords = Credentials(self.secrets_dir).ensure(names)
        admin = admin_client(self.bootstrap, self.client())
        try:
            apply_users(admin, {n: passwords[n] for n in names})
        finally:
            admin.close()


def start_broker(home: Path, lib: Path, size: int = 1) -> Broker:
    """A real secured cluster in ``home``; stopped again if it cannot be made ready.
    The caller stops it (``broker.cluster.stop()``) on every outcome."""
    secrets_dir = home / "secrets"
    security = local_security(secrets_dir)
    cluster = KafkaCluster.create(home / "cluster", lib, size=size, heap="512m", security=security)
    broker = Broker(cluster, security, secrets_dir)
    try:
        broker.start()
        broker.apply_users()
    except BaseException:
        cluster.stop()
        raise
    return broker


def worker_app_id(catalog: TopicCatalog) -> str:
    return f"cjsx-{catalog.namespace}"


def group_positions(
    broker: Broker, group: str, topics: list[str]
) -> dict[tuple[str, int], tuple[int, int | None]]:
    """Per partition of ``topics``: its end offset and ``group``'s committed offset (None:
    nothing committed, or the group could not be asked)."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, **broker.client())
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **broker.client())
    try:
        tps = [
            TopicPartition(t, n)
            for t in topics
            for n in sorted(consumer.partitions_for_topic(t) or ())
        ]
        ends = consumer.end_offsets(tps)
        try:
            done = admin.list_group_offsets({group: tps}).get(group, {})
        except KafkaError:
            done = {}
    finally:
        consumer.close()
        admin.close()
    return {
        (tp.topic, tp.partition): (ends[tp], None if tp not in done else int(done[tp].offset))
        for tp in tps
    }


def new_catalog(broker: Broker, forces: tuple[str, ...] = TEST_FORCES) -> TopicCatalog:
    """A fresh, isolated topic set on the shared broker, with the registry's ACLs on it."""
    catalog = TopicCatalog(
        load_registry().limited_to(list(forces)), namespace=f"t{uuid.uuid4().hex[:10]}"
    )
    apply_topics(catalog, broker.bootstrap, **broker.client())
    admin = admin_client(broker.bootstrap, broker.client())
    try:
        apply_acls(admin, catalog, worker_app_id=worker_app_id(catalog))
    finally:
        admin.close()
    return catalog


class _Child:
    """A ``cjsx`` command run as a child process of the test, in the test's world."""

    broker: Broker
    catalog: TopicCatalog
    home: Path
    process: subprocess.Popen[bytes] | None

    def _env(self) -> dict[str, str]:
        return {
            "CJSX_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "CJSX_SECRETS_DIR": str(self.broker.secrets_dir),
            "CJSX_TOPIC_NAMESPACE": self.catalog.namespace,
            "CJSX_FORCES": ",".join(f.code for f in self.catalog.registry.forces),
            "CJSX_CACHE_DIR": str(self.home),
        }

    def stop(self) -> int | None:
        return processes.stop(self.process) if self.process is not None else None

    def exit_code(self, timeout: float) -> int | None:
        """The code the process exits with by itself within ``timeout`` seconds (None: still
        running, or never started)."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final commit."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class WorkerProcess(_Child):
    """``cjsx worker`` as a real child process, connecting as ``exchange-worker``."""

    broker: Broker
    catalog: TopicCatalog
    home: Path
    name: str = "worker-1"
    order_hold_seconds: float = 2.0
    supervised: bool = False
    """Run under ``cjsx worker``'s supervisor; by default the Faust process itself, so a
    SIGKILL lands exactly on the worker."""
    env_extra: dict[str, str] = field(default_factory=dict)
    module: str = "cjsx"
    """The module run as the command (a test may run a wrapper of ``cjsx``)."""
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def app_id(self) -> str:
        return worker_app_id(self.catalog)

    @property
    def log(self) -> Path:
        return self.home / f"{self.name}.log"

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log, for a failure message: CI keeps no temporary folders,
        and the logs hold no case data."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> WorkerProcess:
        env = {
            **self._env(),
            "CJSX_WORKER_ID": self.app_id,
            "CJSX_WORKER_WEB_PORT": str(self.web_port),
            "CJSX_ORDER_HOLD_SECONDS": str(self.order_hold_seconds),
            **self.env_extra,
        }
        command = [sys.executable, "-m", self.module, "worker", "--name", self.name]
        if not self.supervised:
            command.append("--no-supervise")
        self.process = processes.spawn(command, log=self.log, env=env)
        _track(self.process)
        try:
            if not processes.wait_for(lambda: self.metrics() is not None, 60):
                raise RuntimeError(f"worker did not serve /metrics; see {self.log}")
        except BaseException:
            self.stop()
            raise
        return self

    def dump_stacks(self, wait: float = 3.0) -> None:
        """Have the Faust process (itself, or the supervisor's child) write every thread's
        stack and every asyncio task to its log (mode's SIGUSR1 handler): what a stuck worker
        was waiting on, for a failed proof's kept logs."""
        if self.process is None or self.process.poll() is not None:
            return
        children = processes.descendants(self.process.pid)
        faust = (
            [i.pid for i in children if "--no-supervise" in i.command]
            if self.supervised
            else [self.process.pid]  # the supervisor itself would die of SIGUSR1
        )
        for pid in faust:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
        time.sleep(wait)

    def metrics(self) -> str | None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"worker exited with {self.process.returncode}; see {self.log}; it ends:\n"
                + self.log_tail()
            )
        try:
            url = f"http://127.0.0.1:{self.web_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            return None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        total = 0.0
        for line in (self.metrics() or "").splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


@dataclass
class PartnerProcess(_Child):
    """``cjsx partner run`` as a real child process, connecting as the partner."""

    broker: Broker
    catalog: TopicCatalog
    partner: str
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.home / (self.partner + '.sqlite')}"

    def start(self) -> PartnerProcess:
        env = self._env()
        command = [
            sys.executable,
            "-m",
            "cjsx",
            "partner",
            "run",
            "--partner",
            self.partner,
            "--store",
            self.store_url,
        ]
        self.process = processes.spawn(command, log=self.home / f"{self.partner}.log", env=env)
        _track(self.process)
        return self


def read_topic(
    broker: Broker,
    topic: str,
    *,
    timeout_ms: int = 3000,
    codec: Codec | None = None,
    principal: str = ADMIN,
) -> Iterator[tuple[bytes | None, bytes, AvroRecord | None]]:
    """Everything on a topic from the start, until it is idle for ``timeout_ms``."""
    codec = codec or Codec()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
        **broker.client(principal),
    )
    try:
        for record in consumer:
            try:
                decoded: AvroRecord | None = codec.decode(record.value)
            except Exception:  # noqa: BLE001 - a test helper shows undecodable records as None
                decoded = None
            yield record.key, record.value, decoded
    finally:
        consumer.close()


def stuck_producer(broker: Broker, topic: str) -> KafkaProducer:
    """A producer that knows ``topic`` on ``broker``, which is then killed: what it is
    handed stays in its buffer."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **broker.client())
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=True, **broker.client()
    )
    producer.send(topic, b"known").get(timeout=30)
    broker.cluster.nodes[0].kill()
    return producer
