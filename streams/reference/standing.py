"""In-memory CJS standing data for the stream's validation and enrichment stages.

Every message needs several lookups (court, prosecuting unit, each offence), so the whole
snapshot is read once into dictionaries and shared, read-only, by every worker. The lookup
rules copy the real exchange (Bichard 7) where it has one, so that a message the real
exchange accepts is accepted here too.
"""

from __future__ import annotations

import functools
import gzip
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

# Snapshot layout, shared with the regenerator (tools.standing_data_snapshot).
DATA_DIR = Path(__file__).resolve().parent / "data"
#: Bumped when the snapshot layout changes, so the loader can refuse a stale layout.
FORMAT = 2
FORCES_FILE = "forces.json"
ORGANISATION_UNITS_FILE = "organisation-units.json.gz"
OFFENCES_FILE = "offences.json.gz"
RESULT_CODES_FILE = "result-codes.json"
PLEAS_FILE = "plea-statuses.json"
REMAND_STATUSES_FILE = "remand-statuses.json"
VERDICTS_FILE = "verdicts.json"
TRIGGERS_FILE = "triggers.json"
SOURCE_FILE = "SOURCE.json"
LICENSE_FILE = "LICENSE-bichard7-next-data"

CPS_AREAS_PATH = Path(__file__).resolve().parent / "cps_areas.toml"
CPS_AREAS_VERSION = 1

#: Offence-code qualifiers (standing data ``qualifier.json``): attempt, aid/abet,
#: conspiracy, incite.
QUALIFIERS = frozenset("ABCI")


class CourtKind(StrEnum):
    MAGISTRATES = "MAGISTRATES"
    CROWN = "CROWN"


class ModeOfTrial(StrEnum):
    INDICTABLE_ONLY = "INDICTABLE_ONLY"
    EITHER_WAY = "EITHER_WAY"
    SUMMARY = "SUMMARY"


_COURT_KINDS = {"B": CourtKind.MAGISTRATES, "C": CourtKind.CROWN}
_MODE_OF_TRIAL = {
    "CI": ModeOfTrial.INDICTABLE_ONLY,
    "CE": ModeOfTrial.EITHER_WAY,
    "CS": ModeOfTrial.SUMMARY,
    "CM": ModeOfTrial.SUMMARY,
}


@dataclass(frozen=True, slots=True)
class Force:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class OrganisationUnit:
    """A 6-character police unit (no top level) or a 7-character court or other unit."""

    code: str
    name: str

    @property
    def top_level(self) -> str:
        return self.code[0] if len(self.code) == 7 else ""

    @property
    def second_level(self) -> str:
        return self.code[-6:-4]

    @property
    def third_level(self) -> str:
        return self.code[-4:-2]

    @property
    def bottom_level(self) -> str:
        return self.code[-2:]

    @property
    def is_police(self) -> bool:
        return len(self.code) == 6


@dataclass(frozen=True, slots=True)
class Court:
    code: str
    name: str
    kind: CourtKind
    force_area: str

    @property
    def court_house(self) -> str:
        """Top + second + third level: what identifies the court, whatever the bottom level."""
        return self.code[:5]


@dataclass(frozen=True, slots=True)
class Offence:
    code: str
    title: str
    category: str
    recordable: bool

    @property
    def mode_of_trial(self) -> ModeOfTrial | None:
        """None for categories (breach, civil, fines, ...) that are not criminal charges."""
        return _MODE_OF_TRIAL.get(self.category)

    @property
    def chargeable(self) -> bool:
        return self.category in _MODE_OF_TRIAL


@dataclass(frozen=True, slots=True)
class ResultCode:
    """A CJS result code (``result-code.json``). ``kind`` is the package's type (F final,
    I interim, P penalty/ancillary, blank); ``qualifiers`` the result qualifiers it may carry;
    ``recordable`` is None where the standing data does not say; ``pnc_disposal`` is the
    PNC disposal code it is recorded as (``pnc-disposal.json``, else the code itself)."""

    code: int
    title: str
    kind: str
    qualifiers: frozenset[str]
    recordable: bool | None
    pnc_disposal: int


