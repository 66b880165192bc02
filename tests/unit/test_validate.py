"""Domain rules (streams/validate/rules.py): each rule fails and passes with its exact code and
field path; an event with several problems gets every reason, in a stable (field) order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from producers.simulator import SyntheticForce
from schemas.identifiers import build_asn
from schemas.models import (
    CaseEvent,
    DefendantCharged,
    Hearing,
    MgForm,
    Offence,
    Sensitivity,
)
from schemas.reasons import ReasonCode
from streams.validate import ValidationContext, validate_event
from streams.validate.documents import MINIMUM_SENSITIVITY
from tests.support.builders import (
    CROWN,
    MAGISTRATES,
    MURDER,
    NOT_CHARGEABLE,
    POLICE_UNIT,
    THEFT,
    TODAY,
    case,
    document,
    standing,
    synthetic_force,
    valid_charge,
    valid_documents,
    valid_pre_charge,
    with_defendant,
    with_envelope,
    with_hearing,
)

C = ReasonCode


def reasons(event: CaseEvent) -> list[tuple[str, str]]:
    """(code, field) of every reason, in the order validation gives them."""
    return [(r.code.value, r.field) for r in validate_event(event, ValidationContext(standing()))]


def offence(seq: int, code: str = THEFT, *, on: date | None = None, wording: str = "") -> Offence:
    return Offence(
        sequence=seq,
        code=code,
        wording=wording or f"Particulars {seq} (synthetic)",
        offence_date=on or TODAY - timedelta(days=5),
    )


def charged_with(*offences: Offence) -> DefendantCharged:
    return valid_charge().model_copy(update={"offences": list(offences)})


@pytest.fixture
def sim() -> SyntheticForce:
    return synthetic_force()


# -- valid baselines -------------------------------------------------------------------------


def test_every_simulated_event_type_is_valid(sim: SyntheticForce) -> None:
    story = case(sim)
    events: list[CaseEvent] = [
        sim.pre_charge(story),
        sim.charge(story, advised=True),
        sim.documents(story, list(MgForm)),
        sim.remand_change(story),
        sim.amend(story),
        sim.discontinue(story),
    ]
    assert [reasons(e) for e in events] == [[]] * 6


def test_charge_at_a_crown_court_with_an_indictable_offence_is_valid() -> None:
    assert reasons(valid_charge(court=CROWN, offences=(MURDER,))) == []


# -- envelope --------------------------------------------------------------------------------


@pytest.mark.parametrize("sequence", [0, -1])
def test_sequence_must_be_positive(sequence: int) -> None:
    event = with_envelope(valid_charge(), sequence=sequence)
    assert reasons(event) == [("SEQUENCE_INVALID", "envelope.sequence")]


def test_urn_format() -> None:
    event = with_envelope(valid_charge(), case_urn="05AM12")
    assert reasons(event) == [("URN_FORMAT", "envelope.case_urn")]


def test_urn_with_separators_must_be_sent_in_normalised_form() -> None:
    """The URN is the Kafka key: two spellings would split one case in two."""
    event = with_envelope(valid_charge(), case_urn="05AM/12345/24")
    assert reasons(event) == [("URN_FORMAT", "envelope.case_urn")]
    assert "05AM1234524" in validate_event(event, ValidationContext(standing()))[0].message


def test_urn_of_an_unknown_police_unit() -> None:
    assert not standing().is_police_unit("05", "ZZ")
    event = with_envelope(valid_charge(), case_urn="05ZZ1234524")
    assert reasons(event) == [("URN_UNKNOWN_UNIT", "envelope.case_urn")]


# -- identifiers of people -------------------------------------------------------------------


def test_asn_format() -> None:
    event = with_defendant(valid_charge(), asn="24/05AM/00/")
    assert reasons(event) == [("ASN_FORMAT", "defendant.asn")]


def test_asn_check_character() -> None:
    good = valid_charge().defendant.asn
    bad = good[:-1] + ("Z" if good[-1] != "Z" else "A")
    assert reasons(with_defendant(valid_charge(), asn=bad)) == [
        ("ASN_CHECK_CHARACTER", "defendant.asn")
    ]


def test_asn_short_form_must_be_sent_as_the_long_form() -> None:
    long = build_asn(24, "05", "AM", "00", 448754)
    short = f"24/05AM/00/448754{long[-1]}"
    assert reasons(with_defendant(valid_charge(), asn=short)) == [("ASN_FORMAT", "defendant.asn")]
    assert reasons(with_defendant(valid_charge(), asn=long)) == []


def test_asn_of_an_unknown_unit() -> None:
    asn = build_asn(24, "05", "ZZ", "00", 448754)
    assert reasons(with_defendant(valid_charge(), asn=asn)) == [
        ("ASN_UNKNOWN_UNIT", "defendant.asn")
    ]


def test_asn_of_each_suspect_is_checked_with_its_index(sim: SyntheticForce) -> None:
    event = sim.pre_charge(case(sim))
    second = event.suspects[0].model_copy(update={"asn": build_asn(24, "05", "ZZ", "00", 9)})
    event = event.model_copy(update={"suspects": [event.suspects[0], second]})
    assert reasons(event) == [("ASN_UNKNOWN_UNIT", "suspects[1].asn")]


@pytest.mark.parametrize(
    ("pnc_id", "expected"),
    [
        ("2001/0171310W", []),
        ("2001/0171310X", [("PNC_ID_CHECK_CHARACTER", "defendant.pnc_id")]),
        ("2001-171310", [("PNC_ID_FORMAT", "defendant.pnc_id")]),
    ],
)
def test_pnc_id(pnc_id: str, expected: list[tuple[str, str]]) -> None:
    assert reasons(with_defendant(valid_charge(), pnc_id=pnc_id)) == expected


@pytest.mark.parametrize(
    ("cro", "expected"),
    [
        ("265416/21G", []),
        ("SF05/482703J", []),
        ("85227/65G", [("CRO_CHECK_CHARACTER", "defendant.cro_number")]),
        ("CRO-1", [("CRO_FORMAT", "defendant.cro_number")]),
    ],
)
def test_cro_number(cro: str, expected: list[tuple[str, str]]) -> None:
    assert reasons(with_defendant(valid_charge(), cro_number=cro)) == expected


# -- dates of birth and age ------------------------------------------------------------------


def test_born_in_future() -> None:
    event = with_defendant(valid_charge(), date_of_birth=TODAY + timedelta(days=1))
    # No under-age reason as well: one reason for one wrong date.
    assert reasons(event) == [("DEFENDANT_BORN_IN_FUTURE", "defendant.date_of_birth")]


def test_born_on_the_day_of_the_event_is_not_in_the_future_but_under_age() -> None:
    event = charged_with(offence(1, on=TODAY))
    event = with_defendant(event, date_of_birth=TODAY)
    assert reasons(event) == [("DEFENDANT_UNDER_AGE", "defendant.date_of_birth")]


def test_amended_date_of_birth_in_future(sim: SyntheticForce) -> None:
    event = sim.amend(case(sim)).model_copy(update={"date_of_birth": TODAY + timedelta(days=30)})
    assert reasons(event) == [("DEFENDANT_BORN_IN_FUTURE", "date_of_birth")]


def test_exactly_ten_on_the_offence_date_is_old_enough() -> None:
    on = date(2024, 5, 20)
    event = with_defendant(charged_with(offence(1, on=on)), date_of_birth=date(2014, 5, 20))
    assert reasons(event) == []


def test_the_day_before_the_tenth_birthday_is_under_age() -> None:
    on = date(2024, 5, 19)
    event = with_defendant(charged_with(offence(1, on=on)), date_of_birth=date(2014, 5, 20))
    result = validate_event(event, ValidationContext(standing()))
    assert [(r.code, r.field) for r in result] == [
        (C.DEFENDANT_UNDER_AGE, "defendant.date_of_birth")
    ]
    assert "defendant was 9 on the date of offence 1" in result[0].message


def test_under_age_is_judged_per_offence_date_and_reported_once() -> None:
    born = date(2014, 5, 20)
    old_enough = offence(1, on=date(2024, 5, 25))
    too_young = [offence(2, on=date(2024, 5, 1), wording="b"), offence(3, on=date(2024, 5, 2))]
    event = with_defendant(charged_with(old_enough, *too_young), date_of_birth=born)
    assert reasons(event) == [("DEFENDANT_UNDER_AGE", "defendant.date_of_birth")]


def test_suspect_under_age_on_a_proposed_offence(sim: SyntheticForce) -> None:
    event = sim.pre_charge(case(sim, offence_date=date(2024, 5, 1)))
    young = event.suspects[0].model_copy(update={"date_of_birth": date(2015, 1, 1)})
    event = event.model_copy(update={"suspects": [young]})
    assert reasons(event) == [("DEFENDANT_UNDER_AGE", "suspects[0].date_of_birth")]


# -- offences --------------------------------------------------------------------------------


def test_offence_code_format() -> None:
    event = charged_with(offence(1), offence(2, "12345"))
    assert reasons(event) == [("OFFENCE_CODE_FORMAT", "offences[1].code")]


def test_offence_unknown() -> None:
    event = charged_with(offence(1), offence(2, "ZZ99999"))
    assert reasons(event) == [("OFFENCE_UNKNOWN", "offences[1].code")]


def test_offence_known_by_its_code_without_qualifier_is_valid() -> None:
    # TH68010I (incite) is not listed itself; the real exchange falls back to TH68010.
    assert standing().offence("TH68010I") is not None
    assert reasons(charged_with(offence(1, "TH68010I"))) == []


def test_offence_not_chargeable() -> None:
    found = standing().offence(NOT_CHARGEABLE)
    assert found is not None
    assert found.category == "B7"
    assert not found.chargeable
    event = charged_with(offence(1, NOT_CHARGEABLE))
    assert reasons(event) == [("OFFENCE_NOT_CHARGEABLE", "offences[0].code")]


def test_proposed_offence_not_chargeable(sim: SyntheticForce) -> None:
    assert reasons(valid_pre_charge(sim, offences=(THEFT, NOT_CHARGEABLE))) == [
        ("OFFENCE_NOT_CHARGEABLE", "proposed_offences[1].code")
    ]


def test_offence_date_in_future() -> None:
    event = charged_with(offence(1, on=TODAY + timedelta(days=1)))
    assert reasons(event) == [("OFFENCE_DATE_IN_FUTURE", "offences[0].offence_date")]


def test_offence_on_the_day_of_the_event_is_valid() -> None:
    assert reasons(charged_with(offence(1, on=TODAY))) == []


def test_offence_repeating_a_sequence_number() -> None:
    event = charged_with(offence(1), offence(1, MURDER))
    assert reasons(event) == [("OFFENCE_DUPLICATED", "offences[1]")]


def test_offence_repeating_content_under_another_number() -> None:
    event = charged_with(offence(1, wording="Stole food"), offence(2, wording=" Stole food "))
    assert reasons(event) == [("OFFENCE_DUPLICATED", "offences[1]")]


def test_same_code_on_another_date_is_not_a_duplicate() -> None:
    first = offence(1, wording="Stole food", on=TODAY - timedelta(days=3))
    second = offence(2, wording="Stole food", on=TODAY - timedelta(days=2))
    assert reasons(charged_with(first, second)) == []


# -- hearings --------------------------------------------------------------------------------


def test_court_ou_format() -> None:
    event = with_hearing(valid_charge(), court_ou="B05-BK")
    assert reasons(event) == [("OU_FORMAT", "first_hearing.court_ou")]


def test_court_unknown() -> None:
    assert standing().organisation_unit("B99ZZ00") is None
    event = with_hearing(valid_charge(), court_ou="B99ZZ00")
    assert reasons(event) == [("COURT_UNKNOWN", "first_hearing.court_ou")]


@pytest.mark.parametrize("unit", [POLICE_UNIT, "B050000"])
def test_a_known_unit_that_is_not_a_court(unit: str) -> None:
    """A police station, or the force-area placeholder unit, is known but is not a court."""
    assert standing().organisation_unit(unit) is not None
    event = with_hearing(valid_charge(), court_ou=unit)
    assert reasons(event) == [("COURT_NOT_A_COURT", "first_hearing.court_ou")]


def test_court_with_unknown_bottom_level_falls_back_to_the_court_house() -> None:
    assert reasons(with_hearing(valid_charge(), court_ou="B05BK01")) == []


def test_hearing_before_charge() -> None:
    event = valid_charge()
    event = with_hearing(event, date=event.charge_date - timedelta(days=1))
    assert reasons(event) == [("HEARING_BEFORE_CHARGE", "first_hearing.date")]


def test_hearing_on_the_day_of_charge_is_valid() -> None:
    event = valid_charge()
    assert reasons(with_hearing(event, date=event.charge_date)) == []


def test_next_hearing_of_a_remand_change(sim: SyntheticForce) -> None:
    event = sim.remand_change(case(sim))
    assert event.next_hearing is not None
    hearing = Hearing(court_ou=POLICE_UNIT, date=event.next_hearing.date)
    assert reasons(event.model_copy(update={"next_hearing": hearing})) == [
        ("COURT_NOT_A_COURT", "next_hearing.court_ou")
    ]
    # A next hearing dated before the change is fine: there is no charge date to compare.
    earlier = Hearing(court_ou=MAGISTRATES, date=TODAY - timedelta(days=30))
    assert reasons(event.model_copy(update={"next_hearing": earlier})) == []


def test_asn_of_a_remand_change_and_a_discontinuance(sim: SyntheticForce) -> None:
    story = case(sim)
    bad = build_asn(24, "05", "ZZ", "00", 1)
    assert reasons(sim.remand_change(story).model_copy(update={"asn": bad})) == [
        ("ASN_UNKNOWN_UNIT", "asn")
    ]
    assert reasons(sim.discontinue(story).model_copy(update={"asn": bad})) == [
        ("ASN_UNKNOWN_UNIT", "asn")
    ]


def test_amendment_checks_the_new_identifiers_at_the_top_level(sim: SyntheticForce) -> None:
    event = sim.amend(case(sim)).model_copy(
        update={"pnc_id": "2001/0171310X", "cro_number": "85227/65G"}
    )
    assert reasons(event) == [
        ("PNC_ID_CHECK_CHARACTER", "pnc_id"),
        ("CRO_CHECK_CHARACTER", "cro_number"),
    ]


# -- documents -------------------------------------------------------------------------------


def test_document_hash_must_be_lower_case_hex() -> None:
    event = valid_documents()
    docs = [event.documents[0], event.documents[1].model_copy(update={"sha256": "AB" * 32})]
    assert reasons(event.model_copy(update={"documents": docs})) == [
        ("DOCUMENT_HASH_FORMAT", "documents[1].sha256")
    ]


@pytest.mark.parametrize("form", list(MgForm))
@pytest.mark.parametrize("sensitivity", list(Sensitivity))
def test_document_sensitivity_minimum_per_form(form: MgForm, sensitivity: Sensitivity) -> None:
    sensitive = {MgForm.MG3, MgForm.MG3A, MgForm.MG6, MgForm.MG6D, MgForm.MG6E}
    assert set(MINIMUM_SENSITIVITY) == sensitive
    event = valid_documents().model_copy(update={"documents": [document(form, sensitivity)]})
    too_low = form in sensitive and sensitivity is Sensitivity.OFFICIAL
    expected = [("DOCUMENT_SENSITIVITY_TOO_LOW", "documents[0].sensitivity")] if too_low else []
    assert reasons(event) == expected


def test_pre_charge_documents_are_checked(sim: SyntheticForce) -> None:
    event = sim.pre_charge(case(sim))
    assert [d.form for d in event.documents] == [MgForm.MG3, MgForm.MG11]
    low = event.documents[0].model_copy(update={"sensitivity": Sensitivity.OFFICIAL})
    event = event.model_copy(update={"documents": [low, event.documents[1]]})
    assert reasons(event) == [("DOCUMENT_SENSITIVITY_TOO_LOW", "documents[0].sensitivity")]


# -- several problems at once -----------------------------------------------------------------


def _many_problems() -> DefendantCharged:
    event = valid_charge()
    event = with_envelope(event, sequence=0, case_urn="05ZZ1234524")
    asn = event.defendant.asn
    event = with_defendant(
        event,
        asn=asn[:-1] + ("Z" if asn[-1] != "Z" else "A"),
        pnc_id="2001/0171310X",
        cro_number="CRO-1",
        date_of_birth=TODAY - timedelta(days=365 * 5),
    )
    event = event.model_copy(
        update={
            "offences": [
                offence(1, "ZZ99999"),
                offence(2, NOT_CHARGEABLE, on=TODAY + timedelta(days=2)),
                offence(2, THEFT),
            ]
        }
    )
    return with_hearing(event, court_ou="B99ZZ00", date=event.charge_date - timedelta(days=1))


def test_every_reason_of_an_event_in_field_order() -> None:
    assert reasons(_many_problems()) == [
        ("SEQUENCE_INVALID", "envelope.sequence"),
        ("URN_UNKNOWN_UNIT", "envelope.case_urn"),
        ("ASN_CHECK_CHARACTER", "defendant.asn"),
        ("PNC_ID_CHECK_CHARACTER", "defendant.pnc_id"),
        ("CRO_FORMAT", "defendant.cro_number"),
        ("DEFENDANT_UNDER_AGE", "defendant.date_of_birth"),
        ("OFFENCE_UNKNOWN", "offences[0].code"),
        ("OFFENCE_NOT_CHARGEABLE", "offences[1].code"),
        ("OFFENCE_DATE_IN_FUTURE", "offences[1].offence_date"),
        ("OFFENCE_DUPLICATED", "offences[2]"),
        ("COURT_UNKNOWN", "first_hearing.court_ou"),
        ("HEARING_BEFORE_CHARGE", "first_hearing.date"),
    ]


def test_reasons_are_stable_and_carry_guidance() -> None:
    event = _many_problems()
    ctx = ValidationContext(standing())
    first = validate_event(event, ctx)
    assert validate_event(event, ctx) == first
    assert all(r.hint and r.message for r in first)


def test_offence_code_in_lower_case_with_spaces_must_be_normalised() -> None:
    assert reasons(charged_with(offence(1, "th68 010"))) == [
        ("OFFENCE_CODE_FORMAT", "offences[0].code")
    ]


def test_offence_repeated_in_another_spelling_of_its_code_is_a_duplicate() -> None:
    event = charged_with(
        offence(1, THEFT, wording="Stole food"), offence(2, "th68 010", wording="Stole food")
    )
    assert reasons(event) == [
        ("OFFENCE_CODE_FORMAT", "offences[1].code"),
        ("OFFENCE_DUPLICATED", "offences[1]"),
    ]


def test_dates_are_compared_with_the_day_the_event_occurred_in_england() -> None:
    """00:30 on 3 June in London is 23:30 UTC on 2 June: an offence, charge and birth on
    3 June are not in the future. Case-file dates are calendar dates in England and Wales."""
    event = valid_charge(offences=(THEFT,), offence_date=date(2024, 6, 3))
    event = with_envelope(event, occurred_at=datetime(2024, 6, 2, 23, 30, tzinfo=UTC))
    assert reasons(event) == []
    born = with_defendant(event, date_of_birth=date(2024, 6, 3))
    assert reasons(born) == [("DEFENDANT_UNDER_AGE", "defendant.date_of_birth")]
    # In winter London is on UTC: 23:30 UTC on 2 January is still 2 January.
    winter = valid_charge(offences=(THEFT,), offence_date=date(2024, 1, 3))
    winter = with_envelope(winter, occurred_at=datetime(2024, 1, 2, 23, 30, tzinfo=UTC))
    assert reasons(winter) == [("OFFENCE_DATE_IN_FUTURE", "offences[0].offence_date")]
