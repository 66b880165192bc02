"""The stages composed (streams/pipeline.py): Exchange.process, tick and acknowledge over dicts."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from itertools import count

import pytest

from producers.simulator import Fault, SyntheticForce
from schemas.ids import acknowledgement_id, derived_id
from schemas.models import (
    AvroRecord,
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    Delivery,
    Header,
    MgForm,
    OrderingFlag,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
)
from schemas.reasons import ReasonCode
from streams.audit import disclosure_of
from streams.dedupe import DuplicateKind
from streams.outputs import Output
from streams.pipeline import Outcome, Source, Status
from streams.record import SourceRecord
from streams.route import load_policy
from streams.state import DictStore
from tests.support.builders import (
    HOLD,
    MAGISTRATES,
    NOW,
    FixedClock,
    case,
    catalog,
    codec,
    decoded,
    exchange,
    record,
    registry,
    synthetic_force,
    tick_record,
    valid_charge,
    with_defendant,
    with_envelope,
    with_hearing,
)

RECEIPTS = catalog().receipts("05")
REJECTED = catalog().rejected
TO_CPS = catalog().deliver("cps-mersey-cheshire")
TO_COURT = catalog().deliver("court-magistrates")
MS = timedelta(milliseconds=1)


def summary(outputs: Sequence[Output]) -> list[tuple[str, str]]:
    """(topic, what) of each output: receipt status and recipient, delivery recipient and
    ordering flag, or the rejection's reason codes."""
    found: list[tuple[str, str]] = []
    for out in outputs:
        value = codec().decode(out.value)
        match value:
            case Receipt():
                what = f"{value.status.value} {value.recipient or ''}".strip()
                if value.deliveries:
                    what += " to " + " ".join(value.deliveries)
            case Delivery():
                what = f"{value.recipient} {value.ordering.value}"
            case RejectedEvent():
                what = " ".join(r.code for r in value.reasons)
            case _:
                raise AssertionError(value)
        found.append((out.topic, what))
    return found


def record_ids(outputs: Sequence[Output]) -> list[tuple[str, uuid.UUID]]:
    """(topic, id) of each output: what a sink deduplicates by."""
    ids: list[tuple[str, uuid.UUID]] = []
    for out in outputs:
        value: AvroRecord = codec().decode(out.value)
        match value:
            case Receipt():
                ids.append((out.topic, value.receipt_id))
            case Delivery():
                ids.append((out.topic, value.delivery_id))
            case RejectedEvent():
                ids.append((out.topic, value.rejection_id))
        assert dict(out.headers)["ce_id"] == str(ids[-1][1]).encode()
    return ids


@pytest.fixture
def sim() -> SyntheticForce:
    return synthetic_force()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


# -- accepted ------------------------------------------------------------------------------------


def test_an_accepted_charge_is_delivered_and_receipted_once_listing_its_recipients(
    sim: SyntheticForce,
) -> None:
    event = sim.charge(case(sim, court=MAGISTRATES), advised=True)
    outcome = exchange().process(record(event, 7))
    assert (outcome.status, outcome.force, outcome.held, outcome.reasons) == (
        Status.ACCEPTED,
        "05",
        False,
        [],
    )
    # One receipt for the event, listing the partners it went to.
    assert summary(outcome.outputs) == [
        (RECEIPTS, "ACCEPTED to cps-mersey-cheshire court-magistrates"),
        (TO_CPS, "cps-mersey-cheshire IN_ORDER"),
        (TO_COURT, "court-magistrates IN_ORDER"),
    ]
    receipts = decoded(outcome.outputs, Receipt)
    assert {r.event_id for r in receipts} == {event.envelope.event_id}
    assert {(r.force, r.case_urn) for r in receipts} == {("05", event.envelope.case_urn)}
    cps, court = decoded(outcome.outputs, Delivery)
    assert cps.event == event
    assert court.event == event.model_copy(update={"charging_advice": None})
    assert isinstance(court.event, DefendantCharged)
    assert court.event.charging_advice is None
    assert (cps.policy_version, cps.enrichment.court_ou, cps.enrichment.cps_area) == (
        1,
        MAGISTRATES,
        "mersey-cheshire",
    )
    assert [(n.recipient, n.force, n.ordering) for n in outcome.deliveries] == [
        ("cps-mersey-cheshire", "05", "IN_ORDER"),
        ("court-magistrates", "05", "IN_ORDER"),
    ]
    # Every output is keyed by the case URN.
    assert {out.key for out in outcome.outputs} == {event.envelope.case_urn.encode()}