@dataclass(frozen=True, slots=True)
class Trigger:
    """A PNC update trigger (``trigger-definitions.json``) and the part of its rule that a
    single result decides: its result codes (unless the result carries one of
    ``unless_qualifiers``), or a qualifier alone."""

    code: str
    description: str
    short: str
    pnc_screen: str
    result_codes: frozenset[int]
    unless_qualifiers: frozenset[str]
    qualifiers: frozenset[str]

    def raised_by(self, code: int, qualifiers: Iterable[str]) -> bool:
        given = set(qualifiers)
        if code in self.result_codes:
            return not (given & self.unless_qualifiers)
        return bool(given & self.qualifiers)


@dataclass(frozen=True, slots=True)
class CpsArea:
    """A CPS area; ``confirmed`` says whether the routing to it is confirmed or assumed."""

    id: str
    name: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class SourceInfo:
    package: str
    version: str
    tarball: str
    integrity: str
    shasum: str
    generated: str
    license: str


@dataclass(frozen=True, slots=True, eq=False)
class StandingData:
    """Immutable, shareable lookups over one snapshot; build it with :meth:`load`."""

    source: SourceInfo
    cps_areas_version: int
    _forces: Mapping[str, Force] = field(repr=False)
    _units: Mapping[str, OrganisationUnit] = field(repr=False)
    _unit_fallback: Mapping[str, OrganisationUnit] = field(repr=False)
    _police_prefixes: frozenset[str] = field(repr=False)
    _courts: Mapping[str, Court] = field(repr=False)
    _offences: Mapping[str, Offence] = field(repr=False)
    _areas: tuple[CpsArea, ...] = field(repr=False)
    _court_areas: Mapping[str, CpsArea] = field(repr=False)
    _force_areas: Mapping[str, CpsArea] = field(repr=False)
    _result_codes: Mapping[int, ResultCode] = field(repr=False, default_factory=dict)
    _pleas: Mapping[str, str] = field(repr=False, default_factory=dict)
    _remand_statuses: Mapping[str, str] = field(repr=False, default_factory=dict)
    _verdicts: Mapping[str, str] = field(repr=False, default_factory=dict)
    _triggers: tuple[Trigger, ...] = field(repr=False, default=())
    _excluded_triggers: Mapping[str, frozenset[str]] = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path | None = None, *, cps_areas: Path | None = None) -> StandingData:
        """Load (once per pair of paths, then cached) the snapshot and the CPS routing."""
        data = (data_dir or DATA_DIR).resolve()
        routing = (cps_areas or CPS_AREAS_PATH).resolve()
        return _load_cached(data, routing)

    # -- forces and organisation units ---------------------------------------------------

    def force(self, code: str) -> Force | None:
        return self._forces.get(code)

    def forces(self) -> tuple[Force, ...]:
        return tuple(self._forces.values())

    def organisation_unit(self, code: str) -> OrganisationUnit | None:
        """Exact OU, else the first unit (in standing-data order) with the same top, second
        and third levels: the real exchange's fallback when the bottom level is unknown,
        e.g. ``01ZD01`` resolves to ``01ZD00``.
        """
        key = code.upper()
        if len(key) not in (6, 7):
            return None
        unit = self._units.get(key)
        if unit is None:
            unit = self._unit_fallback.get(key[:-2])
        return unit

    def police_units(self, force: str) -> tuple[OrganisationUnit, ...]:
        """Every police OU of a force (6-character codes whose second level is ``force``)."""
        return tuple(u for u in self._units.values() if u.is_police and u.second_level == force)

    def is_police_unit(
        self, force: str, unit: str, system: str | None = None, *, exact: bool = False
    ) -> bool:
        """Is there a police OU for an ASN (with ``system``) or a URN prefix (without)?

        With ``system`` the OU ``force+unit+system`` is looked up as the real exchange does,
        with the bottom-level fallback, so in practice ``force+unit`` must exist (ASN system
        codes such as ``01`` are rarely OUs of their own); ``exact=True`` demands the very
        OU. Without ``system`` any police unit with that second and third level will do.
        """
        if len(force) != 2 or len(unit) != 2:
            return False
        if system is None:
            return (force + unit).upper() in self._police_prefixes
        if len(system) != 2:
            return False
        code = (force + unit + system).upper()
        found = self._units.get(code) if exact else self.organisation_unit(code)
        return found is not None and found.is_police

    # -- courts and CPS routing ----------------------------------------------------------

    def court(self, code: str) -> Court | None:
        """A magistrates' (B) or Crown Court (C) court house, with the OU bottom-level
        fallback. Force-area placeholder units such as ``B010000`` are not courts.
        """
        unit = self.organisation_unit(code)
        return None if unit is None else self._courts.get(unit.code)

    def courts(self) -> tuple[Court, ...]:
        return tuple(self._courts.values())

    def cps_area_for_court(self, court_code: str) -> CpsArea | None:
        """The CPS area that prosecutes cases heard at this court (None: unknown court or
        no routing row). London courts are routed per court house, the rest by force area.
        """
        court = self.court(court_code)
        return None if court is None else self._court_areas.get(court.code)

    def cps_areas(self) -> tuple[CpsArea, ...]:
        return self._areas

    def cps_area_for_force(self, force_code: str) -> CpsArea | None:
        """The CPS area for a case with no court yet (a pre-charge file): the force's own
        area, or its ``[[pre_charge]]`` row where the force's courts split between areas.
        """
        return self._force_areas.get(force_code)

    # -- offences --------------------------------------------------------------------------

    def offences(self) -> tuple[Offence, ...]:
        return tuple(self._offences.values())

    def offence(self, code: str) -> Offence | None:
        """Exact code, else (as the real exchange does) the code without its qualifier
        letter, so ``TH68010I`` finds ``TH68010`` when no incitement variant is listed.
        Codes are matched case-sensitively, as in the standing data.
        """
        found = self._offences.get(code)
        if found is None and len(code) == 8 and code[-1] in QUALIFIERS:
            found = self._offences.get(code[:7])
        return found

    # -- court results -----------------------------------------------------------------------

    def result_code(self, code: int) -> ResultCode | None:
        return self._result_codes.get(code)

    def result_codes(self) -> tuple[ResultCode, ...]:
        return tuple(self._result_codes.values())

    def plea(self, code: str) -> str | None:
        """The description of a CJS plea code (``plea-status.json``), None if unknown."""
        return self._pleas.get(code)

    def pleas(self) -> tuple[str, ...]:
        return tuple(self._pleas)

    def verdict(self, code: str) -> str | None:
        """The description of a CJS verdict code (``verdict.json``), None if unknown."""
        return self._verdicts.get(code)

    def verdicts(self) -> tuple[str, ...]:
        return tuple(self._verdicts)

    def remand_status(self, code: str) -> str | None:
        """The description of a CJS remand status code (``remand-status.json``)."""
        return self._remand_statuses.get(code)

    def remand_statuses(self) -> tuple[str, ...]:
        return tuple(self._remand_statuses)

    def triggers(self) -> tuple[Trigger, ...]:
        return self._triggers

    def triggers_raised(self, code: int, qualifiers: Iterable[str], force: str) -> list[Trigger]:
        """The triggers one result raises for ``force``, in definition order; a trigger the
        force does not take (``excluded-trigger-config.json``) is not raised for it."""
        excluded = self._excluded_triggers.get(force, frozenset())
        given = tuple(qualifiers)
        return [t for t in self._triggers if t.code not in excluded and t.raised_by(code, given)]

    def __repr__(self) -> str:
        return (
            f"StandingData({self.source.package}@{self.source.version}, "
            f"{len(self._forces)} forces, {len(self._units)} units, "
            f"{len(self._courts)} courts, {len(self._offences)} offences, "
            f"{len(self._result_codes)} result codes, {len(self._triggers)} triggers, "
            f"cps_areas v{self.cps_areas_version})"
        )


