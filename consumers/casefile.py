"""A partner's view of one case, folded from the deliveries it has received, in order.

The view holds what this partner was sent and nothing more: a court's view never contains
charging advice or sensitive schedules because its deliveries never did.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from schemas.models import (
    CaseDiscontinued,
    CaseDocumentsAdded,
    CaseFileSubmitted,
    DefendantCharged,
    DefendantDetailsAmended,
    Delivery,
    RemandStatusChanged,
)


class DefendantView(BaseModel):
    asn: str
    name: str
    pnc_id: str | None = None
    remand_status: str | None = None
    bail_conditions: list[str] = Field(default_factory=list)


class CaseView(BaseModel):
    """What one partner knows about one case."""

    case_urn: str
    force: str
    force_name: str
    cps_area: str | None = None
    court_ou: str | None = None
    court_name: str | None = None
    venue: str | None = None
    status: str = "OPEN"
    last_sequence: int = 0
    events: int = 0
    defendants: dict[str, DefendantView] = Field(default_factory=dict)
    offences: list[dict[str, Any]] = Field(default_factory=list)
    hearings: list[dict[str, Any]] = Field(default_factory=list)
    documents: list[dict[str, Any]] = Field(default_factory=list)
    charging_advice: str | None = None

    @classmethod
    def start(cls, delivery: Delivery) -> CaseView:
        env = delivery.event.envelope
        return cls(
            case_urn=env.case_urn, force=env.force, force_name=delivery.enrichment.force_name
        )

    def apply(self, delivery: Delivery) -> CaseView:
        """The view after one more delivery (a new object; the old one is unchanged)."""
        view = self.model_copy(deep=True)
        enrichment = delivery.enrichment
        event = delivery.event
        view.events += 1
        view.last_sequence = max(view.last_sequence, event.envelope.sequence)
        view.cps_area = enrichment.cps_area or view.cps_area
        view.court_ou = enrichment.court_ou or view.court_ou
        view.court_name = enrichment.court_name or view.court_name
        view.venue = enrichment.venue.value if enrichment.venue else view.venue
        match event:
            case CaseFileSubmitted():
                for suspect in event.suspects:
                    view.defendants[suspect.asn] = DefendantView(
                        asn=suspect.asn,
                        name=" ".join([*suspect.given_names, suspect.family_name]),
                        pnc_id=suspect.pnc_id,
                    )
                view.documents += [d.model_dump(mode="json") for d in event.documents]
            case DefendantCharged():
                person = event.defendant
                view.defendants[person.asn] = DefendantView(
                    asn=person.asn,
                    name=" ".join([*person.given_names, person.family_name]),
                    pnc_id=person.pnc_id,
                    remand_status=event.remand_status.value,
                    bail_conditions=list(event.bail_conditions),
                )
                view.offences = [o.model_dump(mode="json") for o in enrichment.offences]
                view.hearings.append(event.first_hearing.model_dump(mode="json"))
                view.charging_advice = event.charging_advice
            case CaseDocumentsAdded():
                view.documents += [d.model_dump(mode="json") for d in event.documents]
            case RemandStatusChanged():
                found = view.defendants.get(event.asn)
                if found is not None:
                    found.remand_status = event.remand_status.value
                    found.bail_conditions = list(event.bail_conditions)
                if event.next_hearing is not None:
                    view.hearings.append(event.next_hearing.model_dump(mode="json"))
            case DefendantDetailsAmended():
                found = view.defendants.get(event.asn)
                if found is not None and (event.family_name or event.given_names):
                    names = event.given_names or found.name.split(" ")[:-1]
                    family = event.family_name or found.name.split(" ")[-1]
                    found.name = " ".join([*names, family])
                if found is not None and event.pnc_id:
                    found.pnc_id = event.pnc_id
            case CaseDiscontinued():
                if event.scope.value == "CASE_DISCONTINUED":
                    view.status = "DISCONTINUED"
        return view
