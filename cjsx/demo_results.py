"""The demo's other direction: courts result charges the exchange delivered, and the results
flow back to the charging force (with the PNC triggers each result raises) and to the case's
CPS area (minimised: no triggers), with receipts to the court.

Each court publisher of the registry publishes on its own ingest topic with its own
credentials; one result names an offence that was never charged, which the exchange rejects
(``RESULT_OFFENCE_NOT_CHARGED``) and keeps with its bytes. The demo checks the courts'
conservation (published = accepted + rejected + duplicate) and that each accepted result
reached the force and CPS.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.results import ResultsReader
from infra.security.policy import ADMIN, force_principal
from infra.topics import TopicCatalog
from producers.courts import SyntheticCourt, publisher_for
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from schemas.models import DefendantCharged, HearingResulted, ReceiptStatus, ResultDelivery


@dataclass
class CourtRound:
    """What the courts published and what came of it."""

    published: list[HearingResulted] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    to_force: list[ResultDelivery] = field(default_factory=list)
    to_cps: list[ResultDelivery] = field(default_factory=list)

    @property
    def triggers(self) -> Counter[str]:
        return Counter(
            t.code for d in self.to_force for r in d.enrichment.results for t in r.triggers
        )

    @property
    def adds_up(self) -> bool:
        return sum(self.outcomes.values()) == len(self.published)


def result_charges(
    charges: Sequence[DefendantCharged], catalog: TopicCatalog, per_force: int = 1
) -> list[DefendantCharged]:
    """Charges of different forces whose first hearing is at a court a publisher serves."""
    chosen: list[DefendantCharged] = []
    for charge in charges:
        force = charge.envelope.force
        bound = publisher_for(catalog.registry, charge.first_hearing.court_ou) is not None
        if bound and sum(c.envelope.force == force for c in chosen) < per_force:
            chosen.append(charge)
    return chosen


def run_courts(
    bootstrap: str,
    catalog: TopicCatalog,
    client: Callable[[str], dict[str, Any]],
    charges: Sequence[DefendantCharged],
    cps_of: Callable[[str], str | None],
    timeout: float = 90.0,
) -> CourtRound:
    """Result ``charges`` (the first also with an offence never charged) and follow them."""
    court = SyntheticCourt(catalog.registry)
    round_ = CourtRound()
    for i, charge in enumerate(charges):
        round_.published.append(court.results(charge))
        if i == 0:
            round_.published.append(court.results(charge, never_charged=True))
    publishers = sorted({r.publisher for r in round_.published})
    for name in publishers:
        with_publisher = Publisher(
            bootstrap_servers=bootstrap, topic=catalog.court_ingest(name), **client(name)
        )
        try:
            for event in round_.published:
                if event.publisher == name:
                    with_publisher.publish(event)
            with_publisher.flush()
        finally:
            with_publisher.close()

    watcher = ReceiptWatcher(
        bootstrap_servers=bootstrap,
        topics=[catalog.court_receipts(p) for p in publishers],
        **client(ADMIN),
    )
    ids = {r.envelope.event_id for r in round_.published}
    watcher.wait_until(
        lambda w: all(i in w.statuses and w.statuses[i].outcome for i in ids), timeout=timeout
    )
    for event_id in ids:
        status = watcher.statuses.get(event_id)
        if status is not None and status.outcome is not None:
            round_.outcomes[status.outcome.value] += 1
            round_.reasons.update(r.code for r in status.reasons)
    watcher.close()

    accepted = [
        r
        for r in round_.published
        if (s := watcher.statuses.get(r.envelope.event_id)) is not None
        and s.outcome is ReceiptStatus.ACCEPTED
    ]
    expected: Counter[tuple[str, str]] = Counter()
    for result in accepted:
        expected["force", result.envelope.force] += 1
        area = cps_of(result.envelope.case_urn)
        if area is not None:
            expected["cps", area] += 1
    for (kind, who), count in sorted(expected.items()):
        if kind == "force":
            topic, auth, into = (
                catalog.force_results(who),
                client(force_principal(who)),
                round_.to_force,
            )
        else:
            topic, auth, into = catalog.partner_results(who), client(who), round_.to_cps
        into += _read(bootstrap, topic, auth, ids, count, timeout)
    return round_


def _read(
    bootstrap: str, topic: str, auth: dict[str, Any], ids: set[Any], count: int, timeout: float
) -> list[ResultDelivery]:
    """Up to ``count`` deliveries of the results ``ids`` from ``topic``, or what came in time."""
    found: list[ResultDelivery] = []
    reader = ResultsReader(bootstrap_servers=bootstrap, topic=topic, **auth)
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            found += [d for d in reader.poll() if d.event.envelope.event_id in ids]
    finally:
        reader.close()
    return found
