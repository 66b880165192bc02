"""Court results: the event HMCTS's court systems publish, and what the exchange delivers.

The other direction of the exchange: a court publisher sends ``HearingResulted`` for a case a
force charged; the charging force receives it (with the PNC triggers each result raises) and
the case's CPS area its minimised copy, each as a ``ResultDelivery``. Kept apart from the
force events (``EVENT_TYPES``, the ``Delivery`` union) so those schemas stay unchanged.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from schemas.models.base import AvroRecord, Int32, Int64, Millis
from schemas.models.common import Hearing
from schemas.models.events import CaseEvent
from schemas.models.exchange import OrderingFlag


class HearingOutcome(StrEnum):
    ADJOURNMENT = "ADJOURNMENT"
    ADJOURNMENT_PRE_JUDGEMENT = "ADJOURNMENT_PRE_JUDGEMENT"
    ADJOURNMENT_WITH_JUDGEMENT = "ADJOURNMENT_WITH_JUDGEMENT"
    ADJOURNMENT_POST_JUDGEMENT = "ADJOURNMENT_POST_JUDGEMENT"
    JUDGEMENT_WITH_FINAL_RESULT = "JUDGEMENT_WITH_FINAL_RESULT"
    SENTENCE = "SENTENCE"
    APPEAL_OUTCOME = "APPEAL_OUTCOME"


class DurationUnit(StrEnum):
    HOURS = "HOURS"
    DAYS = "DAYS"
    WEEKS = "WEEKS"
    MONTHS = "MONTHS"
    YEARS = "YEARS"


class ResultedHearing(AvroRecord):
    court_ou: str
    date: date
    outcome: HearingOutcome


class ResultDuration(AvroRecord):
    length: Int32
    unit: DurationUnit


class CourtResult(AvroRecord):
    code: Int32
    qualifiers: list[str] = Field(default_factory=list)
    duration: ResultDuration | None = None
    amount_pence: Int64 | None = None


class OffenceResults(AvroRecord):
    offence_sequence: Int32
    plea: str | None = None
    verdict: str | None = None
    results: list[CourtResult]


class DefendantResults(AvroRecord):
    asn: str
    offences: list[OffenceResults]
    remand_status: str
    next_hearing: Hearing | None = None


class HearingResulted(CaseEvent):
    publisher: str
    hearing: ResultedHearing
    defendants: list[DefendantResults]


class RaisedTrigger(AvroRecord):
    code: str
    description: str
    pnc_screen: str


class EnrichedResult(AvroRecord):
    asn: str
    offence_sequence: Int32
    offence_code: str | None = None
    offence_recordable: bool | None = None
    code: Int32
    title: str
    recordable: bool | None = None
    pnc_disposal: Int32
    triggers: list[RaisedTrigger] = Field(default_factory=list)


class ResultEnrichment(AvroRecord):
    force_name: str
    court_name: str | None = None
    cps_area: str | None = None
    cps_area_name: str | None = None
    results: list[EnrichedResult] = Field(default_factory=list)


class ResultDelivery(AvroRecord):
    delivery_id: UUID
    recipient: str
    policy_version: Int32
    ordering: OrderingFlag
    enrichment: ResultEnrichment
    event: HearingResulted
    delivered_at: Millis
    purpose: str = ""
    legal_basis: str = ""
    delivered_by: str = ""


COURT_EVENT_TYPES: tuple[type[CaseEvent], ...] = (HearingResulted,)
"""Events court publishers send (on their own ingest topics)."""
