"""The sender binding (streams/validate/sender.py): an event may only speak for the force
whose ingest topic carried it."""

from __future__ import annotations

import pytest

from producers.simulator import SyntheticForce
from schemas.identifiers import build_asn
from schemas.models import CaseEvent
from streams.validate import check_sender
from tests.support.builders import (
    case,
    synthetic_force,
    valid_charge,
    valid_documents,
    with_defendant,
    with_envelope,
)

OTHER_FORCE_ASN = build_asn(24, "01", "ZD", "01", 448754)  # Met, Croydon


def mismatches(event: CaseEvent, topic_force: str = "05") -> list[tuple[str, str]]:
    return [(r.code.value, r.field) for r in check_sender(event, topic_force)]


@pytest.fixture
def sim() -> SyntheticForce:
    return synthetic_force()


def test_every_event_type_of_the_topics_force_passes(sim: SyntheticForce) -> None:
    story = case(sim)
    events: list[CaseEvent] = [
        sim.pre_charge(story),
        sim.charge(story),
        sim.documents(story, []),
        sim.remand_change(story),
        sim.amend(story),
        sim.discontinue(story).model_copy(update={"asn": story.defendant.asn}),
    ]
    assert [mismatches(e) for e in events] == [[]] * 6


def test_every_event_names_its_force_on_another_forces_topic(sim: SyntheticForce) -> None:
    event = valid_charge(sim)
    assert mismatches(event, "01") == [
        ("SENDER_FORCE_MISMATCH", "envelope.force"),
        ("SENDER_FORCE_MISMATCH", "envelope.case_urn"),
        ("SENDER_FORCE_MISMATCH", "defendant.asn"),
    ]


def test_envelope_force() -> None:
    event = with_envelope(valid_charge(), force="01")
    result = check_sender(event, "05")
    assert [(r.code.value, r.field) for r in result] == [
        ("SENDER_FORCE_MISMATCH", "envelope.force")
    ]
    assert "names force 01" in result[0].message
    assert "force 05's ingest topic" in result[0].message


@pytest.mark.parametrize("urn", ["01ZD1234524", "01/ZD/12345/24"])
def test_urn_prefix(urn: str) -> None:
    event = with_envelope(valid_charge(), case_urn=urn)
    assert mismatches(event) == [("SENDER_FORCE_MISMATCH", "envelope.case_urn")]


def test_malformed_urn_is_left_to_validation() -> None:
    assert mismatches(with_envelope(valid_charge(), case_urn="not a urn")) == []


def test_defendant_asn() -> None:
    event = with_defendant(valid_charge(), asn=OTHER_FORCE_ASN)
    assert mismatches(event) == [("SENDER_FORCE_MISMATCH", "defendant.asn")]


def test_asn_with_a_wrong_check_letter_still_names_its_force() -> None:
    wrong = OTHER_FORCE_ASN[:-1] + ("Z" if OTHER_FORCE_ASN[-1] != "Z" else "A")
    event = with_defendant(valid_charge(), asn=wrong)
    assert mismatches(event) == [("SENDER_FORCE_MISMATCH", "defendant.asn")]


def test_short_form_asn_of_another_force() -> None:
    short = f"24/01ZD/01/448754{OTHER_FORCE_ASN[-1]}"
    assert mismatches(with_defendant(valid_charge(), asn=short)) == [
        ("SENDER_FORCE_MISMATCH", "defendant.asn")
    ]


def test_each_suspect_is_checked_with_its_index(sim: SyntheticForce) -> None:
    event = sim.pre_charge(case(sim))
    own = event.suspects[0]
    other = own.model_copy(update={"asn": OTHER_FORCE_ASN})
    event = event.model_copy(update={"suspects": [own, other, own, other]})
    assert mismatches(event) == [
        ("SENDER_FORCE_MISMATCH", "suspects[1].asn"),
        ("SENDER_FORCE_MISMATCH", "suspects[3].asn"),
    ]


def test_asn_of_a_remand_change_an_amendment_and_a_discontinuance(sim: SyntheticForce) -> None:
    story = case(sim)
    events: list[CaseEvent] = [
        sim.remand_change(story).model_copy(update={"asn": OTHER_FORCE_ASN}),
        sim.amend(story).model_copy(update={"asn": OTHER_FORCE_ASN}),
        sim.discontinue(story).model_copy(update={"asn": OTHER_FORCE_ASN}),
    ]
    assert [mismatches(e) for e in events] == [[("SENDER_FORCE_MISMATCH", "asn")]] * 3


def test_documents_name_no_force_beyond_the_envelope() -> None:
    event = valid_documents()
    assert mismatches(event) == []
    assert mismatches(event, "01") == [
        ("SENDER_FORCE_MISMATCH", "envelope.force"),
        ("SENDER_FORCE_MISMATCH", "envelope.case_urn"),
    ]
