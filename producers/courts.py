"""A synthetic court system: court results for charges a synthetic force made.

For demos, tests and benchmarks (not part of the SDK a court uses: a court publishes with
``producers.Publisher`` on its own court ingest topic). The court that publishes is the
registry's court publisher bound to the charge's court; results use real CJS codes: on the
first offence a guilty plea, a fine and an obligatory disqualification from driving (which
raises the PNC trigger TRPR0001 for the forces that take it), on any other a fine; the
defendant leaves on unconditional bail. ``never_charged`` adds a result for an offence the
charge did not have, which the exchange rejects (``RESULT_OFFENCE_NOT_CHARGED``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from infra.registry import CourtPublisher, Registry
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

DISQUALIFIED_FROM_DRIVING = 3070
FINE = 1015


def publisher_for(registry: Registry, court_ou: str) -> CourtPublisher | None:
    """The court publisher bound to ``court_ou`` (the first, in registry order), if any."""
    return next((c for c in registry.courts if c.binds(court_ou)), None)


class SyntheticCourt:
    """Results of charges' first hearings, from whichever court publisher is bound to each
    court; numbered per case from 1, as the exchange orders a publisher's results."""

    def __init__(
        self,
        registry: Registry,
        *,
        system: str = "common-platform",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.system = system
        self.clock = clock
        self._sequences: Counter[tuple[str, str]] = Counter()

    def results(self, charge: DefendantCharged, *, never_charged: bool = False) -> HearingResulted:
        """The results of ``charge``'s first hearing (raises ValueError if no court publisher
        of the registry is bound to its court)."""
        court = charge.first_hearing.court_ou
        publisher = publisher_for(self.registry, court)
        if publisher is None:
            raise ValueError(f"no court publisher is bound to {court}")
        urn = charge.envelope.case_urn
        self._sequences[publisher.id, urn] += 1
        offences = [
            OffenceResults(
                offence_sequence=offence.sequence,
                plea="G",
                verdict="G",
                results=[CourtResult(code=FINE, amount_pence=20_000 + 5_000 * i)]
                + (
                    [
                        CourtResult(
                            code=DISQUALIFIED_FROM_DRIVING,
                            duration=ResultDuration(length=12, unit=DurationUnit.MONTHS),
                        )
                    ]
                    if i == 0
                    else []
                ),
            )
            for i, offence in enumerate(charge.offences)
        ]
        if never_charged:
            unknown = max(o.sequence for o in charge.offences) + 1
            offences.append(
                OffenceResults(
                    offence_sequence=unknown,
                    plea="G",
                    results=[CourtResult(code=FINE, amount_pence=10_000)],
                )
            )
        now = self.clock()
        return HearingResulted(
            envelope=Envelope(
                event_id=uuid.uuid4(),
                case_urn=urn,
                sequence=self._sequences[publisher.id, urn],
                force=charge.envelope.force,
                system=self.system,
                occurred_at=now,
                published_at=now,
            ),
            publisher=publisher.id,
            hearing=ResultedHearing(
                court_ou=court,
                # Resulted on the day it sat: not after today, not before the charge.
                date=max(charge.charge_date, min(charge.first_hearing.date, now.date())),
                outcome=HearingOutcome.SENTENCE,
            ),
            defendants=[
                DefendantResults(asn=charge.defendant.asn, offences=offences, remand_status="UB")
            ],
        )