def test_a_charging_request_goes_to_the_cps_only(sim: SyntheticForce) -> None:
    event = sim.pre_charge(case(sim))
    outcome = exchange().process(record(event))
    assert summary(outcome.outputs) == [
        (RECEIPTS, "ACCEPTED to cps-mersey-cheshire"),
        (TO_CPS, "cps-mersey-cheshire IN_ORDER"),
    ]
    [delivery] = decoded(outcome.outputs, Delivery)
    assert isinstance(delivery.event, CaseFileSubmitted)


def test_later_events_follow_the_case_to_its_court(sim: SyntheticForce) -> None:
    met = synthetic_force("01")
    story = case(met, court="B01EF00")  # Croydon: CPS London South
    x = exchange()
    x.process(record(met.charge(story), 1, force="01"))
    later = met.documents(story, [MgForm.MG5, MgForm.MG6D])
    outcome = x.process(record(later, 2, force="01"))
    assert summary(outcome.outputs) == [
        (catalog().receipts("01"), "ACCEPTED to cps-london-south court-magistrates"),
        (catalog().deliver("cps-london-south"), "cps-london-south IN_ORDER"),
        (TO_COURT, "court-magistrates IN_ORDER"),
    ]
    cps, court = decoded(outcome.outputs, Delivery)
    assert [d.form for d in getattr(cps.event, "documents", [])] == [MgForm.MG5, MgForm.MG6D]
    assert [d.form for d in getattr(court.event, "documents", [])] == [MgForm.MG5]


def test_an_indictable_only_offence_also_reaches_the_crown_court(
    sim: SyntheticForce,
) -> None:
    event = sim.charge(case(sim, court=MAGISTRATES, offences=("COML025",)))
    outcome = exchange().process(record(event))
    assert outcome.status is Status.ACCEPTED
    assert [d.recipient for d in outcome.deliveries] == [
        "cps-mersey-cheshire",
        "court-magistrates",
        "court-crown",
    ]


def test_an_event_nobody_may_receive_is_accepted_but_kept_as_undeliverable(
    sim: SyntheticForce,
) -> None:
    courts_only = dataclasses.replace(
        registry(), partners=tuple(p for p in registry().partners if p.kind == "court")
    )
    event = sim.pre_charge(case(sim))
    outcome = exchange(partners=courts_only).process(record(event))
    assert (outcome.status, outcome.undeliverable) == (Status.ACCEPTED, 1)
    assert [r.code for r in outcome.reasons] == [ReasonCode.NO_RECIPIENT]
    assert summary(outcome.outputs) == [
        (RECEIPTS, "ACCEPTED"),
        (REJECTED, "NO_RECIPIENT"),
        (RECEIPTS, "REJECTED"),
    ]


# -- rejected --------------------------------------------------------------------------------------


