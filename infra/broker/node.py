"""Run real Apache Kafka 4.x nodes (KRaft, combined broker+controller) on loopback.

A ``KafkaCluster`` of one node serves the demo and most tests; three nodes serve fault tests.
Each node gets free ports, its own data directory and log file, a capped heap, and is stopped
with SIGTERM then SIGKILL so no JVM outlives its owner. Nodes started for tests die with the
process that started them (``PR_SET_PDEATHSIG``), even if that process is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import processes
from infra.broker.provision import BrokerError

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="{log}"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers>
    <Logger name="kafka" level="INFO"/>
    <Logger name="org.apache.kafka" level="INFO"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


_OWNER_ONLY = 0o077
"""The umask of every broker process: its log segments hold case data, so every file it
creates is 0600 and every folder 0700 (the node folder itself is made 0700 too)."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class BrokerSecurity:
    """SASL/SCRAM-SHA-512 over TLS for clients and between brokers; SASL/PLAIN on the
    loopback-only controller listener, so broker-to-controller calls authenticate as the
    ``controller`` super user rather than arriving as ``User:ANONYMOUS`` (which the
    authorizer would refuse). No plaintext client listener exists."""

    ca_cert: Path
    keystore: Path
    broker_password: str
    controller_password: str
    admin_password: str

    def properties(self, client_port: int, controller_port: int) -> dict[str, str]:
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        return {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{client_port},CONTROLLER://127.0.0.1:{controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{client_port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                f'{plain} required username="controller" '
                f'password="{self.controller_password}" '
                f'user_controller="{self.controller_password}";'
            ),
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                f'{scram} required username="broker" password="{self.broker_password}";'
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore.resolve()),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_cert.resolve()),
            "authorizer.class.name": ("org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
            "super.users": "User:broker;User:controller;User:admin",
            "allow.everyone.if.no.acl.found": "false",
        }

    def format_args(self) -> tuple[str, ...]:
        """SCRAM users the broker needs before any client can manage others (KIP-900)."""
        return (
            "--add-scram",
            f"SCRAM-SHA-512=[name=broker,password={self.broker_password}]",
            "--add-scram",
            f"SCRAM-SHA-512=[name=admin,password={self.admin_password}]",
        )

    def client(self, username: str, password: str) -> dict[str, Any]:
        """kafka-python settings for one principal."""
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": username,
            "sasl_plain_password": password,
            "ssl_cafile": str(self.ca_cert.resolve()),
        }

    @property
    def admin_client(self) -> dict[str, Any]:
        return self.client("admin", self.admin_password)


@dataclass
class KafkaNode:
    """One combined broker+controller process."""

    node_id: int
    home: Path
    lib: Path
    client_port: int
    controller_port: int
    heap: str = "512m"
    extra: Mapping[str, str] = field(default_factory=dict)
    security: BrokerSecurity | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def properties_file(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def properties(self, voters: str, replication: int) -> dict[str, str]:
        """The node's server.properties; ``extra`` overrides (security, for instance)."""
        min_isr = str(min(2, replication))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.client_port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.client_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir.resolve()),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": str(replication),
            "min.insync.replicas": min_isr if replication > 1 else "1",
            "offsets.topic.replication.factor": str(replication),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(replication),
            "transaction.state.log.min.isr": min_isr if replication > 1 else "1",
            "share.coordinator.state.topic.replication.factor": str(replication),
            "share.coordinator.state.topic.min.isr": min_isr if replication > 1 else "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        if self.security is not None:
            props.update(self.security.properties(self.client_port, self.controller_port))
        props.update(self.extra)
        return props

    def write_config(self, voters: str, replication: int) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        lines = [f"{k}={v}" for k, v in self.properties(voters, replication).items()]
        # The file holds the brokers' own passwords: owner-only.
        fd = os.open(self.properties_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        (self.home / "log4j2.xml").write_text(_LOG4J2.format(log=self.log_file.resolve()))

    def _java(self, main: str, *args: str) -> list[str]:
        return [*self._jvm(main), main, *args]

    def _jvm(self, main: str) -> list[str]:
        """The JVM's own options (no application arguments, so never a secret)."""
        return [
            "java",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            # One-shot tools start faster without the optimising compiler.
            *(["-XX:TieredStopAtLevel=1"] if main != "kafka.Kafka" else []),
            f"-Dlog4j2.configurationFile={(self.home / 'log4j2.xml').resolve()}",
            "-cp",
            f"{self.lib.resolve()}/*",
        ]

    def format(self, cluster_id: str, secret_args: tuple[str, ...] = ()) -> None:
        """Format the node's storage for ``cluster_id`` (KRaft needs this before first start).

        ``secret_args`` (the SCRAM users, passwords included) never reach the command line,
        where any local user could read them in ``/proc/<pid>/cmdline``: the main class and
        every application argument go into an owner-only argument file that the JDK launcher
        expands (``java @file``, JDK 9+; it expands ``@file`` only before the main class, so
        the main class is in the file too), and the file is removed as soon as the tool ends.
        """
        arguments = [
            "kafka.tools.StorageTool",
            "format",
            # One argument: a cluster id may begin with "-", which argparse takes for a flag.
            f"--cluster-id={cluster_id}",
            "--config",
            str(self.properties_file.resolve()),
            "--ignore-formatted",
            *secret_args,
        ]
        with _argument_file(self.home, arguments) as argfile:
            command = [*self._jvm("kafka.tools.StorageTool"), f"@{argfile}"]
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, umask=_OWNER_ONLY
            )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-3000:]
            raise BrokerError(f"formatting node {self.node_id} failed:\n{output}")

    def start(self, *, die_with_parent: bool) -> None:
        command = self._java("kafka.Kafka", str(self.properties_file.resolve()))
        with open(self.home / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=processes.die_with_parent if die_with_parent else None,
                umask=_OWNER_ONLY,
            )
        self.pid_file.write_text(str(self.process.pid))

    def is_running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        if self.process is not None:
            return self.process.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return _is_kafka_process(pid)

    def pid(self) -> int | None:
        if self.process is not None:
            return self.process.pid
        try:
            return int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, wait for a clean shutdown, then SIGKILL what is left."""
        if not self.is_running():
            self.pid_file.unlink(missing_ok=True)
            return
        self.signal(signal.SIGTERM)
        if not processes.wait_for(lambda: not self.is_running(), timeout):
            self.signal(signal.SIGKILL)
            processes.wait_for(lambda: not self.is_running(), 10.0)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, for fault tests: no clean shutdown."""
        self.signal(signal.SIGKILL)
        processes.wait_for(lambda: not self.is_running(), 10.0)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


