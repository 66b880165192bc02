"""The fuzz run: ten thousand hostile records against a real worker on the real broker.

Each force publishes, with its own login, mutations of valid events of every type, raw noise,
misplaced records and a few events whose outputs cannot fit their topics
(tests/support/hostile.py); each partner writes forged acknowledgements to its own acks topic.
Then, read back from the topics: every ingest record ended in exactly one outcome and one
outcome receipt to its sender; every rejection kept its bytes; nothing forged reached a force;
the worker neither crashed nor restarted an agent, counted every record, and never quoted
record content in its log. The figures go to ``.cache/reports/fuzz.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from infra.topics import TopicCatalog
from producers.simulator import FAMILY_NAMES
from schemas.codec import Codec, CodecError
from schemas.ids import derived_id
from schemas.models import CaseEvent, Receipt, ReceiptStatus, RejectedEvent
from schemas.reasons import MAX_REASONS, ReasonCode
from tests.support.hostile import NEEDLE, ForgedAck, Hostile, forged_acks, plan_force
from tests.support.world import TEST_FORCES, Broker, WorkerProcess

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / ".cache" / "reports" / "fuzz.json"
SEED = int(os.environ.get("CJSX_FUZZ_SEED", "20261130"))
PER_FORCE = int(os.environ.get("CJSX_FUZZ_PER_FORCE", "3400"))
"""Hostile records per force: three forces make over 10,000 (fewer only to debug the run)."""
ACKS_PER_PARTNER = 25
PUBLISH_RATE = 1_500
"""Records per second offered: about what the worker takes of this mix, so the run measures
the worker, not a backlog."""
SETTLE_SECONDS = 240.0
STALL_SECONDS = 60.0
"""Stop waiting when nothing new has arrived for this long: the worker is stuck."""
OUTCOMES = (ReceiptStatus.ACCEPTED, ReceiptStatus.REJECTED, ReceiptStatus.DUPLICATE)
CRASH_MARKERS = (
    "Crashed reason=",
    "Restarting dead",
    "Giving up on crashed",
    "stopping before commit",
)
CODES = {code.value for code in ReasonCode}


@dataclass(frozen=True)
class Sent:
    """A hostile record and where the broker put it."""

    record: Hostile | ForgedAck
    topic: str
    partition: int
    offset: int

    @property
    def position(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True)
class Read:
    topic: str
    partition: int
    offset: int
    value: bytes


def _producer(kafka: Broker, principal: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=kafka.bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=2 * 1024 * 1024,
        **kafka.client(principal),
    )


def publish(
    kafka: Broker,
    catalog: TopicCatalog,
    plans: dict[str, list[Hostile]],
    acks: dict[str, list[ForgedAck]],
) -> list[Sent]:
    """Every force's and partner's records, interleaved, at ``PUBLISH_RATE``, each with its
    own login; returns where each landed."""
    producers = {f: _producer(kafka, f"force-{f}") for f in plans}
    producers |= {p: _producer(kafka, p) for p in acks}
    queue: list[tuple[str, str, Hostile | ForgedAck]] = []
    longest = max([len(p) for p in plans.values()] + [len(a) for a in acks.values()])
    for i in range(longest):
        for force, plan in plans.items():
            if i < len(plan):
                queue.append((force, catalog.ingest(force), plan[i]))
        for partner, forged in acks.items():
            if i < len(forged):
                queue.append((partner, catalog.acks(partner), forged[i]))
    futures = []
    started = time.monotonic()
    try:
        for n, (who, topic, record) in enumerate(queue, 1):
            partition = record.partition if isinstance(record, Hostile) else None
            futures.append(
                producers[who].send(
                    topic,
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers),
                    partition=partition,
                )
            )
            if n % 250 == 0:
                ahead = n / PUBLISH_RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        for producer in producers.values():
            producer.flush(timeout=60)
        sent = []
        for (_, _, record), future in zip(queue, futures, strict=True):
            meta = future.get(timeout=60)
            sent.append(Sent(record, meta.topic, meta.partition, meta.offset))
        return sent
    finally:
        for producer in producers.values():
            producer.close(timeout=10)


def read_until(
    kafka: Broker,
    topics: Sequence[str],
    done: Callable[[list[Read]], bool],
    timeout: float,
) -> list[Read]:
    """Everything on ``topics`` from the start, in batches, until ``done`` holds (or the
    timeout passes), and then until they are idle for three seconds, so extras show."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        **kafka.client(),
    )
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Read] = []
        last_new = time.monotonic()
        deadline = last_new + timeout
        idle_since: float | None = None
        while True:
            batch = consumer.poll(timeout_ms=500, max_records=5000)
            got = [
                Read(r.topic, r.partition, r.offset, r.value or b"")
                for rs in batch.values()
                for r in rs
            ]
            records += got
            now = time.monotonic()
            if got:
                last_new = now
            if not done(records) and now < deadline and now - last_new < STALL_SECONDS:
                idle_since = None
                continue
            if got:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= 3.0:
                return records
    finally:
        consumer.close()