def test_a_rejected_event_keeps_its_bytes_and_every_reason(sim: SyntheticForce) -> None:
    event = sim.charge(case(sim))
    event = with_envelope(event, force="01")  # the sender binding
    event = with_defendant(event, pnc_id="2001/0171310X")
    event = with_hearing(event, court_ou="B99ZZ00", date=event.charge_date - timedelta(days=1))
    source = record(event, 42)
    outcome = exchange().process(source)
    expected = [
        ("SENDER_FORCE_MISMATCH", "envelope.force"),
        ("PNC_ID_CHECK_CHARACTER", "defendant.pnc_id"),
        ("COURT_UNKNOWN", "first_hearing.court_ou"),
        ("HEARING_BEFORE_CHARGE", "first_hearing.date"),
    ]
    assert outcome.status is Status.REJECTED
    assert [(r.code.value, r.field) for r in outcome.reasons] == expected
    assert summary(outcome.outputs) == [
        (REJECTED, " ".join(c for c, _ in expected)),
        (RECEIPTS, "REJECTED"),
    ]
    [rejection] = decoded(outcome.outputs, RejectedEvent)
    assert (rejection.source_topic, rejection.source_partition, rejection.source_offset) == (
        catalog().ingest("05"),
        source.partition,
        42,
    )
    assert (rejection.key, rejection.value) == (source.key, source.value)
    assert rejection.headers == [Header(key="x-test", value=b"1")]
    assert (rejection.force, rejection.event_id, rejection.case_urn, rejection.event_type) == (
        "05",
        event.envelope.event_id,
        event.envelope.case_urn,
        "uk.gov.cjsx.DefendantCharged",
    )
    assert [(r.code, r.field) for r in rejection.reasons] == expected
    assert all(r.hint for r in rejection.reasons)
    [receipt] = decoded(outcome.outputs, Receipt)
    # The receipt goes to the force whose topic carried the event, not the one it named.
    assert (receipt.force, receipt.event_id) == ("05", event.envelope.event_id)
    assert [(r.code, r.field) for r in receipt.reasons] == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"not an Avro record", "UNDECODABLE"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "UNKNOWN_SCHEMA"),
    ],
)
def test_undecodable_bytes_yield_a_rejection_and_a_receipt_naming_where_they_arrived(
    value: bytes, code: str
) -> None:
    source = record(value, 3)
    outcome = exchange().process(source)
    assert (outcome.status, outcome.force) == (Status.REJECTED, "05")
    assert [r.code.value for r in outcome.reasons] == [code]
    assert summary(outcome.outputs) == [(REJECTED, code), (RECEIPTS, "REJECTED")]
    [rejection] = decoded(outcome.outputs, RejectedEvent)
    assert (rejection.value, rejection.key, rejection.event_id) == (value, None, None)
    assert outcome.outputs[0].key == b"05"
    # The force cannot read the rejected topic: its receipt says where the record arrived.
    [receipt] = decoded(outcome.outputs, Receipt)
    assert (receipt.force, receipt.status) == ("05", ReceiptStatus.REJECTED)
    assert receipt.event_id == derived_id(source.position, "undecodable")
    assert [r.code for r in receipt.reasons] == [code]
    assert receipt.reasons[0].message.startswith(
        f"the record at {source.topic} partition 0 offset 3: "
    )


def test_a_record_that_is_not_an_event_is_rejected(sim: SyntheticForce) -> None:
    receipt = Receipt(
        receipt_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        case_urn="05AM1234524",
        force="05",
        status=ReceiptStatus.ACCEPTED,
        issued_at=NOW,
    )
    source = dataclasses.replace(record(b""), value=codec().encode(receipt))
    outcome = exchange().process(source)
    assert summary(outcome.outputs) == [(REJECTED, "NOT_AN_EVENT"), (RECEIPTS, "REJECTED")]


def test_a_record_from_a_topic_that_is_not_an_ingest_topic_is_a_fault() -> None:
    with pytest.raises(ValueError, match="not an ingest topic"):
        exchange().process(record(valid_charge(), topic=REJECTED))


def test_a_reused_sequence_number_is_rejected(sim: SyntheticForce) -> None:
    story = case(sim)
    x = exchange()
    x.process(record(sim.charge(story), 1))
    reuse = with_envelope(sim.remand_change(story), sequence=1)
    outcome = x.process(record(reuse, 2))
    assert outcome.status is Status.REJECTED
    assert [(r.code.value, r.field) for r in outcome.reasons] == [
        ("SEQUENCE_INVALID", "envelope.sequence")
    ]
    assert summary(outcome.outputs) == [(REJECTED, "SEQUENCE_INVALID"), (RECEIPTS, "REJECTED")]


