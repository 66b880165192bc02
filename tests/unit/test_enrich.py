"""Enrichment (streams/enrich.py) and the case directory (streams/cases.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from producers.simulator import SyntheticForce
from schemas.models import (
    CaseEvent,
    EnrichedOffence,
    Enrichment,
    Hearing,
    ModeOfTrial,
    Offence,
    Venue,
)
from streams.cases import CaseDirectory, CaseMemory, CaseRoute
from streams.enrich import enrich, route_of
from streams.state import DictStore
from tests.support.builders import (
    CROWN,
    MAGISTRATES,
    MURDER,
    THEFT,
    TODAY,
    case,
    standing,
    synthetic_force,
    valid_charge,
    valid_pre_charge,
    with_hearing,
)

SUMMARY = "AB06001"  # CS, recordable
MOTORING = "BL21004"  # CM (careless driving), not recordable


def enriched(event: CaseEvent, known: CaseRoute | None = None) -> Enrichment:
    return enrich(event, standing(), known)


@pytest.fixture
def sim() -> SyntheticForce:
    return synthetic_force()


def test_a_charge_at_a_magistrates_court() -> None:
    assert enriched(valid_charge(court=MAGISTRATES, offences=(THEFT,))) == Enrichment(
        force_name="Merseyside",
        court_ou="B05BK00",
        court_name="Wirral",
        cps_area="mersey-cheshire",
        cps_area_name="Mersey-Cheshire",
        venue=Venue.MAGISTRATES,
        offences=[
            EnrichedOffence(
                code="TH68010",
                title="Theft from a shop",
                category="CE",
                mode_of_trial=ModeOfTrial.EITHER_WAY,
                recordable=True,
            )
        ],
    )


def test_offence_facts_for_each_mode_of_trial() -> None:
    event = valid_charge(offences=(SUMMARY, MOTORING, MURDER))
    facts = [(o.code, o.category, o.mode_of_trial, o.recordable) for o in enriched(event).offences]
    assert facts == [
        (SUMMARY, "CS", ModeOfTrial.SUMMARY, True),
        (MOTORING, "CM", ModeOfTrial.SUMMARY, False),
        (MURDER, "CI", ModeOfTrial.INDICTABLE_ONLY, True),
    ]
    assert enriched(event).offences[2].title.startswith("Murder")


def test_an_offence_with_a_qualifier_gets_its_base_offences_facts() -> None:
    event = valid_charge(offences=("TH68010I",))
    [offence] = enriched(event).offences
    assert (offence.code, offence.title, offence.category) == (
        "TH68010I",
        "Theft from a shop",
        "CE",
    )


def test_an_offence_code_as_typed_is_enriched_by_its_normalised_form() -> None:
    """Validation accepts ' coml 025' (it tidies codes); enrichment must find it too, or an
    indictable-only case would be routed as a magistrates' case."""
    event = valid_charge(offences=(" coml 025",))
    result = enriched(event)
    assert [(o.code, o.category) for o in result.offences] == [(" coml 025", "CI")]
    assert result.venue is Venue.CROWN


def test_a_court_ou_as_typed_is_enriched_by_its_normalised_form() -> None:
    event = with_hearing(valid_charge(), court_ou=" b05bk00 ")
    result = enriched(event)
    assert (result.court_ou, result.court_name, result.cps_area) == (
        "B05BK00",
        "Wirral",
        "mersey-cheshire",
    )


def test_court_with_an_unknown_bottom_level_is_named_by_its_court_house() -> None:
    result = enriched(with_hearing(valid_charge(), court_ou="B05BK01"))
    assert (result.court_ou, result.court_name) == ("B05BK00", "Wirral")


# -- venue -------------------------------------------------------------------------------------


def test_any_indictable_only_offence_makes_the_venue_the_crown_court() -> None:
    result = enriched(valid_charge(court=MAGISTRATES, offences=(THEFT, MURDER)))
    assert result.venue is Venue.CROWN
    assert result.court_ou == MAGISTRATES  # the first hearing is still at the magistrates'


def test_summary_and_either_way_offences_at_a_crown_court() -> None:
    assert enriched(valid_charge(court=CROWN, offences=(THEFT,))).venue is Venue.CROWN


@pytest.mark.parametrize("offences", [(THEFT,), (SUMMARY,), (MOTORING, THEFT)])
def test_summary_and_either_way_offences_at_magistrates(offences: tuple[str, ...]) -> None:
    assert enriched(valid_charge(court=MAGISTRATES, offences=offences)).venue is Venue.MAGISTRATES


def test_a_pre_charge_file_has_a_venue_from_its_proposed_offences(sim: SyntheticForce) -> None:
    assert enriched(valid_pre_charge(sim, offences=(MURDER,))).venue is Venue.CROWN
    assert enriched(valid_pre_charge(sim, offences=(THEFT,))).venue is Venue.MAGISTRATES


# -- CPS area ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("court_ou", "area", "name"),
    [
        ("B01EF00", "london-south", "London South"),  # Croydon
        ("B01GU00", "london-north", "London North"),  # Highbury Corner
        ("C01CE00", "london-north", "London North"),  # Central Criminal Court
        ("B05BK00", "mersey-cheshire", "Mersey-Cheshire"),
    ],
)
def test_cps_area_is_the_courts(court_ou: str, area: str, name: str) -> None:
    met = synthetic_force("01")
    result = enriched(valid_charge(met, court=court_ou))
    assert (result.force_name, result.cps_area, result.cps_area_name) == (
        "Metropolitan Police Service",
        area,
        name,
    )


