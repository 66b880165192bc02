"""The section 62 disclosure log against the real broker: the auditor and ``cjsx audit``.

The auditor runs in-process (it is a plain class); the worker is a real process. The CLI is
driven through click's runner with the same environment a deployed operator would have. The
auditor's inputs are the worker's own delivery and results records (each one disclosure,
derived from its bytes) and the console's actions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors

from cjsx.cli.audit import audit
from cjsx.console.actions import Act, ActionCode, ActionLog
from cjsx.console.users import User
from common import processes
from infra.security.access import admin_client, apply_acls
from infra.security.policy import AUDITOR, CONSOLE, WORKER
from infra.security.secrets import AuditSigningKey
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.simulator import SyntheticForce
from schemas.codec import Codec
from schemas.models import ActionAuditRecord, AuditRecord, ConsoleAction, Disclosure, Receipt
from streams.audit import (
    SIGNATURE_HEADER,
    Auditor,
    AuditorFenced,
    ChainRecord,
    decode_link,
    disclosure_of,
    link,
    read_log,
    read_stored,
    transactional_id,
    verify_encoded,
)
from streams.pipeline import Status
from streams.reference import StandingData
from streams.route import load_policy
from tests.support import builders
from tests.support.results import court_record, results_for
from tests.support.world import Broker, WorkerProcess, read_topic

CODEC = Codec()


def new_auditor(kafka: Broker, catalog: TopicCatalog) -> Auditor:
    """An auditor with the key ``cjsx auditor`` would use (so ``cjsx audit verify`` checks
    its signatures with the public key beside it)."""
    return Auditor(
        bootstrap_servers=kafka.bootstrap,
        disclosing_topics=catalog.disclosing_topics(),
        actions_topic=catalog.console_actions,
        audit_topic=catalog.audit,
        transactional_id=transactional_id(catalog.namespace),
        signing_key=AuditSigningKey(kafka.secrets_dir).private_key(),
        client=kafka.client(AUDITOR),
        retry_pause=0.1,
    )


def topic_records(
    kafka: Broker, topic: str, *, committed: bool = True
) -> list[tuple[int, bytes | None]]:
    """(offset, value) of everything on a one-partition topic now, as the admin sees it."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
        **kafka.client(),
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        consumer.seek_to_beginning(tp)
        records: list[tuple[int, bytes | None]] = []
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for record in consumer.poll(timeout_ms=500).get(tp, []):
                records.append((record.offset, record.value))
        return records
    finally:
        consumer.close()


Delivered = tuple[TopicPartition, int, bytes]
"""A record the worker wrote on a delivery or results topic: where, and its bytes."""


def delivered(kafka: Broker, catalog: TopicCatalog) -> list[Delivered]:
    """Every committed record on every delivery and results topic now (each a disclosure),
    per topic partition in offset order, as the admin sees them."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **kafka.client(),
    )
    try:
        consumer.topics()  # metadata for every topic at once
        tps = [
            TopicPartition(topic, p)
            for topic in catalog.disclosing_topics()
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(tps)
        pending = [tp for tp in tps if ends[tp] > 0]
        records: list[Delivered] = []
        if not pending:
            return records
        consumer.assign(pending)
        consumer.seek_to_beginning(*pending)
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in pending):
            assert time.monotonic() < deadline, "reading the delivery topics stalled"
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records.extend((tp, r.offset, r.value) for r in batch if r.offset < ends[tp])
        return sorted(records, key=lambda r: (r[0].topic, r[0].partition, r[1]))
    finally:
        consumer.close()


def wait_for_deliveries(
    kafka: Broker, catalog: TopicCatalog, count: int, timeout: float = 60
) -> list[Delivered]:
    deadline = time.monotonic() + timeout
    while len(found := delivered(kafka, catalog)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} deliveries"
        time.sleep(0.5)
    return found


def last_offsets(records: list[Delivered]) -> dict[TopicPartition, int]:
    """Per topic partition, the offset of its last record."""
    return {tp: offset for tp, offset, _ in records}  # records are in offset order


def source_of_record(record: AuditRecord) -> tuple[TopicPartition, int]:
    return TopicPartition(record.source_topic, record.source_partition), record.source_offset


def audit_log(kafka: Broker, catalog: TopicCatalog) -> list[AuditRecord]:
    return [
        CODEC.decode_as(v, AuditRecord)
        for v in read_log(kafka.bootstrap, catalog.audit, client=kafka.client())
    ]


def cli_env(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> dict[str, str]:
    """What a deployed process would have in its environment, for this test's topics."""
    return {
        "CJSX_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "CJSX_SECRETS_DIR": str(kafka.secrets_dir),
        "CJSX_TOPIC_NAMESPACE": catalog.namespace,
        "CJSX_FORCES": ",".join(f.code for f in catalog.registry.forces),
        "CJSX_CACHE_DIR": str(tmp_path),
    }