def test_a_corrected_resend_of_an_event_refused_for_its_sequence_is_accepted(
    sim: SyntheticForce,
) -> None:
    story = case(sim)
    x = exchange()
    x.process(record(sim.charge(story), 1))
    change = sim.remand_change(story)  # sequence 2
    refused = x.process(record(with_envelope(change, sequence=1), 2))
    assert refused.status is Status.REJECTED
    # The force does what the receipt's hint says: resend with the case's next number.
    corrected = with_envelope(change, event_id=uuid.uuid4())
    assert x.process(record(corrected, 3)).status is Status.ACCEPTED


def test_a_replay_of_an_event_refused_for_its_sequence_is_refused_again(
    sim: SyntheticForce,
) -> None:
    seen, cases = DictStore(), DictStore()
    story = case(sim)
    exchange(seen=seen, cases=cases).process(record(sim.charge(story), 1))
    refused = record(with_envelope(sim.remand_change(story), sequence=1), 2)
    first = exchange(seen=seen, cases=cases).process(refused)
    assert first.status is Status.REJECTED
    again = exchange(seen=seen, cases=cases).process(refused)
    assert again.status is Status.REJECTED
    assert record_ids(again.outputs) == record_ids(first.outputs)


# -- duplicates ----------------------------------------------------------------------------------


def test_an_exact_resend_gets_a_duplicate_receipt_naming_the_original(
    sim: SyntheticForce,
) -> None:
    event = valid_charge(sim)
    x = exchange()
    x.process(record(event, 1))
    first = x.process(record(event, 2))
    second = x.process(record(event, 3))
    for outcome in (first, second):
        assert (outcome.status, outcome.duplicate) == (Status.DUPLICATE, DuplicateKind.EVENT_ID)
        assert summary(outcome.outputs) == [(RECEIPTS, "DUPLICATE")]
        [receipt] = decoded(outcome.outputs, Receipt)
        assert receipt.original_event_id == event.envelope.event_id
    # Each resend is a separate arrival with its own receipt.
    assert record_ids(first.outputs) != record_ids(second.outputs)


def test_a_content_resend_gets_a_duplicate_receipt_naming_the_original(
    sim: SyntheticForce,
) -> None:
    event = valid_charge(sim)
    x = exchange()
    x.process(record(event, 1))
    resend = sim.content_duplicate(event)
    outcome = x.process(record(resend, 2))
    assert (outcome.status, outcome.duplicate) == (Status.DUPLICATE, DuplicateKind.CONTENT)
    [receipt] = decoded(outcome.outputs, Receipt)
    assert (receipt.event_id, receipt.original_event_id) == (
        resend.envelope.event_id,
        event.envelope.event_id,
    )
    assert decoded(outcome.outputs, Delivery) == []


# -- restart replays -------------------------------------------------------------------------------


def test_a_restart_replay_re_emits_every_output_with_the_same_ids(
    sim: SyntheticForce, clock: FixedClock
) -> None:
    seen, cases = DictStore(), DictStore()
    story = case(sim)
    charge, docs = sim.charge(story, advised=True), sim.documents(story, [MgForm.MG11])
    other = case(sim)
    held = with_envelope(sim.remand_change(other), sequence=2)
    records = [
        record(charge, 1),
        record(docs, 2),
        record(charge, 3),  # an exact resend: a duplicate
        record(with_defendant(valid_charge(sim), asn="nonsense"), 4),  # rejected
        record(b"garbage", 5),  # undecodable
        record(held, 6),  # held for ordering
    ]
    before = [exchange(clock, seen=seen, cases=cases).process(r) for r in records]
    clock.advance(timedelta(seconds=3))
    restarted = exchange(clock, seen=seen, cases=cases)
    after = [restarted.process(r) for r in records]
    assert [o.status for o in after] == [o.status for o in before]
    assert [record_ids(o.outputs) for o in after] == [record_ids(o.outputs) for o in before]
    assert [summary(o.outputs) for o in after] == [summary(o.outputs) for o in before]
    # One receipt + 2 deliveries; the undecodable record gets a receipt too.
    assert [len(o.outputs) for o in before] == [3, 3, 1, 2, 2, 1]
    # The held event was not held twice: one tick releases it once.
    p = records[-1].partition
    assert restarted.held_count(p) == 1
    clock.advance(HOLD)
    assert summary(restarted.tick(tick_record(p)).outputs) == [
        (TO_CPS, "cps-mersey-cheshire RELEASED_AFTER_GAP"),
        (TO_COURT, "court-magistrates RELEASED_AFTER_GAP"),
        (RECEIPTS, "DELIVERED to cps-mersey-cheshire court-magistrates"),
    ]
    assert restarted.tick(tick_record(p)).outputs == []


