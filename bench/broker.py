"""The one Kafka node a benchmark runs against, and where every result says it ran."""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.broker.node import KafkaCluster
from infra.broker.provision import ensure_jars

ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"


def machine() -> dict[str, Any]:
    """The host, for a result's reader: absolute figures mean little without it."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@contextmanager
def one_node(prefix: str = "cjsx-bench-") -> Iterator[tuple[KafkaCluster, Path]]:
    """A fresh single-node cluster in a temporary folder (which the run may use too),
    stopped on the way out, even when it failed to start."""
    lib = ensure_jars(ROOT / ".cache", KAFKA_VERSION)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        home = Path(tmp)
        cluster = KafkaCluster.create(home / "broker", lib)
        try:
            cluster.start()
            yield cluster, home
        finally:
            cluster.stop()
