"""Routing and minimisation (streams/route): who receives an event, and what each may see."""

from __future__ import annotations

from typing import Any

import pytest

from producers.simulator import SyntheticForce
from schemas.models import (
    COURT_EVENT_TYPES,
    EVENT_TYPES,
    CaseDocumentsAdded,
    CaseEvent,
    DefendantCharged,
    Enrichment,
    MgForm,
    Venue,
)
from schemas.store import resolve
from streams.route import RecipientPolicy, project, recipients
from tests.support.builders import (
    case,
    codec,
    document,
    policy,
    registry,
    standing,
    synthetic_force,
    valid_charge,
    valid_documents,
)

WITHHELD_FROM_COURT = {MgForm.MG3, MgForm.MG3A, MgForm.MG6, MgForm.MG6C, MgForm.MG6D, MgForm.MG6E}
EVENT_NAMES = {t.__name__ for t in (*EVENT_TYPES, *COURT_EVENT_TYPES)}


@pytest.fixture
def sim() -> SyntheticForce:
    return synthetic_force()


def court() -> RecipientPolicy:
    return policy().for_kind("court")


def cps() -> RecipientPolicy:
    return policy().for_kind("cps")


def every_event(sim: SyntheticForce) -> list[CaseEvent]:
    story = case(sim)
    return [
        sim.pre_charge(story),
        sim.charge(story, advised=True),
        sim.documents(story, list(MgForm)),
        sim.remand_change(story),
        sim.amend(story),
        sim.discontinue(story),
    ]


# -- the policy file ---------------------------------------------------------------------------


def test_every_partner_kind_has_a_policy() -> None:
    kinds = {p.kind for p in registry().partners}
    # And the charging force, for the court results of its cases (issue 13).
    assert kinds | {"force"} == set(policy().recipients) == {"cps", "court", "force"}


def test_every_event_type_named_in_the_policy_exists() -> None:
    for kind in policy().recipients.values():
        assert kind.events <= EVENT_NAMES, kind.kind
        assert {etype for etype, _ in kind.withhold_fields} <= EVENT_NAMES, kind.kind


def _avro_field(event_type: str, name: str) -> dict[str, Any]:
    schema = resolve(f"uk.gov.cjsx.{event_type}")
    fields: dict[str, dict[str, Any]] = {f["name"]: f for f in schema["fields"]}
    assert name in fields, f"{event_type} has no field {name}"
    return fields[name]


def test_every_withheld_field_is_nullable_in_the_avro_schema() -> None:
    withheld = [pair for kind in policy().recipients.values() for pair in kind.withhold_fields]
    assert ("DefendantCharged", "charging_advice") in withheld
    for event_type, name in withheld:
        field = _avro_field(event_type, name)
        assert isinstance(field["type"], list), f"{event_type}.{name} is not a union"
        assert "null" in field["type"], f"{event_type}.{name} is not nullable"


def test_court_policy() -> None:
    assert court().events == EVENT_NAMES - {"CaseFileSubmitted", "HearingResulted"}
    assert court().withhold_fields == {("DefendantCharged", "charging_advice")}
    assert court().withhold_forms == WITHHELD_FROM_COURT


def test_cps_policy_withholds_nothing_but_pnc_triggers() -> None:
    assert cps().events == EVENT_NAMES
    assert cps().withhold_fields == frozenset()
    assert cps().withhold_forms == frozenset()
    assert cps().withhold_enrichment == {"triggers"}


def test_the_force_receives_court_results_only_and_whole() -> None:
    force = policy().for_kind("force")
    assert force.events == {"HearingResulted"}
    assert force.withhold_fields == frozenset()
    assert force.withhold_enrichment == frozenset()


# -- projection --------------------------------------------------------------------------------


def test_cps_receives_every_event_unchanged(sim: SyntheticForce) -> None:
    for event in every_event(sim):
        assert project(event, cps()) is event


def test_court_never_receives_a_charging_request(sim: SyntheticForce) -> None:
    assert project(sim.pre_charge(case(sim)), court()) is None


def test_court_never_receives_charging_advice(sim: SyntheticForce) -> None:
    advised = sim.charge(case(sim), advised=True)
    assert advised.charging_advice
    projected = project(advised, court())
    assert isinstance(projected, DefendantCharged)
    assert projected.charging_advice is None
    assert projected == advised.model_copy(update={"charging_advice": None})
    assert advised.charging_advice  # the original is untouched
    assert codec().decode(codec().encode(projected)) == projected


def test_a_charge_without_advice_reaches_the_court_unchanged() -> None:
    event = valid_charge()
    assert project(event, court()) == event


@pytest.mark.parametrize("form", sorted(WITHHELD_FROM_COURT))
def test_documents_of_a_withheld_form_alone_are_not_delivered_to_the_court(form: MgForm) -> None:
    event = valid_documents().model_copy(update={"documents": [document(form)]})
    assert project(event, court()) is None
    assert project(event, cps()) is event