# -- the ordering clock ----------------------------------------------------------------------------


def test_tick_releases_held_events_after_the_hold_time(
    sim: SyntheticForce, clock: FixedClock
) -> None:
    story = case(sim)
    charge, docs, change = (
        sim.charge(story),
        sim.documents(story, [MgForm.MG5]),
        sim.remand_change(story),
    )
    x = exchange(clock)
    p = record(change).partition  # the case's partition
    other = (p + 1) % catalog().ingest_partitions
    held = x.process(record(change, 1))
    assert (held.status, held.held) == (Status.ACCEPTED, True)
    assert summary(held.outputs) == [(RECEIPTS, "ACCEPTED")]
    assert x.held_count(p) == 1
    clock.advance(HOLD - MS)
    assert x.tick(tick_record(p)).outputs == []
    clock.advance(MS)
    assert x.tick(tick_record(other)).outputs == []  # another partition
    released = x.tick(tick_record(p))
    assert released.status is None
    assert summary(released.outputs) == [
        (TO_CPS, "cps-mersey-cheshire RELEASED_AFTER_GAP"),
        (TO_COURT, "court-magistrates RELEASED_AFTER_GAP"),
        (RECEIPTS, "DELIVERED to cps-mersey-cheshire court-magistrates"),
    ]
    assert [d.event for d in decoded(released.outputs, Delivery)] == [change, change]
    assert x.held_count(p) == 0
    # The skipped events turn up late: accepted and delivered, flagged LATE.
    late = x.process(record(charge, 2))
    assert (late.status, late.held) == (Status.ACCEPTED, False)
    assert summary(late.outputs)[1] == (TO_CPS, "cps-mersey-cheshire LATE")
    assert summary(x.process(record(docs, 3)).outputs)[1] == (
        TO_CPS,
        "cps-mersey-cheshire LATE",
    )


def test_a_gap_filled_in_time_releases_the_held_events_in_order(
    sim: SyntheticForce, clock: FixedClock
) -> None:
    story = case(sim)
    charge, docs = sim.charge(story), sim.documents(story, [MgForm.MG5])
    x = exchange(clock)
    assert x.process(record(docs, 1)).held
    assert x.held_count(record(docs).partition) == 1
    clock.advance(HOLD - MS)
    filled = x.process(record(charge, 2))
    deliveries = decoded(filled.outputs, Delivery)
    assert [(d.recipient, d.event.envelope.sequence, d.ordering) for d in deliveries] == [
        ("cps-mersey-cheshire", 1, OrderingFlag.IN_ORDER),
        ("court-magistrates", 1, OrderingFlag.IN_ORDER),
        ("cps-mersey-cheshire", 2, OrderingFlag.IN_ORDER),
        ("court-magistrates", 2, OrderingFlag.IN_ORDER),
    ]
    assert x.held_count(record(docs).partition) == 0


# -- acknowledgements ----------------------------------------------------------------------------


def _ack(
    recipient: str = "court-magistrates",
    *,
    status: ReceiptStatus = ReceiptStatus.ACKNOWLEDGED,
    force: str = "05",
    topic_of: str = "court-magistrates",
    urn: str = "05AM1234524",
    receipt_id: uuid.UUID | None = None,
) -> SourceRecord:
    """An acknowledgement as the partner SDK writes it, of a delivery the exchange made to
    ``topic_of`` (unless the fields say otherwise)."""
    event_id = uuid.uuid4()
    delivery = exchange().delivery_ids.of(event_id, topic_of, "05", "05AM1234524")
    receipt = Receipt(
        receipt_id=receipt_id or acknowledgement_id(delivery),
        event_id=event_id,
        case_urn=urn,
        force=force,
        status=status,
        recipient=recipient,
        issued_at=NOW,
        reasons=[],
    )
    return SourceRecord(
        topic=catalog().acks(topic_of),
        partition=0,
        offset=9,
        key=b"05AM1234524",
        value=codec().encode(receipt),
        headers=(("ce_id", str(receipt.receipt_id).encode()), ("x-partner", b"anything")),
    )


