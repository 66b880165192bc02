"""Enrichment: standing-data facts partners would otherwise each look up for themselves.

Force and court names, the CPS area (by the court's area; before charge, by the force's),
offence titles, categories, mode of trial and recordability, and the derived venue: a case
with any indictable-only offence, or with a hearing at a Crown Court, goes to the Crown Court.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.identifiers import IdCheck, check_offence_code, check_ou
from schemas.models import (
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    EnrichedOffence,
    Enrichment,
    ModeOfTrial,
    Offence,
    RemandStatusChanged,
    Venue,
)
from streams.cases import CaseRoute
from streams.reference import CourtKind, StandingData


def _offences(event: CaseEvent) -> Sequence[Offence]:
    match event:
        case DefendantCharged():
            return event.offences
        case CaseFileSubmitted():
            return event.proposed_offences
    return ()


def _normalised(check: IdCheck, text: str) -> str:
    """The form standing data is keyed by: validation accepts codes as typed (spaces, lower
    case), so lookups here must tidy them the same way or miss them."""
    return check.normalized or text.strip().upper()


def _court_named(event: CaseEvent) -> str | None:
    match event:
        case DefendantCharged():
            court = event.first_hearing.court_ou
        case RemandStatusChanged() if event.next_hearing is not None:
            court = event.next_hearing.court_ou
        case _:
            return None
    return _normalised(check_ou(court), court)


def enrich(event: CaseEvent, standing: StandingData, known: CaseRoute | None) -> Enrichment:
    """Facts about ``event``; ``known`` is what earlier events of the case established."""
    force = standing.force(event.envelope.force)
    enriched: list[EnrichedOffence] = []
    for offence in _offences(event):
        found = standing.offence(_normalised(check_offence_code(offence.code), offence.code))
        if found is None:
            continue
        mode = found.mode_of_trial
        enriched.append(
            EnrichedOffence(
                code=offence.code,
                title=found.title,
                category=found.category,
                mode_of_trial=ModeOfTrial(mode.value) if mode is not None else None,
                recordable=found.recordable,
            )
        )
    court_ou = _court_named(event) or (known.court_ou if known else None)
    court = standing.court(court_ou) if court_ou else None
    area = (
        standing.cps_area_for_court(court_ou)
        if court_ou
        else standing.cps_area_for_force(event.envelope.force)
    )
    if area is None and known is not None and known.cps_area is not None:
        area = next((a for a in standing.cps_areas() if a.id == known.cps_area), None)
    venue: Venue | None = None
    crown_court = court is not None and court.kind == CourtKind.CROWN
    already_crown = known is not None and known.venue == Venue.CROWN.value
    if already_crown:
        # Once a case is for the Crown Court it stays there: a later summary-only charge
        # is dealt with alongside it.
        venue = Venue.CROWN
    elif enriched:
        indictable = any(o.mode_of_trial == ModeOfTrial.INDICTABLE_ONLY for o in enriched)
        venue = Venue.CROWN if indictable or crown_court else Venue.MAGISTRATES
    elif crown_court:
        # A case sent or committed to the Crown Court: its hearings are there now, whatever
        # the charge at the magistrates' court established.
        venue = Venue.CROWN
    elif known is not None and known.venue is not None:
        venue = Venue(known.venue)
    return Enrichment(
        force_name=force.name if force else event.envelope.force,
        court_ou=court.code if court else court_ou,
        court_name=court.name if court else None,
        cps_area=area.id if area else None,
        cps_area_name=area.name if area else None,
        venue=venue,
        offences=enriched,
    )


def route_of(enrichment: Enrichment) -> CaseRoute:
    """What to remember about the case after this event."""
    return CaseRoute(
        court_ou=enrichment.court_ou,
        cps_area=enrichment.cps_area,
        venue=enrichment.venue.value if enrichment.venue else None,
    )
