"""Fixtures shared by every tier; the real broker starts once per session, on first use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.broker.provision import ensure_jars
from infra.topics import TopicCatalog
from tests.support.world import Broker, WorkerProcess, new_catalog, start_broker

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kafka_lib() -> Path:
    return ensure_jars(CACHE, "4.4.0")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path) -> Iterator[Broker]:
    """One real Apache Kafka 4.x node (KRaft) for the whole session, as the project runs it:
    SASL/SCRAM over TLS, the authorizer on, a SCRAM user for every registry principal."""
    broker = start_broker(tmp_path_factory.mktemp("kafka"), kafka_lib)
    yield broker
    broker.cluster.stop()


@pytest.fixture
def catalog(kafka: Broker) -> TopicCatalog:
    """A fresh topic set for one test, with the registry's ACLs applied to it."""
    return new_catalog(kafka)


@pytest.fixture
def worker(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A running ``cjsx worker`` process serving the test's topics."""
    process = WorkerProcess(kafka, catalog, tmp_path).start()
    yield process
    process.stop()
