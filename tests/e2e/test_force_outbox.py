"""The force's edge: nothing a force hands to its ``Publisher`` is lost, though the broker is
down for a minute and the publishing process is SIGKILLed mid-run.

Its own broker (not the session's), so it can be stopped and started without disturbing other
tests. A force process publishes prepared events (fixed ids, cases of several events) at a
steady rate; the broker is stopped; twenty seconds into the outage the force process is
SIGKILLed and a successor starts where it stopped (re-publishing its last few events, as a
force unsure of them would);
sixty seconds after it went down the broker is started again; the successor adopts what its
predecessor left in the outbox, sends it first, then the rest, and exits with its outbox
empty.

"Exactly once by id" means: every event id is on the ingest topic at least once (a resend
after the crash may put an id there twice, never a different event under it), and the
exchange's worker, deduplicating by event id, accepts each id exactly once and marks every
further copy DUPLICATE, so each partner sees each event once.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from common import processes
from infra.topics import TopicCatalog
from producers.outbox import pending_in
from producers.profiles import force_profile
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.codec import Codec
from schemas.models import CaseEvent, ReceiptStatus
from streams.reference import StandingData
from tests.support.world import Broker, WorkerProcess, new_catalog, read_topic, start_broker

ROOT = Path(__file__).resolve().parents[2]
FORCE = "05"
CASES = 600
RATE = 25.0  # events per second
OUTAGE_SECONDS = 60.0
KILL_AFTER_SECONDS = 20.0  # into the outage
RESENT = 10


def prepare_events(path: Path) -> list[CaseEvent]:
    """Cases of one to six events each, interleaved as a force's day would be."""
    sim = SyntheticForce(force_profile(StandingData.load(), FORCE), seed=1010)
    stories = [sim.case_story() for _ in range(CASES)]
    events: list[CaseEvent] = []
    while any(stories):
        for story in stories:
            if story:
                events.append(story.pop(0))
    codec = Codec()
    path.write_text("\n".join(base64.b64encode(codec.encode(e)).decode() for e in events))
    return events


def start_force(
    broker: Broker, catalog: TopicCatalog, home: Path, name: str, start: int
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "tests.support.force_publisher",
        str(home / "events.txt"),
        str(home / "progress.txt"),
        f"--start={start}",
        f"--rate={RATE}",
        f"--bootstrap={broker.bootstrap}",
        f"--secrets-dir={broker.secrets_dir}",
        f"--principal=force-{FORCE}",
        f"--topic={catalog.ingest(FORCE)}",
        f"--outbox-dir={home / 'outbox'}",
    ]
    return processes.spawn(command, log=home / f"{name}.log", env={"PYTHONPATH": str(ROOT)})


def taken(home: Path) -> int:
    """How many events the force processes have handed to their publishers so far."""
    path = home / "progress.txt"
    lines = path.read_text().split() if path.exists() else []
    return int(lines[-1]) + 1 if lines else 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_event_is_lost_through_a_broker_outage_and_a_killed_publisher(
    kafka_lib: Path, tmp_path: Path
) -> None:
    home = tmp_path / "force"
    home.mkdir()
    events = prepare_events(home / "events.txt")
    ids = [str(e.envelope.event_id) for e in events]
    assert len(set(ids)) == len(ids) > 1000

    broker = start_broker(tmp_path / "broker", kafka_lib)
    first = second = None
    worker: WorkerProcess | None = None
    try:
        catalog = new_catalog(broker, forces=(FORCE,))
        first = start_force(broker, catalog, home, "force-1", 0)
        assert processes.wait_for(lambda: taken(home) >= 300, 120), "the force did not start"

        broker.cluster.stop()  # the exchange is unreachable
        down = time.monotonic()
        processes.wait_for(lambda: False, KILL_AFTER_SECONDS)
        os.kill(first.pid, signal.SIGKILL)  # mid-run, with events only in its outbox
        first.wait(timeout=10)
        at_kill = taken(home)
        kept_at_kill = pending_in(home / "outbox" / catalog.ingest(FORCE))
        assert kept_at_kill > 0, "the killed force had nothing unacknowledged"
        # Like a real force system after a crash, the successor re-publishes the last few
        # events its predecessor had taken, unsure whether they went: the same ids again.
        second = start_force(broker, catalog, home, "force-2", at_kill - RESENT)

        processes.wait_for(lambda: False, max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
        restart = time.monotonic()
        broker.start()
        unreachable = time.monotonic() - down
        assert second.wait(timeout=600) == 0, (home / "force-2.log").read_text()[-3000:]
        drained = time.monotonic() - restart

        folder = home / "outbox" / catalog.ingest(FORCE)
        assert pending_in(folder) == 0
        assert list(folder.glob("*.sqlite")) == []  # an empty outbox leaves no file

        # Every event id is on the ingest topic; copies of an id are the same event.
        codec = Codec()
        on_topic: Counter[str] = Counter()
        order: defaultdict[str, list[int]] = defaultdict(list)
        for _, value, decoded in read_topic(broker, catalog.ingest(FORCE), codec=codec):
            assert isinstance(decoded, CaseEvent), value[:40]
            event_id = str(decoded.envelope.event_id)
            if event_id not in on_topic:
                order[decoded.envelope.case_urn].append(decoded.envelope.sequence)
            on_topic[event_id] += 1
        lost = set(ids) - set(on_topic)
        assert not lost, f"{len(lost)} event(s) lost"
        assert set(on_topic) == set(ids)
        # Sent in order per case: each case's events first appear in sequence order.
        assert all(seqs == sorted(seqs) for seqs in order.values())
        records = sum(on_topic.values())

        # Exactly once by id: the exchange accepts each id once, every copy is DUPLICATE.
        worker = WorkerProcess(broker, catalog, tmp_path / "worker")
        worker.start()
        watcher = ReceiptWatcher(
            bootstrap_servers=broker.bootstrap,
            topics=[catalog.receipts(FORCE)],
            **broker.client(),
        )
        try:
            assert watcher.wait_until(lambda w: sum(w.outcomes.values()) >= records, timeout=300), (
                f"{sum(watcher.outcomes.values())} of {records} outcomes"
            )
            watcher.poll(timeout_ms=1000)  # anything straggling, so over-counts would show
        finally:
            watcher.close()
        accepted = {
            str(i) for i, s in watcher.statuses.items() if s.outcome is ReceiptStatus.ACCEPTED
        }
        assert accepted == set(ids)
        accepted_receipts = watcher.outcomes[(FORCE, ReceiptStatus.ACCEPTED)]
        duplicates = watcher.outcomes[(FORCE, ReceiptStatus.DUPLICATE)]
        assert accepted_receipts == len(ids)  # once each
        assert records - len(ids) >= RESENT  # the re-published ones, at least
        assert duplicates == records - len(ids)  # every further copy recognised by its id
    finally:
        for process in (first, second):
            if process is not None:
                processes.stop(process)
        if worker is not None:
            worker.stop()
        broker.cluster.stop()

    report = {
        "published": len(ids),
        "broker_unreachable_seconds": round(unreachable, 1),
        "force_killed_after_taking": at_kill,
        "unacknowledged_in_outbox_at_kill": kept_at_kill,
        "seconds_from_broker_restart_to_outbox_empty": round(drained, 1),
        "records_on_ingest": records,
        "copies_on_ingest_beyond_one_per_id": records - len(ids),
        "accepted_receipts": accepted_receipts,
        "duplicate_receipts": duplicates,
        "lost": len(lost),
    }
    print("outbox", json.dumps(report))
    reports = ROOT / ".cache" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "outbox.json").write_text(json.dumps(report, indent=2))