def test_btp_case_goes_to_the_area_of_its_court() -> None:
    btp = synthetic_force("93")
    result = enriched(valid_charge(btp, court=MAGISTRATES))
    assert (result.force_name, result.cps_area) == ("BTP", "mersey-cheshire")


@pytest.mark.parametrize(
    ("force", "area"),
    [
        ("05", "mersey-cheshire"),
        ("01", "london-north"),
        ("93", "london-north"),
        ("46", "south-east"),
    ],
)
def test_before_charge_the_cps_area_is_the_forces(force: str, area: str) -> None:
    found = standing().cps_area_for_force(force)
    assert found is not None
    assert found.id == area
    result = enriched(valid_pre_charge(synthetic_force(force)))
    assert (result.court_ou, result.court_name, result.cps_area) == (None, None, area)


# -- what the case directory remembers ----------------------------------------------------------


def test_later_events_without_a_court_reach_the_charges_court(sim: SyntheticForce) -> None:
    story = case(sim, court="B01EF00", offences=(MURDER,))
    charge = enriched(sim.charge(story))
    known = route_of(charge)
    assert known == CaseRoute(court_ou="B01EF00", cps_area="london-south", venue="CROWN")
    later = sim.documents(story, [])
    result = enriched(later, known)
    assert result == Enrichment(
        force_name="Merseyside",
        court_ou="B01EF00",
        court_name="Croydon",
        cps_area="london-south",
        cps_area_name="London South",
        venue=Venue.CROWN,
        offences=[],
    )
    # Without what the directory knows, the same event has only the force's area.
    alone = enriched(later)
    assert (alone.court_ou, alone.cps_area, alone.venue) == (None, "mersey-cheshire", None)


def test_a_remand_change_naming_a_new_court_moves_the_case(sim: SyntheticForce) -> None:
    story = case(sim, court=MAGISTRATES)
    known = route_of(enriched(sim.charge(story)))
    change = sim.remand_change(story).model_copy(
        update={"next_hearing": Hearing(court_ou="B01EF00", date=TODAY + timedelta(days=3))}
    )
    result = enriched(change, known)
    assert (result.court_ou, result.cps_area, result.venue) == (
        "B01EF00",
        "london-south",
        Venue.MAGISTRATES,
    )


def test_a_case_sent_to_the_crown_court_has_the_crown_court_venue(sim: SyntheticForce) -> None:
    """An either-way case sent for trial: the next hearing is at a Crown Court, so the venue is
    the Crown Court, whatever the magistrates' charge established."""
    story = case(sim, court=MAGISTRATES, offences=(THEFT,))
    known = route_of(enriched(sim.charge(story)))
    assert known.venue == "MAGISTRATES"
    sent = sim.remand_change(story).model_copy(
        update={"next_hearing": Hearing(court_ou=CROWN, date=TODAY + timedelta(days=28))}
    )
    result = enriched(sent, known)
    assert (result.court_ou, result.venue) == (CROWN, Venue.CROWN)
    assert route_of(result).venue == "CROWN"


def test_route_of_keeps_court_area_and_venue() -> None:
    result = Enrichment(
        force_name="x", court_ou="C05LV00", cps_area="mersey-cheshire", venue=Venue.CROWN
    )
    assert route_of(result) == CaseRoute("C05LV00", "mersey-cheshire", "CROWN")
    assert route_of(Enrichment(force_name="x")) == CaseRoute(None, None, None)


def test_unknown_offences_are_left_out_of_the_enrichment() -> None:
    event = valid_charge()
    odd = Offence(sequence=2, code="ZZ99999", wording="x", offence_date=TODAY)
    event = event.model_copy(update={"offences": [*event.offences, odd]})
    assert [o.code for o in enriched(event).offences] == [THEFT]


class CountingStore(DictStore):
    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put(self, key: str, value: bytes) -> None:
        self.puts += 1
        super().put(key, value)


def test_case_directory_remembers_the_latest_route_and_the_route_before_each_event() -> None:
    store = CountingStore()
    directory = CaseDirectory(store)
    assert directory.get("05AM1234524") == CaseMemory()
    first = CaseRoute("B05BK00", "mersey-cheshire", "MAGISTRATES")
    memory = directory.get("05AM1234524")
    assert memory.known_before(1, replay=False) is None
    memory.route = first
    directory.save("05AM1234524", memory)
    memory = directory.get("05AM1234524")
    assert memory.route == first
    assert memory.known_before(2, replay=False) == first
    moved = CaseRoute("C05LV00", "mersey-cheshire", "CROWN")
    memory.route = moved
    directory.save("05AM1234524", memory)
    again = directory.get("05AM1234524")
    assert again.route == moved
    # A replay of event 1 or 2 is routed as the first time, not by the newest route.
    assert again.known_before(1, replay=True) is None
    assert again.known_before(2, replay=True) == first
    # An event never seen before takes the newest route, even flagged as a replay.
    assert again.known_before(3, replay=True) == moved
    # The route lives in the case's own key, beside its ordering state: one write per case.
    assert list(store.data) == ["case:05AM1234524"]


def test_a_case_for_the_crown_court_stays_there_when_a_summary_charge_follows() -> None:
    crown = CaseRoute("B05BK00", "mersey-cheshire", "CROWN")
    summary_charge = valid_charge(offences=(THEFT,))
    enrichment = enrich(summary_charge, standing(), crown)
    assert enrichment.venue is Venue.CROWN
