"""The worker follows a force added to the registry without a code change or a manual
restart: edit the registry, create the force's topics, and its events are processed."""

from __future__ import annotations

import re
from pathlib import Path

from infra.registry import REGISTRY_FILE
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.models import ReceiptStatus
from streams.reference import StandingData
from tests.support.world import Broker, WorkerProcess


def registry_with(forces: set[str], path: Path) -> Path:
    """A copy of the real registry keeping only ``forces`` (every partner and service)."""
    text = REGISTRY_FILE.read_text()
    blocks = re.split(r"(?=^\[\[)", text, flags=re.MULTILINE)
    kept = [b for b in blocks if not b.startswith("[[force]]") or _code(b) in forces]
    path.write_text("".join(kept))
    return path


def _code(block: str) -> str:
    found = re.search(r'code = "(\d+)"', block)
    assert found is not None
    return found[1]


def test_a_new_force_is_followed_once_the_registry_names_it(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    # The catalog fixture made topics and ACLs for 01, 05 and 93; the registry the worker
    # reads names only 01 at first.
    registry = registry_with({"01"}, tmp_path / "registry.toml")
    worker = WorkerProcess(
        kafka,
        catalog,
        tmp_path,
        supervised=True,
        env_extra={
            "CJSX_REGISTRY_FILE": str(registry),
            "CJSX_FORCES": "",
            "CJSX_FOLLOW_INTERVAL_SECONDS": "2",
        },
    ).start()
    sim = SyntheticForce(force_profile(StandingData.load(), "05"), seed=9)
    event = sim.charge(sim.new_case())
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap, topics=[catalog.receipts("05")], **kafka.client()
    )
    try:
        with Publisher(
            bootstrap_servers=kafka.bootstrap,
            topic=catalog.ingest("05"),
            **kafka.client("force-05"),
        ) as publisher:
            publisher.publish(event).get(timeout=30)
        # Force 05 is not in the worker's registry: its event waits, unprocessed.
        assert not watcher.wait_until(lambda w: bool(w.statuses), timeout=8)
        registry_with({"01", "05"}, registry)
        assert watcher.wait_until(
            lambda w: (
                (s := w.statuses.get(event.envelope.event_id)) is not None
                and s.outcome is ReceiptStatus.ACCEPTED
            ),
            timeout=120,
        ), "the worker did not follow the new force"
    finally:
        watcher.close()
        worker.stop()
    assert "restarting" in worker.log.read_text()