def cli(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> Callable[..., Result]:
    """``cjsx audit ...`` as an operator on this test's topics."""
    env = cli_env(kafka, catalog, tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)

    return run


def test_every_disclosure_and_console_action_is_chained_once_and_a_restarted_auditor_continues(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=11)
    first, second, third = force.new_case(), force.new_case(), force.new_case()
    actions = console_actions(kafka, catalog)
    try:
        with Publisher(
            bootstrap_servers=kafka.bootstrap,
            topic=catalog.ingest("05"),
            **kafka.client("force-05"),
        ) as publisher:
            for event in (force.charge(first), force.charge(second), force.remand_change(first)):
                publisher.publish(event).get(timeout=30)
            first_deliveries = wait_for_deliveries(kafka, catalog, 6)
            for n in range(3):
                actions(act(n, first.urn))

            # The first auditor chains what is there, of both sources, then stops cleanly.
            with new_auditor(kafka, catalog) as auditor:
                assert auditor.start() is None
                auditor.run(until=lambda: auditor.stats.chained >= 9, idle_timeout=20)
                first_head = auditor.head
                assert auditor.stats.actions == 3
            assert first_head is not None
            assert first_head.sequence == 9

            publisher.publish(force.charge(third)).get(timeout=30)
            for n in range(3, 5):
                actions(act(n, third.urn))
        wait_for_deliveries(kafka, catalog, 8)
    finally:
        actions.close()

    # A second auditor crashes mid-transaction: chained records of both sources written,
    # never committed.
    zombie = new_auditor(kafka, catalog)
    try:
        assert zombie.start() == first_head
        tp, offset, value = next(
            r for r in delivered(kafka, catalog) if r[:2] not in {d[:2] for d in first_deliveries}
        )
        orphan = link(
            first_head,
            disclosure_of(CODEC, value),
            offset,
            now(),
            source_topic=tp.topic,
            source_partition=tp.partition,
        )
        action_offset, action_value = topic_records(kafka, catalog.console_actions)[3]
        orphan_action = link(
            orphan, CODEC.decode_as(action_value or b"", ConsoleAction), action_offset, now()
        )
        zombie.producer.begin_transaction()
        for record in (orphan, orphan_action):
            zombie.producer.send(catalog.audit, value=CODEC.encode(record), partition=0)
        zombie.producer.flush()

        # Its replacement fences it, aborts its transaction and resumes each source from the
        # last offset chained from it (the head, an action, says nothing of disclosures), per
        # delivery topic partition.
        actions_tp = TopicPartition(catalog.console_actions, 0)
        with new_auditor(kafka, catalog) as successor:
            assert successor.start() == first_head
            assert isinstance(first_head, ActionAuditRecord)
            assert successor.chained_offsets == {
                **last_offsets(first_deliveries),
                actions_tp: topic_records(kafka, catalog.console_actions)[2][0],
            }
            successor.run(until=lambda: successor.stats.chained >= 4, idle_timeout=20)
            assert successor.head is not None
            assert successor.head.sequence == 13
        with pytest.raises(kafka_errors.KafkaError):
            zombie.producer.commit_transaction()
        with pytest.raises(AuditorFenced):
            zombie.poll_once(timeout_ms=2000)
    finally:
        zombie.close(timeout=5)

    # A third auditor with nothing new to chain chains nothing (and nothing twice).
    with new_auditor(kafka, catalog) as idle:
        idle.start()
        assert idle.poll_once(timeout_ms=2000) == 0
        disclosures = delivered(kafka, catalog)
        console = topic_records(kafka, catalog.console_actions)
        assert idle.chained_offsets == {
            **last_offsets(disclosures),
            actions_tp: console[-1][0],
        }

    chain = chain_log(kafka, catalog)
    assert [r.sequence for r in chain] == list(range(1, 14))
    # One audit record per disclosure and per action, each source in its order, nothing
    # twice, nothing missing.
    records = [r for r in chain if isinstance(r, AuditRecord)]
    done = [r for r in chain if isinstance(r, ActionAuditRecord)]
    assert len(disclosures) == 8
    for tp in last_offsets(disclosures):
        assert [r.source_offset for r in records if source_of_record(r)[0] == tp] == [
            o for t, o, _ in disclosures if t == tp
        ]
    assert sorted(source_of_record(r) for r in records) == [(t, o) for t, o, _ in disclosures]
    # Each disclosure is exactly what its delivery record says, with the hash of its bytes.
    by_source = {source_of_record(r): r.disclosure for r in records}
    for tp, offset, value in disclosures:
        assert by_source[tp, offset] == disclosure_of(CODEC, value)
        assert by_source[tp, offset].payload_sha256 == hashlib.sha256(value).hexdigest()
    assert [r.source_offset for r in done] == [o for o, _ in console]
    assert [CODEC.encode(r.action) for r in done] == [v for _, v in console]
    assert chain[9].previous_hash == first_head.hash  # the restart continued the chain
    writer = AuditSigningKey(kafka.secrets_dir).public_key()
    stored = read_stored(kafka.bootstrap, catalog.audit, client=kafka.client())
    verified = verify_encoded(stored, writer=writer)
    assert verified.ok, verified.to_json()
    assert verified.records == 13
    # The orphan is on the partition but no committed reader sees it.
    assert len(topic_records(kafka, catalog.audit, committed=False)) > len(records)
    # Each record is keyed by its case and carries CloudEvents headers.
    consumer = KafkaConsumer(
        catalog.audit,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        consumer_timeout_ms=3000,
        **kafka.client(),
    )
    try:
        raw = list(consumer)
    finally:
        consumer.close()
    assert [m.key.decode() for m in raw] == [
        r.disclosure.case_urn if isinstance(r, AuditRecord) else r.action.case_urn for r in chain
    ]
    assert {dict(m.headers)["ce_type"] for m in raw} == {
        b"uk.gov.cjsx.AuditRecord",
        b"uk.gov.cjsx.ActionAuditRecord",
    }

    # `cjsx audit case URN`: exactly that case's disclosures, court and CPS, oldest first.
    result = cli(kafka, catalog, tmp_path)("case", first.urn)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    mine = [r for r in records if r.disclosure.case_urn == first.urn]
    assert len(mine) == 4
    assert [line["kind"] for line in lines] == ["disclosure"] * 4 + ["console_action"] * 3
    shown = [line for line in lines if line["kind"] == "disclosure"]
    assert [line["audit_sequence"] for line in shown] == [r.sequence for r in mine]
    assert [line["event_id"] for line in shown] == [str(r.disclosure.event_id) for r in mine]
    acted = [line for line in lines if line["kind"] == "console_action"]
    assert [(a["user_id"], a["role"], a["action"]) for a in acted] == [
        ("bob", "force 05, reviewer", "VIEW_EXCEPTION")
    ] * 3
    recipients = {line["recipient"] for line in shown}
    assert any(r.startswith("court-") for r in recipients)
    assert any(r.startswith("cps-") for r in recipients)
    assert set(lines[0]) >= {
        "time",
        "recipient",
        "event_type",
        "event_id",
        "purpose",
        "legal_basis",
        "policy_version",
        "payload_sha256",
        "audit_sequence",
    }


def now() -> datetime:
    return datetime.now(UTC)


def chain_log(kafka: Broker, catalog: TopicCatalog) -> list[ChainRecord]:
    """The audit log's records of both kinds, oldest first."""
    return [
        decode_link(CODEC, v)
        for v in read_log(kafka.bootstrap, catalog.audit, client=kafka.client())
    ]


CONSOLE_USERS = {"bob": User("bob", "Bob", "not-a-hash", force="05", reviewer=True)}


def console_actions(kafka: Broker, catalog: TopicCatalog, principal: str = CONSOLE) -> ActionLog:
    """The console's recorder of actions, connected as ``principal``."""
    return ActionLog(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.console_actions,
        principal=principal,
        users=CONSOLE_USERS,
        client=kafka.client(principal),
        timeout=8,
    )


def act(n: int, urn: str) -> Act:
    """Bob opening an exception of case ``urn`` (a consultation: an action to record)."""
    return Act("bob", ActionCode.VIEW_EXCEPTION, f"rejection-{n}", case_urn=urn, force="05")


def disclosure(n: int) -> Disclosure:
    return Disclosure(
        delivery_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        case_urn=f"05AB{n:05d}26",
        event_type="uk.gov.cjsx.DefendantCharged",
        force="05",
        recipient="court-magistrates" if n % 2 else "cps-mersey-cheshire",
        purpose="test",
        legal_basis="test",
        policy_version=1,
        payload_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        disclosed_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=n),
        disclosed_by=WORKER,
    )


