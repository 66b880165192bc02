"""No secret on any command line while a secured node is formatted and started (hole 7).

A fresh node is started the way ``cjsx broker up`` starts one, while a thread reads
``/proc/<pid>/cmdline`` of every process on the machine, over and over; no
password of any principal may appear in any of them. The node then has to accept ``admin``
(whose SCRAM credential only the format step creates), so the passwords did reach Kafka.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from kafka import KafkaAdminClient

from infra.broker.node import KafkaCluster, quote_argument
from infra.security.local import local_security
from infra.security.policy import SUPER_USERS
from infra.security.secrets import Credentials


class CommandLines:
    """Every distinct command line, of any process on the machine, that names ``marker``
    (the node's folder: the format tool and the broker both name files in it), seen while
    it watches. Every process is scanned, not only this one's children: a launcher may
    re-execute itself or start its own helpers."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker).encode()
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    line = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if self.marker in line:
                    self.seen.add(line)
            self._stop.wait(0.002)

    def __enter__(self) -> CommandLines:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def test_starting_a_secured_node_puts_no_password_on_any_command_line(
    tmp_path: Path, kafka_lib: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    security = local_security(secrets_dir)
    passwords = Credentials(secrets_dir).ensure(SUPER_USERS)
    cluster = KafkaCluster.create(tmp_path / "cluster", kafka_lib, heap="384m", security=security)
    try:
        previous = os.umask(0o022)  # a permissive umask: the node must protect its own data
        try:
            with CommandLines(tmp_path / "cluster") as watched:
                cluster.start()
        finally:
            os.umask(previous)
        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, **security.admin_client)
        try:
            assert len(admin.describe_cluster()["brokers"]) == 1  # admin's SCRAM user exists
        finally:
            admin.close()
        # The node's data (log segments hold case data) is owner-only, whatever our umask
        # (Kafka makes some files read-only for its owner, 0400: no bits for anyone else).
        data = cluster.nodes[0].data_dir
        files = [p for p in data.rglob("*") if p.is_file()]
        assert files
        loose = [
            f"{p} {stat.S_IMODE(p.stat().st_mode):o}"
            for p in [data, *data.rglob("*")]
            if stat.S_IMODE(p.stat().st_mode) & 0o077
        ]
        assert loose == []
    finally:
        cluster.stop(delete=False)

    lines = [line.replace(b"\0", b" ") for line in watched.seen]
    for principal, password in passwords.items():
        assert not any(password.encode() in line for line in lines), principal
    tools = [line for line in lines if b"kafka.tools.StorageTool" in line]
    brokers = [line for line in lines if b"kafka.Kafka" in line]
    # The watch did see both launches (the format tool's main class is in its argument file,
    # so it shows as the @file the launcher was given).
    assert any(b"@" in line and b".java-args-" in line for line in lines), lines
    assert brokers, lines
    assert tools == []  # the tool's arguments, main class included, stayed in the file
    # The argument file was removed once the tool had read it.
    node_home = cluster.nodes[0].home
    assert list(node_home.glob(".java-args-*")) == []


def test_argument_file_quoting_keeps_quotes_and_backslashes() -> None:
    assert quote_argument("a b") == '"a b"'
    assert quote_argument('p"w\\d') == '"p\\"w\\\\d"'