def quote_argument(argument: str) -> str:
    """One argument as a JDK launcher argument file holds it: in double quotes, with ``\\``
    and ``"`` escaped; a line break inside an argument is not supported."""
    if "\n" in argument or "\r" in argument:
        raise ValueError("an argument file cannot hold a line break inside an argument")
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def _argument_file(folder: Path, arguments: list[str]) -> Iterator[Path]:
    """An owner-only JDK argument file in ``folder`` for the duration of the block."""
    path = (folder / f".java-args-{uuid.uuid4().hex}").resolve()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(quote_argument(a) for a in arguments) + "\n")
        yield path
    finally:
        path.unlink(missing_ok=True)


def _is_kafka_process(pid: int) -> bool:
    """Guard against a stale pid file naming some unrelated, reused pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


@dataclass
class KafkaCluster:
    """One or three local nodes sharing a cluster id; the unit the CLI and fixtures manage."""

    home: Path
    nodes: list[KafkaNode]
    cluster_id: str
    client_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        home: Path,
        lib: Path,
        *,
        size: int = 1,
        heap: str = "512m",
        extra: Mapping[str, str] | None = None,
        security: BrokerSecurity | None = None,
    ) -> KafkaCluster:
        """Lay out ``size`` fresh nodes under ``home`` with free ports (not started).

        Anything an earlier cluster left in ``home`` is removed: each cluster starts empty.
        """
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        nodes = [
            KafkaNode(
                node_id=i + 1,
                home=home / f"node-{i + 1}",
                lib=lib,
                client_port=free_port(),
                controller_port=free_port(),
                heap=heap,
                extra=dict(extra or {}),
                security=security,
            )
            for i in range(size)
        ]
        client = security.admin_client if security is not None else {}
        return cls(home=home, nodes=nodes, cluster_id=_cluster_id(), client_config=client)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)

    @property
    def state_file(self) -> Path:
        return self.home / "cluster.json"

    def start(self, *, die_with_parent: bool = True, timeout: float = 90.0) -> None:
        """Format every node, start them, and wait until the cluster answers metadata."""
        replication = min(3, len(self.nodes))
        for node in self.nodes:
            node.write_config(self.voters, replication)
            node.format(self.cluster_id, node.security.format_args() if node.security else ())
        for node in self.nodes:
            node.start(die_with_parent=die_with_parent)
        self._save()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90.0) -> None:
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.is_running():
                    self.stop()
                    raise BrokerError(
                        f"node {node.node_id} exited during start-up; see {node.log_file}"
                    )
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, request_timeout_ms=5000, **self.client_config
                )
                try:
                    brokers = admin.describe_cluster()["brokers"]
                finally:
                    admin.close()
                if len(brokers) == len(self.nodes):
                    return
            except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = error
            time.sleep(0.5)
        self.stop()
        raise BrokerError(f"broker not ready after {timeout}s: {last_error!r}")

    def stop(self, *, delete: bool = False) -> None:
        """Stop every node; with ``delete``, remove their data too."""
        for node in self.nodes:
            node.stop()
        self.state_file.unlink(missing_ok=True)
        if delete:
            shutil.rmtree(self.home, ignore_errors=True)

    def is_running(self) -> bool:
        return all(node.is_running() for node in self.nodes)

    def _save(self) -> None:
        state = {
            "cluster_id": self.cluster_id,
            "bootstrap": self.bootstrap,
            "nodes": [
                {
                    "node_id": n.node_id,
                    "home": str(n.home),
                    "client_port": n.client_port,
                    "controller_port": n.controller_port,
                    "pid": n.pid(),
                }
                for n in self.nodes
            ],
        }
        self.state_file.write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, home: Path, lib: Path) -> KafkaCluster | None:
        """The cluster a previous ``cjsx broker up`` left running, if its state file exists."""
        try:
            state = json.loads((home / "cluster.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        nodes = [
            KafkaNode(
                node_id=n["node_id"],
                home=Path(n["home"]),
                lib=lib,
                client_port=n["client_port"],
                controller_port=n["controller_port"],
            )
            for n in state["nodes"]
        ]
        return cls(home=home, nodes=nodes, cluster_id=state["cluster_id"])


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
