"""Court results (issue 13.1): each rule with a failing input, triggers, routing and receipts.

A synthetic force charges a case through the whole pipeline (over dicts), then the court
publisher bound to the case's court sends its results; what the exchange writes is decoded
and compared.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from producers.courts import SyntheticCourt
from producers.submit import Checker
from schemas.cloudevents import force_source
from schemas.jsonform import render
from schemas.models import (
    CourtResult,
    DefendantCharged,
    DurationUnit,
    HearingOutcome,
    HearingResulted,
    OffenceResults,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    ResultDelivery,
    ResultDuration,
)
from schemas.reasons import ReasonCode
from streams.audit import disclosure_of
from streams.cases import CaseMemory
from streams.pipeline import Exchange, Status
from streams.results import court_source
from tests.support.builders import (
    HOLD,
    FixedClock,
    catalog,
    codec,
    decoded,
    exchange,
    record,
    registry,
    standing,
    synthetic_force,
    tick_record,
    valid_charge,
    with_envelope,
)
from tests.support.results import (
    COURT,
    DISQUALIFIED,
    FINE,
    LONDON_MAGISTRATES,
    OTHER_COURT,
    court_record,
    results_for,
)

C = ReasonCode
CPS = "cps-mersey-cheshire"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def charged(clock: FixedClock) -> tuple[Exchange, DefendantCharged]:
    """An exchange that has accepted and delivered one charge (offence 1, theft)."""
    ex = exchange(clock)
    charge = valid_charge()
    assert ex.process(record(charge)).status is Status.ACCEPTED
    return ex, charge


def codes(ex: Exchange, event: HearingResulted | bytes, **kw: Any) -> list[tuple[str, str]]:
    outcome = ex.process(court_record(event, **kw))
    assert outcome.status is Status.REJECTED
    return [(r.code.value, r.field) for r in outcome.reasons]


def court_receipts(outputs: Any, court: str = COURT) -> list[Receipt]:
    return decoded(outputs, Receipt, catalog().court_receipts(court))


# -- accepted results: routing, enrichment, triggers, receipts -----------------------------


def test_results_go_to_the_charging_force_with_triggers_and_to_cps_without(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    ex, charge = charged
    event = results_for(charge)
    outcome = ex.process(court_record(event))
    assert outcome.status is Status.ACCEPTED

    to_force = decoded(outcome.outputs, ResultDelivery, catalog().force_results("05"))
    assert len(to_force) == 1
    delivery = to_force[0]
    assert delivery.recipient == "force-05"
    assert delivery.event == event
    enriched = delivery.enrichment.results
    assert [(r.code, r.title) for r in enriched] == [
        (DISQUALIFIED, "Disqualified from Driving - Obligatory"),
        (FINE, "Fine"),
    ]
    assert [[t.code for t in r.triggers] for r in enriched] == [["TRPR0001"], []]
    assert enriched[0].triggers[0].pnc_screen == "Driver Disqualification"
    assert enriched[0].offence_code == charge.offences[0].code
    assert enriched[0].offence_recordable is True  # theft from a shop is recordable
    assert delivery.enrichment.cps_area == "mersey-cheshire"

    to_cps = decoded(outcome.outputs, ResultDelivery, catalog().partner_results(CPS))
    assert len(to_cps) == 1
    assert to_cps[0].event == event
    assert [r.code for r in to_cps[0].enrichment.results] == [DISQUALIFIED, FINE]
    assert all(r.triggers == [] for r in to_cps[0].enrichment.results)  # police work only

    receipts = court_receipts(outcome.outputs)
    assert [(r.status, r.deliveries, r.force) for r in receipts] == [
        (ReceiptStatus.ACCEPTED, ["force-05", CPS], COURT)
    ]
    # Nothing for the force's own receipts topic: the results are not the force's events.
    assert decoded(outcome.outputs, Receipt, catalog().receipts("05")) == []
    # Each result delivery is a disclosure: the auditor derives it from the record's bytes.
    disclosing = catalog().disclosing_topics()
    disclosures = [
        disclosure_of(codec(), o.value) for o in outcome.outputs if o.topic in disclosing
    ]
    assert len(disclosures) == 2
    assert {d.recipient for d in disclosures} == {"force-05", CPS}
    assert len(outcome.outputs) == 1 + len(disclosures)  # the court's receipt and the two
    assert outcome.court == COURT
    assert outcome.force is None


def test_a_warrant_raises_its_trigger_unless_the_qualifier_says_otherwise(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    ex, charge = charged

    def warrant(qualifiers: list[str], sequence: int) -> list[str]:
        offence = OffenceResults(
            offence_sequence=1, results=[CourtResult(code=4575, qualifiers=qualifiers)]
        )
        event = results_for(charge, sequence=sequence, offences=[offence])
        outcome = ex.process(court_record(event, offset=sequence))
        assert outcome.status is Status.ACCEPTED, outcome.reasons
        (delivery,) = decoded(outcome.outputs, ResultDelivery, catalog().force_results("05"))
        return [t.code for r in delivery.enrichment.results for t in r.triggers]

    assert warrant([], 1) == ["TRPR0002"]
    assert warrant(["LA"], 2) == ["TRPR0002"]


@pytest.mark.parametrize(
    ("code", "qualifiers", "force", "expected"),
    [
        (3070, (), "05", ["TRPR0001"]),
        (4575, (), "05", ["TRPR0002"]),
        (4575, ("EO",), "05", []),  # "not 'EO'": warrant allocated elsewhere
        (1002, (), "05", ["TRPR0006"]),  # imprisonment
        (1002, (), "01", []),  # the Met does not take TRPR0006 (excluded-trigger-config)
        (4594, ("LG",), "01", ["TRPR0023"]),  # domestic violence: the qualifier alone
        (4594, ("LG",), "05", []),  # Merseyside does not take TRPR0023
        (1015, (), "05", []),  # a fine raises nothing
    ],
)
def test_triggers_raised_by_one_result(
    code: int, qualifiers: tuple[str, ...], force: str, expected: list[str]
) -> None:
    raised = standing().triggers_raised(code, qualifiers, force)
    assert [t.code for t in raised] == expected


def test_triggers_without_a_rule_one_result_decides_are_never_raised() -> None:
    by_code = {t.code: t for t in standing().triggers()}
    # Bail conditions on the case, the offence code, PNC's own dates: not decidable here.
    for code in ("TRPR0008", "TRPR0010", "TRPR0018", "TRPR0027"):
        trigger = by_code[code]
        assert not trigger.result_codes
        assert not trigger.qualifiers
        assert not any(trigger.raised_by(r.code, ()) for r in standing().result_codes())


# -- every rule, a failing input --------------------------------------------------------------


def with_result(charge: DefendantCharged, **fields: Any) -> HearingResulted:
    result = CourtResult(**{"code": FINE, "amount_pence": 100, **fields})
    return results_for(charge, offences=[OffenceResults(offence_sequence=1, results=[result])])


def with_offence(charge: DefendantCharged, **fields: Any) -> HearingResulted:
    offence = OffenceResults(
        **{"offence_sequence": 1, "results": [CourtResult(code=FINE, amount_pence=100)], **fields}
    )
    return results_for(charge, offences=[offence])


RULES: list[tuple[str, Any, tuple[str, str]]] = [
    (
        "unknown result code",
        lambda c: with_result(c, code=7777, amount_pence=None),
        (C.RESULT_CODE_UNKNOWN, "defendants[0].offences[0].results[0].code"),
    ),
    (
        "qualifier the result does not take",
        lambda c: with_result(c, qualifiers=["EO"]),
        (C.RESULT_QUALIFIER_NOT_ALLOWED, "defendants[0].offences[0].results[0].qualifiers[0]"),
    ),
    (
        "amount of nothing",
        lambda c: with_result(c, amount_pence=0),
        (C.RESULT_VALUE_INVALID, "defendants[0].offences[0].results[0].amount_pence"),
    ),
    (
        "duration of nothing",
        lambda c: with_result(
            c,
            code=DISQUALIFIED,
            amount_pence=None,
            duration=ResultDuration(length=0, unit=DurationUnit.MONTHS),
        ),
        (C.RESULT_VALUE_INVALID, "defendants[0].offences[0].results[0].duration.length"),
    ),
    (
        "plea by its PNC wording",
        lambda c: with_offence(c, plea="GUILTY"),
        (C.PLEA_UNKNOWN, "defendants[0].offences[0].plea"),
    ),
    (
        "verdict by its SPI code",
        lambda c: with_offence(c, verdict="N"),
        (C.VERDICT_UNKNOWN, "defendants[0].offences[0].verdict"),
    ),
    (
        "remand status by its PNC code",
        lambda c: results_for(c, remand_status="B"),
        (C.REMAND_STATUS_UNKNOWN, "defendants[0].remand_status"),
    ),
    (
        "an offence without results",
        lambda c: with_offence(c, results=[]),
        (C.RESULTS_MISSING, "defendants[0].offences[0].results"),
    ),
    (
        "a defendant without offences",
        lambda c: results_for(c, offences=[]),
        (C.RESULTS_MISSING, "defendants[0].offences"),
    ),
    (
        "no defendants",
        lambda c: results_for(c).model_copy(update={"defendants": []}),
        (C.RESULTS_MISSING, "defendants"),
    ),
    (
        "an offence resulted twice",
        lambda c: results_for(c, offences=[*with_offence(c).defendants[0].offences] * 2),
        (C.RESULT_DUPLICATED, "defendants[0].offences[1].offence_sequence"),
    ),
    (
        "a defendant listed twice",
        lambda c: (lambda e: e.model_copy(update={"defendants": e.defendants * 2}))(results_for(c)),
        (C.RESULT_DUPLICATED, "defendants[1].asn"),
    ),
    (
        "offence number 0",
        lambda c: with_offence(c, offence_sequence=0),
        (C.OFFENCE_SEQUENCE_INVALID, "defendants[0].offences[0].offence_sequence"),
    ),
    (
        "an offence never charged",
        lambda c: with_offence(c, offence_sequence=2),
        (C.RESULT_OFFENCE_NOT_CHARGED, "defendants[0].offences[0].offence_sequence"),
    ),
    (
        "a defendant never charged on the case",
        lambda c: results_for(c, asn=valid_charge(synthetic_force(seed=2)).defendant.asn),
        (C.RESULT_DEFENDANT_NOT_CHARGED, "defendants[0].asn"),
    ),
    (
        "a hearing before the charge",
        lambda c: results_for(c, on=c.charge_date - timedelta(days=1)),
        (C.HEARING_BEFORE_CHARGE, "hearing.date"),
    ),
    (
        "a hearing not yet held",
        lambda c: results_for(c, on=c.charge_date + timedelta(days=3)),
        (C.HEARING_NOT_YET_HELD, "hearing.date"),
    ),
    (
        "another publisher's id",
        lambda c: results_for(c, publisher=OTHER_COURT),
        (C.SENDER_COURT_MISMATCH, "publisher"),
    ),
    (
        "a court house the publisher is not bound to",
        lambda c: results_for(c, court_ou=LONDON_MAGISTRATES),
        (C.COURT_NOT_BOUND, "hearing.court_ou"),
    ),
    (
        "a court that is not a court",
        lambda c: results_for(c, court_ou="B05ZZ99"),
        (C.COURT_UNKNOWN, "hearing.court_ou"),
    ),
    (
        "another force than the case URN's",
        lambda c: with_envelope(results_for(c), force="01"),
        (C.RESULT_FORCE_MISMATCH, "envelope.force"),
    ),
]


@pytest.mark.parametrize(("what", "make", "expected"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_rejects_its_failing_input(
    charged: tuple[Exchange, DefendantCharged], what: str, make: Any, expected: tuple[str, str]
) -> None:
    ex, charge = charged
    event = make(charge)
    outcome = ex.process(court_record(event))
    assert outcome.status is Status.REJECTED, what
    found = [(r.code.value, r.field) for r in outcome.reasons]
    assert (expected[0].value, expected[1]) in found, found
    # Kept whole, with its reasons, and the court is told.
    (kept,) = decoded(outcome.outputs, RejectedEvent, catalog().rejected)
    assert kept.value == codec().encode(event)
    assert kept.source_topic == catalog().court_ingest(COURT)
    (receipt,) = court_receipts(outcome.outputs)
    assert receipt.status is ReceiptStatus.REJECTED
    assert (expected[0].value, expected[1]) in [(r.code, r.field) for r in receipt.reasons]
    assert not decoded(outcome.outputs, ResultDelivery)


def test_results_for_a_case_never_charged_are_rejected(clock: FixedClock) -> None:
    ex = exchange(clock)
    assert codes(ex, results_for(valid_charge())) == [
        (C.RESULT_CASE_NOT_CHARGED.value, "envelope.case_urn")
    ]


def test_a_valid_result_passes_each_rule(charged: tuple[Exchange, DefendantCharged]) -> None:
    """The failing inputs above fail for their own reason: the same event, valid, passes."""
    ex, charge = charged
    assert ex.process(court_record(with_offence(charge))).status is Status.ACCEPTED


def test_the_ce_source_must_be_the_court_publishers(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    ex, charge = charged
    event = results_for(charge)
    wrong = (("ce_source", force_source("05", "common-platform").encode()),)
    assert codes(ex, event, headers=wrong) == [(C.HEADER_MISMATCH.value, "ce_source")]
    right = (("ce_source", court_source(COURT, "common-platform").encode()),)
    assert ex.process(court_record(event, 1, headers=right)).status is Status.ACCEPTED


def test_a_force_may_not_publish_court_results(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    ex, charge = charged
    outcome = ex.process(record(results_for(charge), 5))
    assert outcome.status is Status.REJECTED
    assert [r.code for r in outcome.reasons] == [C.NOT_AN_EVENT]


def test_a_court_may_not_publish_a_charge(clock: FixedClock) -> None:
    ex = exchange(clock)
    charge = valid_charge()
    outcome = ex.process(court_record(charge))  # type: ignore[arg-type]
    assert outcome.status is Status.REJECTED
    assert [r.code for r in outcome.reasons] == [C.NOT_AN_EVENT]
    (receipt,) = court_receipts(outcome.outputs)
    assert receipt.status is ReceiptStatus.REJECTED


def test_undecodable_bytes_are_kept_and_the_court_told_where_they_arrived(
    clock: FixedClock,
) -> None:
    ex = exchange(clock)
    outcome = ex.process(court_record(b"not avro at all"))
    assert outcome.status is Status.REJECTED
    (kept,) = decoded(outcome.outputs, RejectedEvent, catalog().rejected)
    assert kept.value == b"not avro at all"
    (receipt,) = court_receipts(outcome.outputs)
    assert receipt.status is ReceiptStatus.REJECTED
    assert catalog().court_ingest(COURT) in receipt.reasons[0].message


# -- deduplication and ordering ----------------------------------------------------------------


def test_a_resent_result_is_a_duplicate(charged: tuple[Exchange, DefendantCharged]) -> None:
    ex, charge = charged
    event = results_for(charge)
    assert ex.process(court_record(event, 1)).status is Status.ACCEPTED
    again = ex.process(court_record(event, 2))
    assert again.status is Status.DUPLICATE
    (receipt,) = court_receipts(again.outputs)
    assert receipt.status is ReceiptStatus.DUPLICATE
    assert not decoded(again.outputs, ResultDelivery)


def test_a_replayed_record_repeats_its_deliveries(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    ex, charge = charged
    event = results_for(charge)
    first = ex.process(court_record(event, 1))
    replay = ex.process(court_record(event, 1))  # the same record, after a restart
    assert replay.status is Status.ACCEPTED
    assert [o.value for o in replay.outputs] == [o.value for o in first.outputs]


def later_hearing(charge: DefendantCharged) -> HearingResulted:
    """The court's second results of the case: another outcome (else a content duplicate)."""
    event = results_for(charge, sequence=2)
    hearing = event.hearing.model_copy(update={"outcome": HearingOutcome.ADJOURNMENT})
    return event.model_copy(update={"hearing": hearing})