def test_a_partners_acknowledgement_becomes_the_exchanges_own_receipt() -> None:
    ack = _ack()
    sent = codec().decode_as(ack.value, Receipt)
    outcome = exchange().acknowledge(ack)
    assert outcome.acknowledged_by == "court-magistrates"
    assert outcome.status is None
    [output] = outcome.outputs
    assert (output.topic, output.key) == (RECEIPTS, b"05AM1234524")
    [receipt] = decoded(outcome.outputs, Receipt)
    assert (receipt.receipt_id, receipt.event_id, receipt.case_urn, receipt.force) == (
        sent.receipt_id,
        sent.event_id,
        sent.case_urn,
        sent.force,
    )
    assert (receipt.status, receipt.recipient, receipt.reasons) == (
        ReceiptStatus.ACKNOWLEDGED,
        "court-magistrates",
        [],
    )
    # Headers are the exchange's own CloudEvents attributes, not the partner's.
    names = {k for k, _ in output.headers}
    assert "x-partner" not in names
    assert dict(output.headers)["ce_source"] != b"anything"


@pytest.mark.parametrize(
    "ack",
    [
        _ack("cps-mersey-cheshire"),  # claims another recipient
        _ack(status=ReceiptStatus.DELIVERED),  # not an acknowledgement
        _ack(force="99"),  # no such force
        dataclasses.replace(_ack(), topic=catalog().ingest("05")),  # not an acks topic
        _ack(receipt_id=uuid.uuid4()),  # names no delivery the exchange made
        _ack(force="01"),  # moves the acknowledgement to another force
        _ack(urn="05AM7654321"),  # or to another case
        _ack(topic_of="cps-mersey-cheshire", recipient="court-magistrates"),  # other's delivery
    ],
    ids=[
        "other-recipient",
        "not-acknowledged",
        "unknown-force",
        "not-an-acks-topic",
        "forged-id",
        "other-force",
        "other-case",
        "others-delivery",
    ],
)
def test_an_invalid_acknowledgement_is_rejected(ack: SourceRecord) -> None:
    outcome = exchange().acknowledge(ack)
    assert (outcome.status, outcome.acknowledged_by) == (Status.REJECTED, None)
    assert [(r.code, r.field) for r in outcome.reasons] == [(ReasonCode.ACK_INVALID, "receipt_id")]
    assert summary(outcome.outputs) == [(REJECTED, "ACK_INVALID")]
    [rejection] = decoded(outcome.outputs, RejectedEvent)
    assert rejection.value == ack.value


def test_an_undecodable_acknowledgement_is_rejected() -> None:
    ack = dataclasses.replace(_ack(), value=b"garbage")
    outcome = exchange().acknowledge(ack)
    assert summary(outcome.outputs) == [(REJECTED, "UNDECODABLE")]


# -- conservation over simulated traffic -------------------------------------------------------

FAULT_CODES = {
    Fault.BAD_ASN_CHECK: ReasonCode.ASN_CHECK_CHARACTER,
    Fault.UNKNOWN_OFFENCE: ReasonCode.OFFENCE_UNKNOWN,
    Fault.UNKNOWN_COURT: ReasonCode.COURT_UNKNOWN,
    Fault.HEARING_BEFORE_CHARGE: ReasonCode.HEARING_BEFORE_CHARGE,
    Fault.UNDER_AGE: ReasonCode.DEFENDANT_UNDER_AGE,
    Fault.OTHER_FORCE: ReasonCode.SENDER_FORCE_MISMATCH,
    Fault.SENSITIVITY: ReasonCode.DOCUMENT_SENSITIVITY_TOO_LOW,
    Fault.GARBAGE: ReasonCode.UNDECODABLE,
}


