"""Which partners are entitled to an event: the CPS area by the court, and the court tiers."""

from __future__ import annotations

from infra.registry import Partner, Registry
from schemas.models import Enrichment, Venue


def recipients(enrichment: Enrichment, registry: Registry) -> list[Partner]:
    """Partners for an event, CPS first: the CPS area that prosecutes at the case's court;
    the magistrates' court where the hearing is at one; the Crown Court where the court is
    a Crown Court or the derived venue is the Crown Court (indictable-only offences)."""
    found: list[Partner] = []
    if enrichment.cps_area is not None:
        cps = registry.cps_partner(enrichment.cps_area)
        if cps is not None:
            found.append(cps)
    court = enrichment.court_ou
    if court is not None:
        if court.startswith("B"):
            magistrates = registry.court_partner("MAGISTRATES")
            if magistrates is not None:
                found.append(magistrates)
        if court.startswith("C") or enrichment.venue == Venue.CROWN:
            crown = registry.court_partner("CROWN")
            if crown is not None:
                found.append(crown)
    return found