def test_results_are_ordered_by_the_courts_own_sequence(
    clock: FixedClock, charged: tuple[Exchange, DefendantCharged]
) -> None:
    ex, charge = charged
    second = later_hearing(charge)
    held = ex.process(court_record(second, 1))
    assert held.status is Status.ACCEPTED
    assert held.held
    assert not decoded(held.outputs, ResultDelivery)
    (accepted,) = court_receipts(held.outputs)
    assert accepted.deliveries == []
    first = results_for(charge, sequence=1)
    both = ex.process(court_record(first, 2))
    delivered = decoded(both.outputs, ResultDelivery, catalog().force_results("05"))
    assert [d.event.envelope.sequence for d in delivered] == [1, 2]
    statuses = [(r.event_id, r.status) for r in court_receipts(both.outputs)]
    assert statuses == [
        (first.envelope.event_id, ReceiptStatus.ACCEPTED),
        (second.envelope.event_id, ReceiptStatus.DELIVERED),
    ]


def test_a_gap_in_the_courts_sequence_is_released_by_the_clock(
    clock: FixedClock, charged: tuple[Exchange, DefendantCharged]
) -> None:
    ex, charge = charged
    second = later_hearing(charge)
    event_partition = court_record(second).partition
    assert ex.process(court_record(second, 1)).held
    assert ex.held_count(event_partition) == 1
    clock.advance(HOLD + timedelta(seconds=1))
    released = ex.tick(tick_record(event_partition))
    (delivery,) = decoded(released.outputs, ResultDelivery, catalog().force_results("05"))
    assert delivery.ordering.value == "RELEASED_AFTER_GAP"
    (receipt,) = court_receipts(released.outputs)
    assert receipt.status is ReceiptStatus.DELIVERED
    assert receipt.deliveries == ["force-05", CPS]


