"""What the exchange remembers about each case so later events reach the same partners.

A charge names the court; a later bail variation or document upload does not. The directory
keeps, per case, the court, CPS area and venue last learned (in the case's key), and for
recent sequence numbers the route that was known just before each was released, so an event
released again after a restart is routed exactly as the first time, even when the stored
route already reflects later events.

It also remembers who was charged on the case (each ASN, its earliest charge date and its
offences by sequence number, with their codes), learned when a charge is delivered: a court's
results may only speak of defendants and offences the exchange saw charged (streams/results.py).
Results are keyed by case URN on court ingest topics with the ingest topics' partition count,
so the case's key lives in the same partition of the worker's table for both directions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from streams.state import KeyValueStore

_HISTORY = 64


@dataclass(frozen=True, slots=True)
class CaseRoute:
    court_ou: str | None
    cps_area: str | None
    venue: str | None


@dataclass(frozen=True, slots=True)
class ChargedDefendant:
    """What the exchange delivered about one defendant's charges on a case."""

    charged_on: date
    """The earliest charge date: no hearing of the defendant's results is before it."""
    offences: Mapping[int, str]
    """Offence sequence number → offence code, over every charge of the defendant."""


@dataclass(slots=True)
class CaseMemory:
    route: CaseRoute | None = None
    history: dict[int, CaseRoute | None] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict, repr=False)
    """The case key's whole value as read (the ordering state beside the route), so saving
    does not read and parse it again."""
    charged: dict[str, list[Any]] = field(default_factory=dict)
    """By ASN: ``[charge date (ISO), {sequence: offence code}]`` (field ``ch``)."""

    def remember_charge(self, asn: str, charged_on: date, offences: Mapping[int, str]) -> None:
        """Add a delivered charge: the earliest date stays, offences accumulate (a charge
        replayed after a restart changes nothing)."""
        before = self.charged.get(asn)
        earliest = charged_on.isoformat()
        known: dict[str, str] = {}
        if before is not None:
            earliest = min(earliest, before[0])
            known = dict(before[1])
        known.update({str(seq): code for seq, code in offences.items()})
        self.charged[asn] = [earliest, known]

    def charges(self) -> Mapping[str, ChargedDefendant]:
        """Every defendant charged on the case, by ASN."""
        return MappingProxyType(
            {
                asn: ChargedDefendant(
                    date.fromisoformat(day), {int(seq): code for seq, code in offences.items()}
                )
                for asn, (day, offences) in self.charged.items()
            }
        )

    def known_before(self, sequence: int, *, replay: bool) -> CaseRoute | None:
        """The route to enrich event ``sequence`` with (recorded on its first release)."""
        if replay and sequence in self.history:
            return self.history[sequence]
        self.history[sequence] = self.route
        return self.route


def _encode(route: CaseRoute | None) -> list[str | None] | None:
    return None if route is None else [route.court_ou, route.cps_area, route.venue]


def _decode(raw: list[str | None] | None) -> CaseRoute | None:
    return None if raw is None else CaseRoute(*raw)


class CaseDirectory:
    """Keeps a case's route and charges inside the case's ordering state (key
    ``case:<urn>``, fields ``rt``, ``rh`` and ``ch``): they change together, so one key means
    one state write."""

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store

    def get(self, urn: str) -> CaseMemory:
        raw = self.store.get(f"case:{urn}")
        data = json.loads(raw) if raw is not None else {}
        history = {int(k): _decode(v) for k, v in data.get("rh", {}).items()}
        return CaseMemory(_decode(data.get("rt")), history, data, dict(data.get("ch", {})))

    def save(self, urn: str, memory: CaseMemory) -> None:
        """Write ``memory`` back into the case key it was read from (``get`` and ``save``
        of one case must not be interleaved with another write of the same key)."""
        key = f"case:{urn}"
        data = memory.stored
        recent = sorted(memory.history)[-_HISTORY:]
        data["rt"] = _encode(memory.route)
        data["rh"] = {str(k): _encode(memory.history[k]) for k in recent}
        if memory.charged:
            data["ch"] = memory.charged
        self.store.put(key, json.dumps(data).encode())
