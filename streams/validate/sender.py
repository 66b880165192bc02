"""The sender binding: an event may only speak for the force whose ingest topic carried it.

Each force can write only its own ingest topic (ACLs), so the topic is the authenticated
sender; a URN, ASN or envelope naming another force is rejected, so no force can inject
cases into another's.
"""

from __future__ import annotations

from schemas.identifiers import check_asn, check_urn
from schemas.models import (
    CaseDiscontinued,
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    DefendantDetailsAmended,
    RemandStatusChanged,
)
from schemas.reasons import Reason, ReasonCode, capped


def _asns(event: CaseEvent) -> list[tuple[str, str]]:
    match event:
        case DefendantCharged():
            return [("defendant.asn", event.defendant.asn)]
        case CaseFileSubmitted():
            return [(f"suspects[{i}].asn", s.asn) for i, s in enumerate(event.suspects)]
        case RemandStatusChanged() | DefendantDetailsAmended():
            return [("asn", event.asn)]
        case CaseDiscontinued() if event.asn is not None:
            return [("asn", event.asn)]
    return []


def check_sender(event: CaseEvent, topic_force: str) -> list[Reason]:
    """Every place the event names a force must name ``topic_force`` (reasons capped)."""
    reasons: list[Reason] = []

    def mismatch(field: str, named: str) -> None:
        reasons.append(
            Reason.of(
                ReasonCode.SENDER_FORCE_MISMATCH,
                field,
                f"names force {named} but arrived on force {topic_force}'s ingest topic",
            )
        )

    if event.envelope.force != topic_force:
        mismatch("envelope.force", event.envelope.force[:8])
    urn = check_urn(event.envelope.case_urn)
    if urn.valid and urn.normalized is not None and urn.normalized[:2] != topic_force:
        mismatch("envelope.case_urn", urn.normalized[:2])
    for field, value in _asns(event):
        asn = check_asn(value)
        if asn.normalized is not None and asn.normalized[2:4] != topic_force:
            mismatch(field, asn.normalized[2:4])
    return capped(reasons)