def test_court_sequences_do_not_collide_with_the_forces(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    """The force's charge was its sequence 1; the court's first results are the court's 1."""
    ex, charge = charged
    outcome = ex.process(court_record(results_for(charge, sequence=1)))
    assert outcome.status is Status.ACCEPTED
    assert not outcome.held


# -- what the case remembers --------------------------------------------------------------------


def test_the_case_remembers_the_earliest_charge_and_every_offence() -> None:
    memory = CaseMemory()
    day = valid_charge().charge_date
    memory.remember_charge("A", day, {1: "TH68010"})
    memory.remember_charge("A", day - timedelta(days=2), {2: "COML025"})
    memory.remember_charge("A", day, {1: "TH68010"})  # a replay changes nothing
    (charged,) = memory.charges().values()
    assert charged.charged_on == day - timedelta(days=2)
    assert dict(charged.offences) == {1: "TH68010", 2: "COML025"}


def test_standing_data_for_results() -> None:
    data = standing()
    code = data.result_code(DISQUALIFIED)
    assert code is not None
    assert code.title == "Disqualified from Driving - Obligatory"
    assert "OA" in code.qualifiers
    assert data.result_code(7777) is None
    assert data.plea("G") == "Guilty"
    assert data.plea("GUILTY") is None
    assert data.verdict("NG") == "Not Guilty"
    assert data.verdict("") is None
    assert data.remand_status("UB") == "Unconditional Bail"
    assert data.remand_status("B") is None
    assert len(data.result_codes()) == 898
    assert len(data.triggers()) == 34


def test_the_synthetic_court_results_a_charge_through_its_bound_publisher(
    clock: FixedClock, charged: tuple[Exchange, DefendantCharged]
) -> None:
    """What demos use (producers/courts.py): valid results, then one the exchange refuses."""
    ex, charge = charged
    court = SyntheticCourt(registry(), clock=clock)
    good = court.results(charge)
    assert good.publisher == COURT
    assert good.envelope.sequence == 1
    outcome = ex.process(court_record(good))
    assert outcome.status is Status.ACCEPTED, outcome.reasons
    (delivery,) = decoded(outcome.outputs, ResultDelivery, catalog().force_results("05"))
    assert "TRPR0001" in [t.code for r in delivery.enrichment.results for t in r.triggers]
    bad = court.results(charge, never_charged=True)
    assert bad.envelope.sequence == 2
    refused = ex.process(court_record(bad, 1))
    assert refused.status is Status.REJECTED
    assert [r.code for r in refused.reasons] == [C.RESULT_OFFENCE_NOT_CHARGED]


def test_validate_checks_a_court_publishers_binding_offline(
    charged: tuple[Exchange, DefendantCharged],
) -> None:
    """``cjsx validate`` (producers.submit.Checker) binds a court publisher to its court houses
    as the worker does; whether the case was charged needs the worker's state."""
    _, charge = charged
    checker = Checker(None)
    good = checker.check(render(results_for(charge)))
    assert good.accepted, good.reasons
    unbound = checker.check(render(results_for(charge, court_ou=LONDON_MAGISTRATES)))
    assert ("COURT_NOT_BOUND", "hearing.court_ou") in [(r.code, r.field) for r in unbound.reasons]
    stranger = checker.check(render(results_for(charge, publisher="hmcts-nowhere")))
    assert ("SENDER_COURT_MISMATCH", "publisher") in [(r.code, r.field) for r in stranger.reasons]
