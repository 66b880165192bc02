"""Builders for court results: a HearingResulted for a case a synthetic force charged.

Court publishers are the registry's (``hmcts-north-west`` is bound to Merseyside's court
houses, where the unit builders' charges are heard). Every person is synthetic.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from schemas.models import (
    CourtResult,
    DefendantCharged,
    DefendantResults,
    DurationUnit,
    Envelope,
    HearingOutcome,
    HearingResulted,
    OffenceResults,
    ResultDuration,
    ResultedHearing,
)
from streams.pipeline import partition_for
from streams.record import SourceRecord
from tests.support.builders import NOW, catalog, codec

COURT = "hmcts-north-west"
"""Bound to B05/C05 (Merseyside), where the builders' charges are heard."""
OTHER_COURT = "hmcts-london"
LONDON_MAGISTRATES = "B01BE00"
DISQUALIFIED = 3070
"""Disqualified from driving (obligatory): raises TRPR0001 for every force that takes it."""
FINE = 1015


def results_for(
    charge: DefendantCharged,
    *,
    sequence: int = 1,
    publisher: str = COURT,
    court_ou: str | None = None,
    on: date | None = None,
    at: datetime = NOW,
    offences: list[OffenceResults] | None = None,
    **defendant: Any,
) -> HearingResulted:
    """The court's results for ``charge``'s defendant: guilty plea and verdict on offence 1,
    an obligatory disqualification for 12 months and a fine of 250 pounds, unconditional bail."""
    env = charge.envelope
    return HearingResulted(
        envelope=Envelope(
            event_id=uuid.uuid4(),
            case_urn=env.case_urn,
            sequence=sequence,
            force=env.force,
            system="common-platform",
            occurred_at=at,
            published_at=at,
        ),
        publisher=publisher,
        hearing=ResultedHearing(
            court_ou=court_ou or charge.first_hearing.court_ou,
            date=on or charge.charge_date,
            outcome=HearingOutcome.SENTENCE,
        ),
        defendants=[
            DefendantResults(
                **{
                    "asn": charge.defendant.asn,
                    "offences": offences
                    if offences is not None
                    else [
                        OffenceResults(
                            offence_sequence=1,
                            plea="G",
                            verdict="G",
                            results=[
                                CourtResult(
                                    code=DISQUALIFIED,
                                    duration=ResultDuration(length=12, unit=DurationUnit.MONTHS),
                                ),
                                CourtResult(code=FINE, amount_pence=25_000),
                            ],
                        )
                    ],
                    "remand_status": "UB",
                    **defendant,
                }
            )
        ],
    )


def court_record(
    event: HearingResulted | bytes,
    offset: int = 0,
    *,
    court: str = COURT,
    headers: tuple[tuple[str, bytes | None], ...] = (("x-test", b"1"),),
) -> SourceRecord:
    """The record carrying ``event`` on ``court``'s ingest topic, on its case's partition."""
    if isinstance(event, bytes):
        key, value = None, event
    else:
        key = event.envelope.case_urn.encode()
        value = codec().encode(event)
    partition = 0 if key is None else partition_for(key, catalog().ingest_partitions)
    return SourceRecord(
        topic=catalog().court_ingest(court),
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        headers=headers,
    )
