"""Load the partner registry (``registry.toml``): who the parties to the exchange are."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

REGISTRY_FILE = Path(__file__).with_name("registry.toml")

PartnerKind = Literal["cps", "court"]


@dataclass(frozen=True, slots=True)
class Force:
    """A police force that publishes case-file events."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Partner:
    """A recipient of deliveries: a CPS area or a court tier."""

    id: str
    kind: PartnerKind
    name: str
    cps_area: str | None = None
    court_kind: str | None = None


@dataclass(frozen=True, slots=True)
class CourtPublisher:
    """An HMCTS court system that publishes court results, bound to the court houses it may
    publish for: ``court_houses`` are OU prefixes (``B05`` every magistrates' court of force
    area 05, ``C05LV`` one Crown Court house). Its registry id is its principal."""

    id: str
    name: str
    court_houses: tuple[str, ...]

    def binds(self, court_ou: str) -> bool:
        """May this publisher publish results of a hearing at ``court_ou``?"""
        code = court_ou.upper()
        return any(code.startswith(prefix) for prefix in self.court_houses)


@dataclass(frozen=True, slots=True)
class Principal:
    """An exchange service or an operator (no topic of their own)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Registry:
    """Every force, partner, service and operator, in registry order."""

    version: int
    forces: tuple[Force, ...]
    partners: tuple[Partner, ...]
    services: tuple[Principal, ...]
    operators: tuple[Principal, ...]
    courts: tuple[CourtPublisher, ...] = ()
    """Court publishers (results flow from them back to forces and the CPS)."""

    def force(self, code: str) -> Force | None:
        return next((f for f in self.forces if f.code == code), None)

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def cps_partner(self, cps_area: str) -> Partner | None:
        return next((p for p in self.partners if p.cps_area == cps_area), None)

    def court_partner(self, court_kind: str) -> Partner | None:
        return next((p for p in self.partners if p.court_kind == court_kind), None)

    def court(self, publisher_id: str) -> CourtPublisher | None:
        return next((c for c in self.courts if c.id == publisher_id), None)

    def limited_to(self, force_codes: list[str]) -> Registry:
        """The same registry with only some forces: smaller topic sets for tests and demos."""
        wanted = set(force_codes)
        return Registry(
            version=self.version,
            forces=tuple(f for f in self.forces if f.code in wanted),
            partners=self.partners,
            services=self.services,
            operators=self.operators,
            courts=self.courts,
        )


@cache
def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    """Parse the registry file; cached because it is read-only for the process's life."""
    data = tomllib.loads(path.read_text())
    return Registry(
        version=int(data["version"]),
        forces=tuple(Force(code=f["code"], name=f["name"]) for f in data["force"]),
        partners=tuple(
            Partner(
                id=p["id"],
                kind=p["kind"],
                name=p["name"],
                cps_area=p.get("cps_area"),
                court_kind=p.get("court_kind"),
            )
            for p in data["partner"]
        ),
        services=tuple(Principal(id=s["id"], name=s["name"]) for s in data.get("service", [])),
        operators=tuple(Principal(id=o["id"], name=o["name"]) for o in data.get("operator", [])),
        courts=tuple(
            CourtPublisher(
                id=c["id"], name=c["name"], court_houses=tuple(str(h) for h in c["court_houses"])
            )
            for c in data.get("court", [])
        ),
    )