@dataclasses.dataclass(frozen=True)
class Input:
    record: SourceRecord
    expected: Status
    event: CaseEvent | None = None
    code: ReasonCode | None = None
    duplicate: DuplicateKind | None = None


def _traffic(clock: FixedClock) -> list[Input]:
    offsets = count()
    inputs: list[Input] = []

    def add(
        event: CaseEvent | bytes,
        force: str,
        expected: Status,
        *,
        code: ReasonCode | None = None,
        duplicate: DuplicateKind | None = None,
    ) -> None:
        decodable = event if isinstance(event, CaseEvent) else None
        src = record(event, next(offsets), force=force)
        inputs.append(Input(src, expected, decodable, code, duplicate))

    for force in ("05", "01", "93"):
        sim = synthetic_force(force, seed=int(force), clock=clock)
        for i in range(40):
            story = sim.case_story()
            if i % 4 == 0:
                story = story[::-1]  # published out of order: held, then released in order
            for event in story:
                add(event, force, Status.ACCEPTED)
            if i % 6 == 0:
                add(story[0], force, Status.DUPLICATE, duplicate=DuplicateKind.EVENT_ID)
            if i % 7 == 0:
                resend = sim.content_duplicate(story[-1])
                add(resend, force, Status.DUPLICATE, duplicate=DuplicateKind.CONTENT)
        for fault in Fault:
            for _ in range(2):
                add(sim.faulty(fault), force, Status.REJECTED, code=FAULT_CODES[fault])
    return inputs


def test_conservation_every_input_has_exactly_its_one_outcome(clock: FixedClock) -> None:
    inputs = _traffic(clock)
    assert len(inputs) > 300
    x = exchange(clock)
    outcomes: list[Outcome] = []
    for item in inputs:
        clock.advance(MS)
        outcomes.append(x.process(item.record))
    clock.advance(HOLD)
    partitions = range(catalog().ingest_partitions)
    ticks = [x.tick(tick_record(p)) for p in partitions]
    assert [x.held_count(p) for p in partitions] == [0 for _ in partitions]
    assert sum(o.held for o in outcomes) > 10  # ordering was exercised

    for item, outcome in zip(inputs, outcomes, strict=True):
        assert outcome.status is item.expected, item
        if item.expected is Status.REJECTED:
            assert [r.code for r in outcome.reasons] == [item.code]
        assert outcome.duplicate is item.duplicate
        assert outcome.undeliverable == 0

    outputs = [out for o in outcomes + ticks for out in o.outputs]
    receipts = [r for r in decoded(outputs, Receipt) if r.status is not ReceiptStatus.DELIVERED]
    events = [(i.event, i.expected) for i in inputs if i.event is not None]
    # One ACCEPTED, REJECTED or DUPLICATE receipt per input, in input order; one that did not
    # decode is named by where it arrived.
    assert [(r.event_id, r.status.value) for r in receipts] == [
        (
            i.event.envelope.event_id
            if i.event is not None
            else derived_id(i.record.position, "undecodable"),
            i.expected.value.upper(),
        )
        for i in inputs
    ]
    # One rejected record per rejected input (garbage included), nothing else rejected.
    rejections = decoded(outputs, RejectedEvent)
    assert [(r.source_offset) for r in rejections] == [
        i.record.offset for i in inputs if i.expected is Status.REJECTED
    ]
    # Every accepted event is delivered exactly once to each recipient, the CPS always among
    # them, each listed on a receipt; nothing else is delivered.
    accepted = {e.envelope.event_id for e, expected in events if expected is Status.ACCEPTED}
    deliveries = Counter(
        (d.event.envelope.event_id, d.recipient) for d in decoded(outputs, Delivery)
    )
    assert set(deliveries.values()) == {1}
    assert {event_id for event_id, _ in deliveries} == accepted
    assert all(
        any(r.startswith("cps-") for e, r in deliveries if e == event_id) for event_id in accepted
    )
    # Each delivery is listed once, on the event's ACCEPTED receipt or (held) its DELIVERED one.
    delivered_receipts = Counter(
        (r.event_id, partner) for r in decoded(outputs, Receipt) for partner in r.deliveries
    )
    assert delivered_receipts == deliveries
    assert all(
        r.status in (ReceiptStatus.ACCEPTED, ReceiptStatus.DELIVERED)
        for r in decoded(outputs, Receipt)
        if r.deliveries
    )
    # Per case, deliveries to each recipient are in sequence order unless flagged.
    flags = Counter(d.ordering for d in decoded(outputs, Delivery))
    assert set(flags) == {OrderingFlag.IN_ORDER}