def end_offsets(kafka: Broker, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None, **kafka.client())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def expected_event_id(codec: Codec, sent: Sent) -> UUID:
    """The event id the worker addresses its receipt by: the event's own, or one derived
    from where the record arrived when it is not an event."""
    try:
        return codec.decode_as(sent.record.value, CaseEvent).envelope.event_id
    except CodecError:
        return derived_id(sent.position, "undecodable")


def _receipt_id(event_id: UUID, status: ReceiptStatus, occurrence: str) -> UUID:
    """As streams/outputs.py derives it (``receipt_id`` of ``OutputFactory.receipt``)."""
    return derived_id(event_id, status.value, "", occurrence)


def _no_recipient(receipt: Receipt | RejectedEvent) -> bool:
    return [r.code for r in receipt.reasons] == [ReasonCode.NO_RECIPIENT.value]


def test_ten_thousand_hostile_records_each_end_in_one_outcome(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess
) -> None:
    started = time.monotonic()
    codec = Codec()
    partitions = catalog.ingest_partitions
    plans = {
        f: plan_force(f, seed=SEED + i, records=PER_FORCE, partitions=partitions, codec=codec)
        for i, f in enumerate(TEST_FORCES)
    }
    partners = [p.id for p in catalog.registry.partners]
    acks = {
        p: forged_acks(
            p, seed=SEED + 100 + i, count=ACKS_PER_PARTNER, forces=list(TEST_FORCES), codec=codec
        )
        for i, p in enumerate(partners)
    }
    kinds = Counter(h.kind for plan in plans.values() for h in plan)
    event_types = {
        type(codec.decode(h.value)).__name__
        for plan in plans.values()
        for h in plan
        if h.kind == "valid"
    }
    assert len(event_types) == 6, event_types  # every event type is mutated

    sent = publish(kafka, catalog, plans, acks)
    ingest = [s for s in sent if isinstance(s.record, Hostile)]
    forged = [s for s in sent if isinstance(s.record, ForgedAck)]
    assert len(ingest) >= 10_000 or "CJSX_FUZZ_PER_FORCE" in os.environ

    # -- receipts: read until every ingest record has its outcome receipt --------------------
    receipt_topics = {catalog.receipts(f): f for f in TEST_FORCES}

    def decoded_receipts(reads: list[Read]) -> dict[tuple[str, UUID], Receipt]:
        found: dict[tuple[str, UUID], Receipt] = {}
        for r in reads:
            receipt = codec.decode_as(r.value, Receipt)
            found[r.topic, receipt.receipt_id] = receipt
        return found

    def outcome_count(reads: list[Read]) -> int:
        return sum(
            1
            for rec in decoded_receipts(reads).values()
            if rec.status in OUTCOMES and not _no_recipient(rec)
        )

    receipt_reads = read_until(
        kafka, list(receipt_topics), lambda rs: outcome_count(rs) >= len(ingest), SETTLE_SECONDS
    )
    receipts = decoded_receipts(receipt_reads)
    re_emitted_receipts = len(receipt_reads) - len(receipts)

    # -- match receipts to what each force published -----------------------------------------
    problems: list[str] = []
    matched: set[tuple[str, UUID]] = set()
    outcome_of: dict[str, tuple[ReceiptStatus, Receipt]] = {}
    maybe_accepted: dict[tuple[str, UUID], list[Sent]] = defaultdict(list)
    for s in ingest:
        assert isinstance(s.record, Hostile)
        topic = catalog.receipts(s.record.force)
        event_id = expected_event_id(codec, s)
        found = [
            (status, (topic, rid))
            for status in (ReceiptStatus.REJECTED, ReceiptStatus.DUPLICATE)
            if (topic, rid := _receipt_id(event_id, status, s.position)) in receipts
        ]
        if len(found) > 1:
            problems.append(f"{s.position} ({s.record.kind}): {len(found)} outcome receipts")
        elif found:
            status, key = found[0]
            matched.add(key)
            outcome_of[s.position] = (status, receipts[key])
        else:
            maybe_accepted[topic, event_id].append(s)
    for (topic, event_id), candidates in maybe_accepted.items():
        key = (topic, _receipt_id(event_id, ReceiptStatus.ACCEPTED, ""))
        if key not in receipts or len(candidates) > 1:
            problems += [f"{s.position} ({s.record.kind}): no outcome receipt" for s in candidates]
            continue
        matched.add(key)
        outcome_of[candidates[0].position] = (ReceiptStatus.ACCEPTED, receipts[key])
    accepted_ids = {
        (topic, r.event_id)
        for (topic, _), r in receipts.items()
        if r.status is ReceiptStatus.ACCEPTED
    }
    for key, receipt in receipts.items():
        if key in matched:
            continue
        follow_up = receipt.status is ReceiptStatus.DELIVERED or (
            receipt.status is ReceiptStatus.REJECTED and _no_recipient(receipt)
        )
        if not (follow_up and (key[0], receipt.event_id) in accepted_ids):
            problems.append(f"a receipt no published record explains: {receipt.status} on {key[0]}")
    acknowledged = [r for r in receipts.values() if r.status is ReceiptStatus.ACKNOWLEDGED]
    for (topic, _), receipt in receipts.items():
        if receipt.force != receipt_topics[topic]:
            problems.append(f"a receipt for force {receipt.force} on {topic}")

    # -- the rejected topic: every rejection, with the bytes that were published ---------------
    rejected_positions = {
        p for p, (status, _) in outcome_of.items() if status is ReceiptStatus.REJECTED
    }
    wanted_rejections = len(rejected_positions) + len(forged)

    def decoded_rejections(reads: list[Read]) -> dict[UUID, RejectedEvent]:
        found: dict[UUID, RejectedEvent] = {}
        for r in reads:
            rejection = codec.decode_as(r.value, RejectedEvent)
            found[rejection.rejection_id] = rejection
        return found

    rejected_reads = read_until(
        kafka,
        [catalog.rejected],
        lambda rs: len(decoded_rejections(rs)) >= wanted_rejections,
        60.0,
    )
    rejections = decoded_rejections(rejected_reads)
    at: dict[str, list[RejectedEvent]] = defaultdict(list)
    for rejection in rejections.values():
        position = (
            f"{rejection.source_topic}/{rejection.source_partition}/{rejection.source_offset}"
        )
        at[position].append(rejection)
    by_position = {s.position: s for s in sent}
    for position, here in at.items():
        source = by_position.get(position)
        if source is None:
            problems.append(f"a rejection of a record nobody published: {position}")
            continue
        only_no_recipient = all(_no_recipient(r) for r in here)
        if isinstance(source.record, Hostile) and only_no_recipient:  # noqa: SIM102
            if outcome_of.get(position, (None,))[0] is not ReceiptStatus.ACCEPTED:
                problems.append(f"{position}: NO_RECIPIENT for a record not accepted")
    kept = 0
    expected_missing: list[str] = []
    reason_codes: Counter[str] = Counter()
    for s in [*(by_position[p] for p in sorted(rejected_positions)), *forged]:
        kept_here = [r for r in at.get(s.position, []) if not _no_recipient(r)]
        if len(kept_here) != 1:
            problems.append(f"{s.position} ({s.record.kind}): {len(kept_here)} rejections")
            continue
        rejection = kept_here[0]
        same = (
            rejection.value == s.record.value
            and rejection.key == s.record.key
            and [(h.key, h.value) for h in rejection.headers] == list(s.record.headers)
        )
        kept += same
        if not same:
            problems.append(f"{s.position} ({s.record.kind}): bytes not kept")
        codes = [r.code for r in rejection.reasons]
        reason_codes.update(codes)
        if not codes or len(codes) > MAX_REASONS + 1 or not set(codes) <= CODES:
            problems.append(f"{s.position} ({s.record.kind}): reasons {codes[:5]}")
        expect = s.record.expect if isinstance(s.record, Hostile) else None
        if isinstance(s.record, ForgedAck) and not s.record.kind.startswith("junk"):
            expect = ReasonCode.ACK_INVALID
        if expect is not None and expect.value not in codes:
            expected_missing.append(f"{s.position} ({s.record.kind}): {expect} not in {codes[:5]}")
        if isinstance(s.record, Hostile):
            receipt = outcome_of[s.position][1]
            if [r.code for r in receipt.reasons] != codes:
                problems.append(f"{s.position}: the receipt's reasons differ from the rejection's")
    for s in ingest:
        final: ReceiptStatus | None = outcome_of.get(s.position, (None,))[0]
        if final is not ReceiptStatus.REJECTED and any(
            not _no_recipient(r) for r in at.get(s.position, [])
        ):
            problems.append(f"{s.position} ({s.record.kind}): {final} and also rejected")
        expect = s.record.expect  # type: ignore[union-attr]
        if expect is not None and final is not None and final is not ReceiptStatus.REJECTED:
            expected_missing.append(f"{s.position} ({s.record.kind}): {final}, not {expect}")

    # -- the worker: alive, counted everything, no internal errors, a clean log ----------------
    received = {f: worker.metric("cjsx_events_received_total", force=f) for f in TEST_FORCES}
    on_topics = {f: end_offsets(kafka, catalog.ingest(f)) for f in TEST_FORCES}
    published_per_force = Counter(s.record.force for s in ingest)  # type: ignore[union-attr]
    internal_errors = worker.metric("cjsx_internal_errors_total")
    alive = worker.process is not None and worker.process.poll() is None
    log = worker.log.read_text(errors="replace")
    agent_restarts = sum(log.count(marker) for marker in CRASH_MARKERS)
    quoted = [n for n in (NEEDLE, *FAMILY_NAMES) if n in log]
    statuses = Counter(status.value for status, _ in outcome_of.values())

    figures: dict[str, Any] = {
        "seed": SEED,
        "published": len(sent),
        "published_ingest": len(ingest),
        "forged_acks": len(forged),
        "outcomes": len(outcome_of) + sum(1 for s in forged if len(at.get(s.position, [])) == 1),
        "rejected": len(rejected_positions) + len(forged),
        "rejected_with_bytes_kept": kept,
        "accepted": statuses["ACCEPTED"],
        "duplicate": statuses["DUPLICATE"],
        "receipts": sum(
            1 for r in receipts.values() if r.status in OUTCOMES and not _no_recipient(r)
        ),
        "receipts_re_emitted": re_emitted_receipts,
        "acknowledged_receipts": len(acknowledged),
        "worker_restarts": 0 if alive else 1,
        "agent_restarts": agent_restarts,
        "internal_errors": internal_errors,
        "events_received": received,
        "ingest_records": on_topics,
        "kinds": dict(sorted(kinds.items())),
        "reason_codes": dict(reason_codes.most_common()),
        "problems": problems[:50],
        "expected_code_missing": expected_missing[:50],
        "worker_log_tracebacks": len(re.findall(r"Traceback", log)),
        "seconds": round(time.monotonic() - started, 1),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    shutil.copyfile(worker.log, REPORT.with_name("fuzz-worker.log"))

    assert alive, f"the worker died; see {worker.log}"
    assert agent_restarts == 0, [
        line for line in log.splitlines() if any(m in line for m in CRASH_MARKERS)
    ][:5]
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:10]}"
    assert expected_missing == [], f"{len(expected_missing)}, e.g. {expected_missing[:10]}"
    assert len(outcome_of) == len(ingest)
    assert kept == len(rejected_positions) + len(forged)
    assert acknowledged == []  # no partner ran: every acknowledgement was forged
    assert on_topics == dict(published_per_force)
    assert received == {f: float(n) for f, n in on_topics.items()}
    assert internal_errors == 0
    assert quoted == []
    assert statuses["ACCEPTED"] > 0
    assert kinds["oversized-output"] > 0
    assert reason_codes[ReasonCode.OUTPUT_TOO_LARGE.value] == kinds["oversized-output"]
