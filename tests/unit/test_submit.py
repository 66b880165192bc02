"""``producers.submit`` and the ``cjsx publish``/``cjsx receipts`` helpers, without a broker.

The local checks must be ``cjsx validate``'s, verdict for verdict: a force's developer is told
that what validate accepts, publish sends, and what validate rejects never leaves the machine.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from cjsx.cli.ids import Oversized, verdict
from cjsx.cli.receipts import IsoTime, table_header, table_row
from infra.registry import load_registry
from infra.topics import TopicCatalog
from producers import Publisher
from producers.simulator import Fault
from producers.submit import Checker, Submitter
from schemas.codec import Codec
from schemas.jsonform import MAX_LINE_BYTES, parse_line, render, to_cloudevent
from schemas.models import Reason, Receipt, ReceiptStatus
from streams.pipeline import Exchange, Status, partition_for
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.route import load_policy
from streams.state import DictStore
from streams.validate import ValidationContext
from tests.support.builders import synthetic_force
from tests.support.contract import one_of_each_event


def _corpus() -> list[bytes]:
    """Valid events of every type, one per fault family, and lines that are not events."""
    sim = synthetic_force("01", seed=11)
    lines = [render(e).encode() for e in one_of_each_event("01")]
    for fault in Fault:
        made = sim.faulty(fault, other_force="05")
        lines.append(made if isinstance(made, bytes) else render(made).encode())
    lines += [
        b"not json",
        b"[1, 2]",
        b'{"specversion": "1.0"}',
        b'{"specversion": "1.0", "type": "uk.gov.cjsx.Receipt", "id": "1", "source": "/x"}',
        "\ufeff{}".encode(),
        b"\xff\xfe",
        b'{"n": 1' + b"0" * 40 + b"}",
        render(one_of_each_event("05")[1]).encode(),  # another force's event
    ]
    return lines


@pytest.fixture(scope="module")
def context() -> ValidationContext:
    return ValidationContext(StandingData.load())


def _worker(force: str) -> Exchange:
    catalog = TopicCatalog(load_registry().limited_to([force]))
    return Exchange(
        codec=Codec(),
        catalog=catalog,
        registry=catalog.registry,
        standing=StandingData.load(),
        policy=load_policy(),
        seen_store=DictStore(),
        case_store=DictStore(),
    )


@pytest.mark.parametrize("force", ["01", "05"])
def test_the_local_verdict_is_the_workers_and_validates(
    force: str, context: ValidationContext
) -> None:
    """What publish (and the gateway) decide here is what the worker decides on the topic,
    and what ``cjsx validate --force`` prints."""
    checker = Checker(force, context)
    worker = _worker(force)
    codec = Codec()
    seen = set()
    for offset, line in enumerate(_corpus()):
        local = checker.check(line)
        assert local.to_json() == verdict(line, context, force)
        parsed = parse_line(line)
        if parsed.event is None:
            assert not local.accepted  # not an event: never published
            continue
        topic = worker.catalog.ingest(force)
        key = parsed.event.envelope.case_urn.encode()
        outcome = worker.process(
            SourceRecord(topic, partition_for(key, 3), offset, key, codec.encode(parsed.event))
        )
        if local.accepted:
            assert outcome.status is not Status.REJECTED, outcome.reasons
        else:
            assert outcome.status is Status.REJECTED
            assert [r.code.value for r in outcome.reasons] == [r.code for r in local.reasons]
        seen.add(local.accepted)
    assert seen == {True, False}  # the corpus has both, for either force
    oversized = Oversized(MAX_LINE_BYTES + 5)
    assert checker.too_long(oversized.size).to_json() == verdict(oversized, context, force)


def test_a_decoded_object_gets_the_same_verdict_as_its_text(context: ValidationContext) -> None:
    checker = Checker("01", context)
    good = one_of_each_event("01")[1]
    bad = synthetic_force("01", seed=3).faulty(Fault.UNKNOWN_COURT)
    assert not isinstance(bad, bytes)
    for event in (good, bad):
        value = to_cloudevent(event)
        assert checker.check_object(value) == checker.check(json.dumps(value))
    passed = checker.check_object(to_cloudevent(good))
    assert passed.accepted
    assert passed.event == good
    assert passed.event_id == str(good.envelope.event_id)
    failed = checker.check_object(to_cloudevent(bad))
    assert [r.code for r in failed.reasons] == ["COURT_UNKNOWN"]
    assert failed.event is None


def test_a_rejected_event_is_never_kept_nor_sent(
    tmp_path: Path, context: ValidationContext
) -> None:
    # No broker: the publisher makes its producer on the first send, and nothing is sent.
    publisher = Publisher(bootstrap_servers="127.0.0.1:1", topic="ingest", outbox_dir=tmp_path)
    submitter = Submitter(publisher, Checker("01", context))
    try:
        bad = synthetic_force("01", seed=4).faulty(Fault.BAD_ASN_CHECK)
        assert not isinstance(bad, bytes)
        submission = submitter.submit(render(bad))
        assert submission.sent is None
        assert [r.code for r in submission.verdict.reasons] == ["ASN_CHECK_CHARACTER"]
        assert publisher.pending() == 0
    finally:
        publisher.close(timeout=0)


def test_an_event_too_large_for_the_topic_is_a_verdict(
    tmp_path: Path, context: ValidationContext
) -> None:
    publisher = Publisher(
        bootstrap_servers="127.0.0.1:1", topic="ingest", outbox_dir=tmp_path, max_message_bytes=200
    )
    submitter = Submitter(publisher, Checker("01", context))
    try:
        good = one_of_each_event("01")[1]
        submission = submitter.submit(render(good))
        assert submission.sent is None
        assert submission.verdict.event_id == str(good.envelope.event_id)
        assert [r.code for r in submission.verdict.reasons] == ["EVENT_TOO_LARGE"]
        assert "takes at most 200" in submission.verdict.reasons[0].message
        assert publisher.pending() == 0
    finally:
        publisher.close(timeout=0)


def _receipt(status: ReceiptStatus, **fields: object) -> Receipt:
    return Receipt(
        receipt_id=uuid.uuid4(),
        event_id=uuid.UUID(int=7),
        case_urn="05DP3497126",
        force="05",
        status=status,
        issued_at=datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def test_a_receipt_as_a_table_row() -> None:
    reason = Reason(code="COURT_UNKNOWN", field="first_hearing.court_ou", message="m", hint="h")
    rows = {
        ReceiptStatus.ACCEPTED: _receipt(ReceiptStatus.ACCEPTED, deliveries=["a", "b"]),
        ReceiptStatus.REJECTED: _receipt(ReceiptStatus.REJECTED, reasons=[reason, reason]),
        ReceiptStatus.DUPLICATE: _receipt(
            ReceiptStatus.DUPLICATE, original_event_id=uuid.UUID(int=1)
        ),
        ReceiptStatus.DELIVERED: _receipt(ReceiptStatus.DELIVERED, recipient="court"),
        ReceiptStatus.ACKNOWLEDGED: _receipt(ReceiptStatus.ACKNOWLEDGED, recipient="court"),
    }
    details = {status: table_row(r).split("05DP3497126")[1].strip() for status, r in rows.items()}
    assert details == {
        ReceiptStatus.ACCEPTED: "to a, b",
        ReceiptStatus.REJECTED: "COURT_UNKNOWN,COURT_UNKNOWN",
        ReceiptStatus.DUPLICATE: f"repeats {uuid.UUID(int=1)}",
        ReceiptStatus.DELIVERED: "to court",
        ReceiptStatus.ACKNOWLEDGED: "stored by court",
    }
    row = table_row(rows[ReceiptStatus.ACCEPTED])
    assert row.startswith("2026-12-01T09:30:05Z  ACCEPTED  ")
    assert row.index(str(uuid.UUID(int=7))) == table_header().index("EVENT")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00Z", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01T10:00+01:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_iso_times(text: str, expected: datetime) -> None:
    assert IsoTime().convert(text, None, None) == expected


def test_a_time_that_is_not_iso_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter, match="not an ISO 8601 time"):
        IsoTime().convert("yesterday", None, None)