def test_audit_verify_reports_one_changed_byte_and_one_removed_record(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    write_deliveries(kafka, catalog, cps_deliveries(6))
    # The auditor as operations run it: its command in a process of its own, stopped by SIGTERM.
    command = "from cjsx.cli.audit import auditor; auditor(prog_name='cjsx auditor')"
    env = cli_env(kafka, catalog, tmp_path)  # connects as exchange-auditor by default
    process = processes.spawn(
        [sys.executable, "-c", command], log=tmp_path / "auditor.log", env=env
    )
    try:
        assert processes.wait_for(lambda: len(topic_records(kafka, catalog.audit)) >= 6, 30), (
            tmp_path / "auditor.log"
        ).read_text()
    finally:
        assert processes.stop(process) == 0, (tmp_path / "auditor.log").read_text()

    run = cli(kafka, catalog, tmp_path)
    intact = run("verify")
    assert intact.exit_code == 0, intact.output
    report = json.loads(intact.stdout)
    assert report["records"] == 6
    assert report["ok"] is True
    assert report["first_break"] is None
    assert report["foreign"] == []

    exported = tmp_path / "audit.b64"
    assert run("export", "--file", str(exported)).exit_code == 0
    assert exported.stat().st_mode & 0o077 == 0
    lines = exported.read_text().splitlines()
    assert len(lines) == 6
    assert json.loads(run("verify", "--file", str(exported)).stdout)["ok"] is True

    # Each line: the base64 value, a space, the base64 signature of the auditor.
    assert all(len(line.split(" ")) == 2 for line in lines)
    # One byte of the third record changed (inside the recipient's name).
    encoded_value, signature = lines[2].split(" ")
    value = bytearray(base64.b64decode(encoded_value))
    index = bytes(value).index(b"cps-mersey-cheshire") + 4
    value[index] ^= 0x01
    flipped = tmp_path / "flipped.b64"
    changed = f"{base64.b64encode(value).decode()} {signature}"
    flipped.write_text("\n".join([*lines[:2], changed, *lines[3:]]))
    result = run("verify", "--file", str(flipped))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["records"] == 6
    assert report["first_break"]["position"] == 2
    assert report["first_break"]["sequence"] == 3
    assert report["first_break"]["kind"] == "altered"

    # The fourth record removed: the fifth no longer follows the third.
    removed = tmp_path / "removed.b64"
    removed.write_text("\n".join([*lines[:3], *lines[4:]]))
    result = run("verify", "--file", str(removed))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["records"] == 5
    assert report["first_break"]["position"] == 3
    assert report["first_break"]["sequence"] == 5
    assert report["first_break"]["kind"] == "removed_or_reordered"

    # The last record removed: only a head noted earlier shows it.
    head = json.loads(intact.stdout)["head"]
    truncated = tmp_path / "truncated.b64"
    truncated.write_text("\n".join(lines[:5]))
    noted = f"{head['sequence']}:{head['hash']}"
    assert run("verify", "--file", str(truncated)).exit_code == 0
    result = run("verify", "--file", str(truncated), "--expect-head", noted)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["first_break"]["kind"] == "truncated"

    # The attack that used to pass: a record before the noted head dropped, the chain
    # recomputed from there and two records appended, so the log is longer than the head.
    records = [CODEC.decode_as(base64.b64decode(line.split(" ")[0]), AuditRecord) for line in lines]
    forged: list[AuditRecord] = records[:2]
    for record in [*records[3:], *(link(None, disclosure(n), 90 + n, now()) for n in (7, 8))]:
        forged.append(link(forged[-1], record.disclosure, record.source_offset, now()))
    rewritten = tmp_path / "rewritten.b64"
    rewritten.write_text(
        "\n".join([*lines[:2], *(base64.b64encode(CODEC.encode(r)).decode() for r in forged[2:])])
    )
    result = run("verify", "--file", str(rewritten), "--expect-head", noted)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["first_break"]["kind"] == "rewritten"
    assert report["first_break"]["sequence"] == head["sequence"]
    # Without the auditor's key the forger could not sign: every forged record is foreign.
    assert [f["position"] for f in report["foreign"]] == [2, 3, 4, 5, 6]


CPS = "cps-mersey-cheshire"


def cps_deliveries(count: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of deliveries to the CPS as the pipeline makes them, one per synthetic
    case of force 05."""
    sim = builders.synthetic_force()
    exchange = builders.exchange()
    to_cps = builders.catalog().deliver(CPS)
    found: list[tuple[bytes, bytes]] = []
    for n in range(count):
        event = sim.charge(builders.case(sim), advised=True)
        outcome = exchange.process(builders.record(event, n))
        found += [(o.key, o.value) for o in outcome.outputs if o.topic == to_cps]
    assert len(found) == count
    return found


def write_deliveries(
    kafka: Broker, catalog: TopicCatalog, deliveries: list[tuple[bytes, bytes]]
) -> None:
    """Deliveries to the CPS as the worker writes them (as exchange-worker, keyed by case)."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client(WORKER))
    try:
        for key, value in deliveries:
            producer.send(catalog.deliver(CPS), key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def append_as_admin(
    kafka: Broker, catalog: TopicCatalog, record: AuditRecord, signature: bytes | None = None
) -> None:
    """What the ``admin`` super user can do: append a record to the audit topic directly
    (with a signature header copied from a genuine record, if given)."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client())
    try:
        producer.send(
            catalog.audit,
            key=record.disclosure.case_urn.encode(),
            value=CODEC.encode(record),
            headers=[(SIGNATURE_HEADER, signature)] if signature is not None else None,
            partition=0,
        ).get(timeout=30)
    finally:
        producer.close()


def test_a_record_the_auditor_did_not_write_is_noticed_by_it_and_flagged_by_verify(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("ERROR", logger="cjsx.auditor")
    deliveries = cps_deliveries(5)
    write_deliveries(kafka, catalog, deliveries[:3])
    with new_auditor(kafka, catalog) as auditor:
        auditor.run(until=lambda: auditor.stats.chained >= 3, idle_timeout=20)
        head = auditor.head
        assert head is not None
        assert head.sequence == 3
        assert auditor.stats.foreign == 0

        # The admin appends a record that chains perfectly after the auditor's head.
        assert isinstance(head, AuditRecord)
        intruder = link(
            head,
            disclosure(50),
            head.source_offset + 1,
            now(),
            source_topic=head.source_topic,
            source_partition=head.source_partition,
        )
        append_as_admin(kafka, catalog, intruder)
        auditor.run(until=lambda: auditor.stats.foreign >= 1, idle_timeout=20)
        assert auditor.stats.foreign == 1
        noticed = [r for r in caplog.records if getattr(r, "reason", None) == "foreign"]
        assert len(noticed) == 1
        assert noticed[0].claimed_sequence == 4  # type: ignore[attr-defined]

        # The auditor carries on from its own head, not from the intruder.
        write_deliveries(kafka, catalog, deliveries[3:])
        auditor.run(until=lambda: auditor.stats.chained >= 5, idle_timeout=20)
        assert auditor.head is not None
        assert auditor.head.sequence == 5
        assert auditor.stats.foreign == 1  # its own records are not mistaken for foreign

    run = cli(kafka, catalog, tmp_path)
    result = run("verify")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["records"] == 6
    assert report["first_break"] is None  # the genuine records after it are not blamed
    assert [(f["position"], f["sequence"], f["kind"]) for f in report["foreign"]] == [
        (3, 4, "foreign")
    ]
    assert report["head"]["sequence"] == 5

    # Appended while no auditor runs: a new record, and a genuine one copied with its
    # signature. The next auditor starts from its own head and reports both.
    stored = list(read_stored(kafka.bootstrap, catalog.audit, client=kafka.client()))
    genuine_head = audit_log(kafka, catalog)[-1]
    append_as_admin(kafka, catalog, link(genuine_head, disclosure(51), 999, now()))
    append_as_admin(
        kafka, catalog, CODEC.decode_as(stored[1].value, AuditRecord), stored[1].signature
    )
    caplog.clear()
    with new_auditor(kafka, catalog) as successor:
        assert successor.start() == genuine_head
        assert successor.stats.foreign == 2
    assert [getattr(r, "reason", None) for r in caplog.records] == ["foreign", "foreign"]


def test_the_worker_writes_one_receipt_and_one_record_per_recipient_and_each_is_chained_once(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    """Issue 9's bound with a real worker: per accepted event exactly 1 + (recipients)
    records, its receipt and its deliveries (no disclosure record); the auditor chains each
    delivery once, with the sha256 of its bytes. Then the worker is SIGKILLed and replaced by
    one without its progress (a new application id: no committed offsets, no table state),
    which processes the same events again and re-emits every delivery (same delivery id, a
    new record): each re-emission is chained as a transfer of its own."""
    force = SyntheticForce(force_profile(StandingData.load(), "05"), seed=23)
    first, second = force.new_case(), force.new_case()
    with Publisher(
        bootstrap_servers=kafka.bootstrap, topic=catalog.ingest("05"), **kafka.client("force-05")
    ) as publisher:
        for event in (force.charge(first), force.charge(second), force.remand_change(first)):
            publisher.publish(event).get(timeout=30)

    def receipts() -> list[Receipt]:
        found = read_topic(kafka, catalog.receipts("05"), timeout_ms=1500)
        return [r for _, _, r in found if isinstance(r, Receipt)]

    assert processes.wait_for(lambda: len(receipts()) >= 3, 60), "no receipts"
    accepted = receipts()
    assert [r.status.value for r in accepted] == ["ACCEPTED"] * 3
    assert all(r.deliveries for r in accepted)
    recipients = sum(len(r.deliveries) for r in accepted)
    firsts = wait_for_deliveries(kafka, catalog, recipients)
    time.sleep(3)  # anything more the worker would write for them
    written = len(receipts()) + len(delivered(kafka, catalog))
    assert written == sum(1 + len(r.deliveries) for r in accepted)
    assert len(firsts) == recipients
    assert list(read_topic(kafka, catalog.rejected, timeout_ms=1000)) == []

    with new_auditor(kafka, catalog) as auditor:
        auditor.run(until=lambda: auditor.stats.chained >= recipients, idle_timeout=20)
        assert auditor.stats.chained == recipients

    # The worker dies; its replacement starts without its offsets or state.
    worker.kill()
    replacement_id = f"{worker.app_id}-b"
    admin = admin_client(kafka.bootstrap, kafka.client())
    try:
        apply_acls(admin, catalog, worker_app_id=replacement_id)
    finally:
        admin.close()
    replacement = WorkerProcess(
        kafka, catalog, tmp_path, name="worker-2", env_extra={"CJSX_WORKER_ID": replacement_id}
    )
    try:
        replacement.start()
        everything = wait_for_deliveries(kafka, catalog, 2 * recipients, timeout=90)
    finally:
        replacement.stop()
    assert len(everything) == 2 * recipients
    with new_auditor(kafka, catalog) as successor:
        successor.run(until=lambda: successor.stats.chained >= recipients, idle_timeout=20)

    records = audit_log(kafka, catalog)
    # Each delivery record in the log exactly once, as the disclosure its bytes are.
    assert sorted(source_of_record(r) for r in records) == [(t, o) for t, o, _ in everything]
    value_at = {(t, o): v for t, o, v in everything}
    for record in records:
        value = value_at[source_of_record(record)]
        assert record.disclosure.payload_sha256 == hashlib.sha256(value).hexdigest()
        assert record.disclosure == disclosure_of(CODEC, value)
        assert record.disclosure.disclosed_by == WORKER
    # Every delivery was made twice: two transfers, each chained on its own.
    by_delivery: dict[uuid.UUID, list[AuditRecord]] = {}
    for record in records:
        by_delivery.setdefault(record.disclosure.delivery_id, []).append(record)
    assert len(by_delivery) == recipients
    for twice in by_delivery.values():
        assert len(twice) == 2
        assert twice[0].sequence < twice[1].sequence
        assert source_of_record(twice[0]) != source_of_record(twice[1])
        assert twice[0].disclosure.recipient == twice[1].disclosure.recipient
    stored = read_stored(kafka.bootstrap, catalog.audit, client=kafka.client())
    verified = verify_encoded(stored, writer=AuditSigningKey(kafka.secrets_dir).public_key())
    assert verified.ok, verified.to_json()
    assert verified.records == 2 * recipients


def test_court_results_to_the_force_and_the_cps_are_chained_as_disclosures(
    kafka: Broker, catalog: TopicCatalog
) -> None:
    """Results topics follow the registry like delivery topics: the auditor reads both
    (the force's and the partner's) and chains each result delivery with its purpose and
    the hash of its bytes."""
    exchange = builders.exchange()
    charge = builders.valid_charge()
    assert exchange.process(builders.record(charge)).status is Status.ACCEPTED
    outcome = exchange.process(court_record(results_for(charge)))
    spec = builders.catalog()
    places = {
        spec.force_results("05"): catalog.force_results("05"),
        spec.partner_results(CPS): catalog.partner_results(CPS),
    }
    results = [(places[o.topic], o.key, o.value) for o in outcome.outputs if o.topic in places]
    assert len(results) == 2
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client(WORKER))
    try:
        for topic, key, value in results:
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()
    with new_auditor(kafka, catalog) as auditor:
        auditor.run(until=lambda: auditor.stats.chained >= 2, idle_timeout=20)
    records = audit_log(kafka, catalog)
    assert sorted(r.source_topic for r in records) == sorted(topic for topic, _, _ in results)
    value_on = {topic: value for topic, _, value in results}
    policy = load_policy()
    for record in records:
        value = value_on[record.source_topic]
        assert record.disclosure.payload_sha256 == hashlib.sha256(value).hexdigest()
        assert record.disclosure.event_type == "uk.gov.cjsx.HearingResulted"
        kind = "cps" if record.disclosure.recipient == CPS else "force"
        assert record.disclosure.purpose == policy.for_kind(kind).purpose
        assert record.disclosure.legal_basis == policy.for_kind(kind).legal_basis
    assert {r.disclosure.recipient for r in records} == {"force-05", CPS}
