"""The force's outbox on its own (no broker): committed when ``add`` returns, in order,
owner-only, and adopted whole, with its event ids, after its owner was SIGKILLed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from common import processes
from infra.registry import load_registry
from infra.topics import TopicCatalog
from producers.outbox import Outbox, pending_in
from producers.publisher import (
    KAFKA_MAX_MESSAGE_BYTES,
    PublishCode,
    Publisher,
    PublishRefused,
    max_message_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
INGEST = TopicCatalog(load_registry()).ingest("05")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_entries_come_back_in_order_until_removed_and_files_are_owner_only(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "outbox" / "topic")
    try:
        added = [
            box.add(INGEST, f"urn-{i % 2}".encode(), bytes([i]) * 10, [("ce_id", b"x")], f"id-{i}")
            for i in range(5)
        ]
        assert [e.event_id for e in box.pending()] == [f"id-{i}" for i in range(5)]
        assert box.pending()[0].headers == (("ce_id", b"x"),)
        box.remove([added[0].seq, added[2].seq])
        assert [e.event_id for e in box.pending()] == ["id-1", "id-3", "id-4"]
        assert [e.event_id for e in box.pending(after=added[3].seq)] == ["id-4"]
        assert len(box) == 3
        assert mode(tmp_path / "outbox" / "topic") == 0o700
        assert mode(tmp_path / "outbox") == 0o700  # made on the way: owner-only too
        files = list((tmp_path / "outbox" / "topic").iterdir())
        assert {f.suffix for f in files} >= {".sqlite", ".lock"}
        assert any(f.name.endswith("-wal") for f in files)
        assert all(mode(f) == 0o600 for f in files), {f.name: oct(mode(f)) for f in files}
    finally:
        box.close()
    # Not empty: the file stays for the next publisher of this topic.
    assert pending_in(tmp_path / "outbox" / "topic") == 3


def test_an_empty_outbox_leaves_no_file(tmp_path: Path) -> None:
    box = Outbox(tmp_path / INGEST)
    entry = box.add(INGEST, None, b"v", [], "id")
    box.remove([entry.seq])
    box.close()
    assert list(tmp_path.iterdir()) == []  # nor its folder


OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from producers.outbox import Outbox
    box = Outbox(Path(sys.argv[1]), durability="process")
    for i in range(100):
        box.add(sys.argv[2], b"k", b"v%d" % i, [("h", b"1")], "id-%d" % i)
    print("ready", flush=True)
    time.sleep(300)
    """
)


def test_a_live_owners_outbox_is_left_alone_and_a_killed_ones_is_adopted_in_order(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "outbox"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(folder), INGEST],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=processes.die_with_parent,
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline() == b"ready\n"
        alive = Outbox(folder)
        assert alive.adopted == 0  # its owner still holds the lock
        alive.close()
        os.kill(owner.pid, signal.SIGKILL)  # no clean close: the entries are only on disk
        owner.wait(timeout=10)
    finally:
        processes.stop(owner)
        if owner.stdout is not None:
            owner.stdout.close()
    heir = Outbox(folder)
    try:
        assert heir.adopted == 100
        entries = heir.pending(limit=1000)
        assert [e.event_id for e in entries] == [f"id-{i}" for i in range(100)]
        assert entries[7].value == b"v7"
        assert len(list(folder.glob("*.sqlite"))) == 1  # the orphan's files are gone
    finally:
        heir.close()


def test_an_oversized_event_is_refused_with_a_code_before_it_is_kept(tmp_path: Path) -> None:
    # No broker is needed: the producer is made on first send, and this never sends.
    publisher = Publisher(bootstrap_servers="127.0.0.1:1", topic=INGEST, outbox_dir=tmp_path)
    try:
        assert publisher.max_record_bytes == min(KAFKA_MAX_MESSAGE_BYTES, 1_048_576)
        with pytest.raises(PublishRefused) as refused:
            publisher.send_raw(b"urn", b"x" * KAFKA_MAX_MESSAGE_BYTES)
        assert refused.value.code is PublishCode.EVENT_TOO_LARGE
        assert "at most 1048576" in str(refused.value)
        assert publisher.pending() == 0
        # Just under the limit, with its overhead counted, it is kept.
        fits = publisher.max_record_bytes - 200
        assert publisher.check_size(b"urn", b"x" * fits, [("ce_id", b"1")]) <= fits + 200
    finally:
        publisher.close(timeout=0)
    assert list((tmp_path / INGEST).glob("*.sqlite")) == []


def test_unknown_client_settings_fail_at_once(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="lingerms"):
        Publisher(bootstrap_servers="x:1", topic=INGEST, outbox_dir=tmp_path, lingerms=5)


def test_the_limit_comes_from_the_topic_spec() -> None:
    catalog = TopicCatalog(load_registry())
    # The spec declares the ingest topics' limit (infra/topics.toml), and it is the one used.
    assert max_message_bytes(catalog, INGEST) == catalog.max_message_bytes(INGEST) == 1_048_576
    with pytest.raises(KeyError):
        max_message_bytes(catalog, INGEST + ".not-declared")
