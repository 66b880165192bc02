"""What the exchange remembers about each case so later events reach the same partners.

A charge names the court; a later bail variation or document upload does not. The directory
keeps, per case, the court, CPS area and venue last learned, in the same partitioned store
as the other stages (key ``route:<urn>``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from streams.state import KeyValueStore


@dataclass(frozen=True, slots=True)
class CaseRoute:
    court_ou: str | None
    cps_area: str | None
    venue: str | None


class CaseDirectory:
    def __init__(self, store: KeyValueStore) -> None:
        self.store = store

    def get(self, urn: str) -> CaseRoute | None:
        raw = self.store.get(f"route:{urn}")
        return None if raw is None else CaseRoute(**json.loads(raw))

    def remember(self, urn: str, route: CaseRoute) -> None:
        if self.get(urn) != route:
            self.store.put(f"route:{urn}", json.dumps(asdict(route)).encode())
