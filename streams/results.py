"""Court results: the stages a court publisher's ``HearingResulted`` passes, free of Kafka.

The other direction of the exchange. A court publisher (an HMCTS system in the registry)
publishes results on its own court ingest topic, keyed by case URN; those topics have as many
partitions as the force ingest topics and are read by the same agent, so Faust gives a worker
partition N of both together with partition N of the case table: the results of a case meet
the state its charges left (``streams.cases``: who was charged, with which offences, when).

- sender binding (:func:`check_court_sender`): the event's ``publisher`` is the topic's owner,
  and the hearing's court house is one that publisher is bound to;
- the case's charges (:func:`check_charged`): the case, each defendant (ASN) and each offence
  (by its sequence number on the charge) must be ones the exchange delivered a charge for,
  and the hearing is not before the defendant's charge;
- enrichment (:func:`enrich_results`): result titles, PNC disposal, the charged offence's
  code and recordability, and the triggers (``trigger-definitions.json``) each result raises
  for the charging force (less those the force does not take);
- projection (:func:`project_results`): what a recipient's policy lets it see.

The stateless rules (codes from standing data, duplicates, values) are with the force
events' rules in ``streams.validate.rules`` so ``cjsx validate`` applies them too.
"""

from __future__ import annotations

from collections.abc import Mapping

from infra.registry import CourtPublisher
from schemas.cloudevents import court_source
from schemas.identifiers import check_ou
from schemas.models import (
    EnrichedResult,
    HearingResulted,
    RaisedTrigger,
    ResultEnrichment,
)
from schemas.reasons import Reason, ReasonCode
from streams.cases import CaseRoute, ChargedDefendant
from streams.reference import StandingData
from streams.route.policy import RecipientPolicy

__all__ = [
    "TRIGGERS",
    "check_charged",
    "check_court_sender",
    "court_source",
    "enrich_results",
    "project_results",
]

TRIGGERS = "triggers"
"""The enrichment part a policy may withhold (``withhold_enrichment``): PNC update triggers
are police work, for the charging force only."""


def check_court_sender(event: HearingResulted, publisher: CourtPublisher) -> list[Reason]:
    """The event speaks for the publisher whose topic carried it, about one of its courts."""
    reasons: list[Reason] = []
    if event.publisher != publisher.id:
        reasons.append(
            Reason.of(
                ReasonCode.SENDER_COURT_MISMATCH,
                "publisher",
                f"names another publisher than {publisher.id}, whose ingest topic carried it",
            )
        )
    court = check_ou(event.hearing.court_ou).normalized or event.hearing.court_ou
    if not publisher.binds(court):
        houses = ", ".join(publisher.court_houses)
        reasons.append(
            Reason.of(
                ReasonCode.COURT_NOT_BOUND,
                "hearing.court_ou",
                f"{court[:16]} is not a court house {publisher.id} may publish for",
                f"Publish results only for your own court houses ({houses}), or correct "
                "hearing.court_ou.",
            )
        )
    return reasons


def check_charged(event: HearingResulted, charges: Mapping[str, ChargedDefendant]) -> list[Reason]:
    """Every defendant and offence resulted was charged on this case, and not after the
    hearing. ``charges`` is what the case's delivered charges established."""
    if not charges:
        return [
            Reason.of(
                ReasonCode.RESULT_CASE_NOT_CHARGED,
                "envelope.case_urn",
                "the exchange has delivered no charge on this case",
            )
        ]
    reasons: list[Reason] = []
    for i, defendant in enumerate(event.defendants):
        path = f"defendants[{i}]"
        charged = charges.get(defendant.asn)
        if charged is None:
            reasons.append(
                Reason.of(
                    ReasonCode.RESULT_DEFENDANT_NOT_CHARGED,
                    f"{path}.asn",
                    "no charge delivered on this case names this defendant",
                )
            )
            continue
        if event.hearing.date < charged.charged_on:
            reasons.append(
                Reason.of(
                    ReasonCode.HEARING_BEFORE_CHARGE,
                    "hearing.date",
                    f"the hearing is dated before {path}'s charge",
                )
            )
        known = sorted(charged.offences)
        for j, offence in enumerate(defendant.offences):
            if offence.offence_sequence in charged.offences or offence.offence_sequence < 1:
                continue
            numbers = ", ".join(str(n) for n in known)
            reasons.append(
                Reason.of(
                    ReasonCode.RESULT_OFFENCE_NOT_CHARGED,
                    f"{path}.offences[{j}].offence_sequence",
                    f"offence {offence.offence_sequence} was not charged on this defendant; "
                    f"the charges delivered have offences {numbers}",
                    f"Send the number of a charged offence ({numbers}); an offence added in "
                    "court must first be charged by the force.",
                )
            )
    return reasons


def enrich_results(
    event: HearingResulted,
    standing: StandingData,
    charges: Mapping[str, ChargedDefendant],
    route: CaseRoute | None,
) -> ResultEnrichment:
    """Titles, PNC disposal, the charged offence and the triggers of every result, in event
    order; the CPS area the case is known by (else the hearing court's)."""
    force = event.envelope.force
    named = standing.force(force)
    court = standing.court(event.hearing.court_ou)
    area_id = route.cps_area if route is not None else None
    area = next((a for a in standing.cps_areas() if a.id == area_id), None)
    if area is None:
        area = standing.cps_area_for_court(event.hearing.court_ou)
    results: list[EnrichedResult] = []
    for defendant in event.defendants:
        charged = charges.get(defendant.asn)
        for offence in defendant.offences:
            code = charged.offences.get(offence.offence_sequence) if charged else None
            charged_offence = standing.offence(code) if code is not None else None
            for result in offence.results:
                known = standing.result_code(result.code)
                if known is None:  # validated before: cannot happen for an accepted event
                    continue
                raised = standing.triggers_raised(result.code, result.qualifiers, force)
                results.append(
                    EnrichedResult(
                        asn=defendant.asn,
                        offence_sequence=offence.offence_sequence,
                        offence_code=code,
                        offence_recordable=(
                            charged_offence.recordable if charged_offence is not None else None
                        ),
                        code=result.code,
                        title=known.title,
                        recordable=known.recordable,
                        pnc_disposal=known.pnc_disposal,
                        triggers=[
                            RaisedTrigger(
                                code=t.code, description=t.description, pnc_screen=t.pnc_screen
                            )
                            for t in raised
                        ],
                    )
                )
    return ResultEnrichment(
        force_name=named.name if named is not None else force,
        court_name=court.name if court is not None else None,
        cps_area=area.id if area is not None else None,
        cps_area_name=area.name if area is not None else None,
        results=results,
    )


def project_results(
    event: HearingResulted, enrichment: ResultEnrichment, policy: RecipientPolicy
) -> tuple[HearingResulted, ResultEnrichment] | None:
    """The results and their enrichment as ``policy`` lets its recipient see them, or None
    if it may not see them at all (withheld event fields become null, as for force events)."""
    name = type(event).__name__
    if name not in policy.events:
        return None
    update = {field: None for (etype, field) in policy.withhold_fields if etype == name}
    projected = event.model_copy(update=update) if update else event
    if TRIGGERS in policy.withhold_enrichment:
        enrichment = enrichment.model_copy(
            update={"results": [r.model_copy(update={"triggers": []}) for r in enrichment.results]}
        )
    return projected, enrichment