@functools.lru_cache(maxsize=8)
def _load_cached(data_dir: Path, cps_areas_path: Path) -> StandingData:
    source = _source(_read_json(data_dir / SOURCE_FILE))
    forces = {code: Force(code, name) for code, name in _read_json(data_dir / FORCES_FILE)}

    units: dict[str, OrganisationUnit] = {}
    fallback: dict[str, OrganisationUnit] = {}
    courts: dict[str, Court] = {}
    for code, name in _read_json(data_dir / ORGANISATION_UNITS_FILE):
        unit = OrganisationUnit(code, name)
        units[code] = unit
        fallback.setdefault(code[:-2], unit)  # first in source order wins
        kind = _COURT_KINDS.get(unit.top_level)
        if kind is not None and unit.second_level != "00" and unit.third_level != "00":
            courts[code] = Court(code, name, kind, unit.second_level)
    police_prefixes = frozenset(code[:4] for code in units if len(code) == 6)

    offences = {
        code: Offence(code, title, category, recordable)
        for code, title, category, recordable in _read_json(data_dir / OFFENCES_FILE)
    }

    version, areas, court_areas, force_areas = _cps_routing(cps_areas_path, courts.values())
    result_codes = {
        code: ResultCode(code, title, kind, frozenset(qualifiers), recordable, disposal)
        for code, title, kind, qualifiers, recordable, disposal in _read_json(
            data_dir / RESULT_CODES_FILE
        )
    }
    trigger_data = _read_json(data_dir / TRIGGERS_FILE)
    triggers = tuple(
        Trigger(
            code=t["code"],
            description=t["description"],
            short=t["short"],
            pnc_screen=t["pnc_screen"],
            result_codes=frozenset(t["result_codes"]),
            unless_qualifiers=frozenset(t["unless_qualifiers"]),
            qualifiers=frozenset(t["qualifiers"]),
        )
        for t in trigger_data["triggers"]
    )
    excluded = {force: frozenset(codes) for force, codes in trigger_data["excluded"].items()}
    return StandingData(
        source=source,
        cps_areas_version=version,
        _forces=MappingProxyType(forces),
        _units=MappingProxyType(units),
        _unit_fallback=MappingProxyType(fallback),
        _police_prefixes=police_prefixes,
        _courts=MappingProxyType(courts),
        _offences=MappingProxyType(offences),
        _areas=areas,
        _court_areas=MappingProxyType(court_areas),
        _force_areas=MappingProxyType(force_areas),
        _result_codes=MappingProxyType(result_codes),
        _pleas=MappingProxyType(dict(_read_json(data_dir / PLEAS_FILE))),
        _remand_statuses=MappingProxyType(dict(_read_json(data_dir / REMAND_STATUSES_FILE))),
        _verdicts=MappingProxyType(dict(_read_json(data_dir / VERDICTS_FILE))),
        _triggers=triggers,
        _excluded_triggers=MappingProxyType(excluded),
    )