def test_documents_of_only_withheld_forms_are_not_delivered_to_the_court() -> None:
    event = valid_documents(sorted(WITHHELD_FROM_COURT))
    assert len(event.documents) == 6
    assert project(event, court()) is None


def test_withheld_documents_are_removed_and_the_rest_kept_in_order(sim: SyntheticForce) -> None:
    event = sim.documents(case(sim), list(MgForm))
    projected = project(event, court())
    assert isinstance(projected, CaseDocumentsAdded)
    assert [d.form for d in projected.documents] == [
        f for f in MgForm if f not in WITHHELD_FROM_COURT
    ]
    assert [d.document_id for d in projected.documents] == [
        d.document_id for d in event.documents if d.form not in WITHHELD_FROM_COURT
    ]
    assert projected.envelope == event.envelope
    assert len(event.documents) == len(MgForm)  # the original is untouched
    assert codec().decode(codec().encode(projected)) == projected


@pytest.mark.parametrize("form", sorted(set(MgForm) - WITHHELD_FROM_COURT), ids=lambda f: f.value)
def test_documents_of_other_forms_reach_the_court(form: MgForm) -> None:
    event = valid_documents().model_copy(update={"documents": [document(form)]})
    assert project(event, court()) == event


def test_other_event_types_reach_the_court_unchanged(sim: SyntheticForce) -> None:
    story = case(sim)
    for event in (sim.remand_change(story), sim.amend(story), sim.discontinue(story)):
        assert project(event, court()) is event


def test_an_event_type_outside_a_policy_is_not_projected() -> None:
    narrow = RecipientPolicy(
        kind="test",
        purpose="",
        legal_basis="",
        events=frozenset({"CaseDiscontinued"}),
        withhold_fields=frozenset(),
        withhold_forms=frozenset(),
    )
    assert project(valid_charge(), narrow) is None


# -- recipients --------------------------------------------------------------------------------


def ids(enrichment: Enrichment) -> list[str]:
    return [p.id for p in recipients(enrichment, registry())]


def at(court_ou: str | None, venue: Venue | None = None, area: str | None = "") -> Enrichment:
    """An enrichment naming ``court_ou``; the CPS area is the court's unless given."""
    if area == "":
        found = standing().cps_area_for_court(court_ou) if court_ou else None
        area = found.id if found else None
    return Enrichment(force_name="Test", court_ou=court_ou, cps_area=area, venue=venue)


@pytest.mark.parametrize(
    ("court_ou", "expected"),
    [
        ("B01EF00", ["cps-london-south", "court-magistrates"]),  # Croydon
        ("B01GU00", ["cps-london-north", "court-magistrates"]),  # Highbury Corner
        ("C01CE00", ["cps-london-north", "court-crown"]),  # Central Criminal Court
        ("C01SW00", ["cps-london-south", "court-crown"]),  # Southwark
        ("B05BK00", ["cps-mersey-cheshire", "court-magistrates"]),  # Wirral
        ("C06MC00", ["cps-north-west", "court-crown"]),  # Manchester
    ],
)
def test_cps_area_by_court_and_the_court_tier(court_ou: str, expected: list[str]) -> None:
    assert ids(at(court_ou, Venue.MAGISTRATES)) == expected


def test_an_indictable_only_case_at_magistrates_also_goes_to_the_crown_court() -> None:
    assert ids(at("B05BK00", Venue.CROWN)) == [
        "cps-mersey-cheshire",
        "court-magistrates",
        "court-crown",
    ]


def test_a_crown_court_case_goes_to_the_crown_court_once() -> None:
    assert ids(at("C05LV00", Venue.CROWN)) == ["cps-mersey-cheshire", "court-crown"]


def test_before_a_court_is_known_only_the_cps_receives() -> None:
    assert ids(at(None, Venue.CROWN, area="london-north")) == ["cps-london-north"]


def test_no_area_and_no_court_means_nobody() -> None:
    assert ids(at(None, area=None)) == []


def test_an_unknown_cps_area_finds_no_cps_partner() -> None:
    assert ids(at("B05BK00", area="atlantis")) == ["court-magistrates"]


def test_every_routed_court_has_a_cps_partner_and_a_court_partner() -> None:
    for found in standing().courts():
        area = standing().cps_area_for_court(found.code)
        if area is None:
            continue
        partners = recipients(at(found.code, area=area.id), registry())
        assert [p.kind for p in partners] == ["cps", "court"], found.code
        assert partners[0].cps_area == area.id
        assert partners[1].court_kind == found.kind.value


def test_every_london_court_is_split_north_or_south() -> None:
    london = [c for c in standing().courts() if c.force_area == "01"]
    assert london
    areas = {c.code: standing().cps_area_for_court(c.code) for c in london}
    assert {a.id for a in areas.values() if a is not None} == {"london-north", "london-south"}
    assert [code for code, a in areas.items() if a is None] == []