def test_every_delivery_is_disclosed_once_with_its_purpose_and_hash(sim: SyntheticForce) -> None:
    """The delivery record is the disclosure: what the auditor derives from its bytes says
    what was disclosed, to whom, why, under which policy, by whom, and hashes those bytes."""
    story = case(sim)
    outcome = exchange().process(record(sim.charge(story, advised=True)))
    deliveries = [o for o in outcome.outputs if o.topic in (TO_CPS, TO_COURT)]
    disclosures = [disclosure_of(codec(), o.value) for o in deliveries]
    assert len(deliveries) == len(disclosures) == 2
    by_recipient = {d.recipient: d for d in disclosures}
    for out in deliveries:
        delivery = codec().decode_as(out.value, Delivery)
        disclosure = by_recipient[delivery.recipient]
        assert disclosure.delivery_id == delivery.delivery_id
        assert disclosure.payload_sha256 == hashlib.sha256(out.value).hexdigest()
        assert disclosure.case_urn == story.urn
        assert disclosure.disclosed_by == "exchange-worker"
        assert disclosure.policy_version == 1
    assert "Listing" in by_recipient["court-magistrates"].purpose
    assert "Prosecution" in by_recipient["cps-mersey-cheshire"].purpose
    policy = load_policy()
    for recipient, kind in (("court-magistrates", "court"), ("cps-mersey-cheshire", "cps")):
        rules = policy.for_kind(kind)
        assert (by_recipient[recipient].purpose, by_recipient[recipient].legal_basis) == (
            rules.purpose,
            rules.legal_basis,
        )


def test_an_accepted_event_is_one_receipt_and_one_record_per_recipient(
    sim: SyntheticForce,
) -> None:
    """Issue 9's bound: at most 1 + N records per accepted event; here exactly 1 + N, and
    nothing but the receipt and the deliveries (no separate disclosure record)."""
    story = case(sim, court=MAGISTRATES)
    events: list[CaseEvent] = [
        sim.charge(story, advised=True),
        sim.documents(story, [MgForm.MG5, MgForm.MG6D]),
        sim.remand_change(story),
    ]
    pre = case(sim)
    events.append(sim.pre_charge(pre))
    x = exchange()
    disclosing = set(catalog().disclosing_topics())
    sizes = []
    for offset, event in enumerate(events):
        outcome = x.process(record(event, offset))
        assert outcome.status is Status.ACCEPTED
        (receipt,) = decoded(outcome.outputs, Receipt)
        assert receipt.status is ReceiptStatus.ACCEPTED
        assert len(outcome.outputs) == 1 + len(receipt.deliveries)
        assert {o.topic for o in outcome.outputs} - disclosing == {RECEIPTS}
        assert sorted(disclosure_of(codec(), o.value).recipient for o in outcome.outputs[1:]) == (
            sorted(receipt.deliveries)
        )
        sizes.append(len(receipt.deliveries))
    assert sizes == [2, 2, 2, 1]  # the pre-charge request goes to the CPS only


def test_an_internal_error_says_where_its_record_came_from() -> None:
    """A failed tick is neither an ingest record nor a partner's acknowledgement: counted as
    either, it would skew the funnel or the acknowledgement metrics."""
    x = exchange()
    assert x.internal_error(tick_record(0), "pipeline").source is Source.TICK
    assert x.internal_error(_ack(), "acknowledgements").source is Source.ACKNOWLEDGEMENT
    assert x.internal_error(record(valid_charge(), 1), "pipeline").source is Source.INGEST
    assert summary(x.internal_error(tick_record(0), "pipeline").outputs) == [
        (REJECTED, "INTERNAL_ERROR")
    ]