def _read_json(path: Path) -> Any:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def _source(raw: Any) -> SourceInfo:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{SOURCE_FILE}: snapshot format is not {FORMAT}; regenerate it")
    return SourceInfo(
        package=str(raw["package"]),
        version=str(raw["version"]),
        tarball=str(raw["tarball"]),
        integrity=str(raw["integrity"]),
        shasum=str(raw["shasum"]),
        generated=str(raw["generated"]),
        license=str(raw["license"]),
    )


def _cps_routing(
    path: Path, courts: Iterable[Court]
) -> tuple[int, tuple[CpsArea, ...], dict[str, CpsArea], dict[str, CpsArea]]:
    """Parse and check the routing TOML, then resolve every court to its area up front."""
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    where = path.name
    if doc.get("version") != CPS_AREAS_VERSION:
        raise ValueError(f"{where}: expected version = {CPS_AREAS_VERSION}")

    names: dict[str, str] = {}
    for row in _rows(doc, "area", {"id", "name"}, set(), where):
        area_id, name = _text(row, "id", where), _text(row, "name", where)
        if area_id in names:
            raise ValueError(f"{where}: duplicate area {area_id!r}")
        names[area_id] = name

    def area_of(row: Mapping[str, Any]) -> str:
        area_id = _text(row, "cps_area", where)
        if area_id not in names:
            raise ValueError(f"{where}: unknown cps_area {area_id!r}")
        return area_id

    by_force: dict[str, tuple[str, bool] | None] = {}
    optional = {"cps_area", "by_court"}
    for row in _rows(doc, "force_area", {"force_area", "confirmed"}, optional, where):
        code = _text(row, "force_area", where)
        if len(code) != 2 or code in by_force:
            raise ValueError(f"{where}: bad or duplicate force_area {code!r}")
        if row.get("by_court", False) is True:
            if "cps_area" in row:
                raise ValueError(f"{where}: force_area {code} has both by_court and cps_area")
            by_force[code] = None
        elif "cps_area" not in row:
            raise ValueError(f"{where}: force_area {code} needs cps_area or by_court = true")
        else:
            by_force[code] = (area_of(row), _flag(row, "confirmed", where))

    by_house: dict[str, tuple[str, bool]] = {}
    for row in _rows(doc, "court", {"court", "cps_area", "confirmed"}, set(), where):
        house = _text(row, "court", where).upper()
        if len(house) != 5 or house[0] not in _COURT_KINDS or house in by_house:
            raise ValueError(f"{where}: bad or duplicate court {house!r}")
        by_house[house] = (area_of(row), _flag(row, "confirmed", where))

    # One shared CpsArea per (area, confirmed) pair; an area is confirmed only if every
    # routing row leading to it is.
    instances = {
        (area_id, confirmed): CpsArea(area_id, name, confirmed)
        for area_id, name in names.items()
        for confirmed in (True, False)
    }
    routes = [r for r in by_force.values() if r is not None] + list(by_house.values())
    areas: list[CpsArea] = []
    for area_id in names:
        flags = [confirmed for routed_to, confirmed in routes if routed_to == area_id]
        areas.append(instances[area_id, bool(flags) and all(flags)])
    court_areas: dict[str, CpsArea] = {}
    for court in courts:
        route = by_house.get(court.court_house) or by_force.get(court.force_area)
        if route is not None:
            court_areas[court.code] = instances[route]
    force_areas = {code: instances[route] for code, route in by_force.items() if route}
    for row in _rows(doc, "pre_charge", {"force", "cps_area", "confirmed"}, set(), where):
        force_areas[_text(row, "force", where)] = instances[
            area_of(row), _flag(row, "confirmed", where)
        ]
    return int(doc["version"]), tuple(areas), court_areas, force_areas


def _rows(
    doc: Mapping[str, Any], table: str, required: set[str], optional: set[str], where: str
) -> list[Mapping[str, Any]]:
    rows = doc.get(table, [])
    if not isinstance(rows, list):
        raise ValueError(f"{where}: [[{table}]] must be an array of tables")
    for row in rows:
        keys = set(row)
        if not required <= keys or not keys <= required | optional:
            raise ValueError(f"{where}: [[{table}]] row {row!r} needs keys {sorted(required)}")
    return rows


def _text(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {key} must be a non-empty string in {row!r}")
    return value


def _flag(row: Mapping[str, Any], key: str, where: str) -> bool:
    value = row[key]
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {key} must be true or false in {row!r}")
    return value
