"""Real lookups against the shipped standing-data snapshot (no npm, no network)."""

from __future__ import annotations

import dataclasses
import json
import time
import tomllib
from pathlib import Path

import pytest

from streams.reference import CourtKind, CpsArea, ModeOfTrial, StandingData
from streams.reference.standing import CPS_AREAS_PATH, DATA_DIR, LICENSE_FILE, SOURCE_FILE
from tools.standing_data_snapshot import PACKAGE, PINNED_VERSION


@pytest.fixture(scope="module")
def sd() -> StandingData:
    return StandingData.load()


def _toml() -> dict[str, object]:
    with CPS_AREAS_PATH.open("rb") as fh:
        return tomllib.load(fh)


# -- snapshot provenance -------------------------------------------------------------------


def test_source_matches_pinned_version(sd: StandingData) -> None:
    raw = json.loads((DATA_DIR / SOURCE_FILE).read_text(encoding="utf-8"))
    assert raw["version"] == PINNED_VERSION
    assert raw["package"] == PACKAGE
    assert sd.source.version == PINNED_VERSION
    assert sd.source.package == PACKAGE
    assert sd.source.integrity.startswith("sha512-")
    assert len(sd.source.shasum) == 40


def test_licence_notice_is_shipped() -> None:
    text = (DATA_DIR / LICENSE_FILE).read_text(encoding="utf-8")
    assert "MIT" in text
    assert "Permission is hereby granted" in text


def test_load_is_cached_fast_and_immutable(sd: StandingData) -> None:
    start = time.perf_counter()
    again = StandingData.load(DATA_DIR)
    assert time.perf_counter() - start < 0.05
    assert again is sd
    with pytest.raises(dataclasses.FrozenInstanceError):
        sd.source = sd.source  # type: ignore[misc]
    court = sd.court("B01EF00")
    assert court is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        court.name = "x"  # type: ignore[misc]


# -- forces and organisation units -----------------------------------------------------------


def test_forces(sd: StandingData) -> None:
    btp = sd.force("93")
    assert btp is not None
    assert btp.name == "BTP"
    assert sd.force("01") is not None
    assert sd.force("48") is not None
    assert sd.force("XX") is None
    codes = [f.code for f in sd.forces()]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 2 and c.isdigit() for c in codes)


def test_police_unit_croydon(sd: StandingData) -> None:
    unit = sd.organisation_unit("01ZD00")
    assert unit is not None
    assert unit.is_police
    assert (unit.top_level, unit.second_level, unit.third_level, unit.bottom_level) == (
        "",
        "01",
        "ZD",
        "00",
    )
    assert "CROYDON" in unit.name


def test_organisation_unit_bottom_level_fallback(sd: StandingData) -> None:
    # 01ZD01 is not an OU of its own: the first 01ZD unit stands in for it.
    fallback = sd.organisation_unit("01ZD01")
    assert fallback is not None
    assert fallback.code == "01ZD00"
    court = sd.organisation_unit("b01ef99")
    assert court is not None
    assert court.code == "B01EF00"
    assert sd.organisation_unit("01QQ00") is None
    assert sd.organisation_unit("01ZD0") is None


def test_is_police_unit_for_asn_and_urn(sd: StandingData) -> None:
    # ASN 1101ZD0100000448754K: FF=01, UU=ZD, SS=01 (resolved through the fallback).
    assert sd.is_police_unit("01", "ZD", "01")
    assert sd.is_police_unit("01", "ZD", "00", exact=True)
    assert not sd.is_police_unit("01", "ZD", "01", exact=True)
    # URN 01ZD0305408: prefix only.
    assert sd.is_police_unit("01", "ZD")
    assert not sd.is_police_unit("01", "QQ")
    assert not sd.is_police_unit("01", "QQ", "00")
    # A court house is not a police unit, even with matching second and third levels.
    assert not sd.is_police_unit("01", "EF")
    assert not sd.is_police_unit("1", "ZD")


# -- courts and CPS areas --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "kind", "force_area", "area"),
    [
        ("B01EF00", "Croydon", CourtKind.MAGISTRATES, "01", "london-south"),
        ("C01CE00", "Central Criminal Court", CourtKind.CROWN, "01", "london-north"),
        ("C06MC00", "Manchester", CourtKind.CROWN, "06", "north-west"),
    ],
)
def test_known_courts(
    sd: StandingData, code: str, name: str, kind: CourtKind, force_area: str, area: str
) -> None:
    court = sd.court(code)
    assert court is not None
    assert (court.code, court.name, court.kind, court.force_area) == (code, name, kind, force_area)
    routed = sd.cps_area_for_court(code)
    assert routed is not None
    assert routed.id == area


def test_court_lookup_rules(sd: StandingData) -> None:
    fallback = sd.court("B01EF01")
    assert fallback is not None
    assert fallback.code == "B01EF00"
    assert sd.court("01ZD00") is None  # police unit
    assert sd.court("B010000") is None  # force-area placeholder, not a court house
    assert sd.court("B01ZZ00") is None
    assert sd.cps_area_for_court("B01ZZ00") is None


def test_confirmed_grouping_is_marked_confirmed(sd: StandingData) -> None:
    liverpool = next(c for c in sd.courts() if c.force_area == "05")
    area = sd.cps_area_for_court(liverpool.code)
    assert area == CpsArea("mersey-cheshire", "Mersey-Cheshire", confirmed=True)


def test_every_court_maps_to_a_cps_area(sd: StandingData) -> None:
    courts = sd.courts()
    assert len(courts) > 300
    assert {c.kind for c in courts} == {CourtKind.MAGISTRATES, CourtKind.CROWN}
    unmapped = [c.code for c in courts if sd.cps_area_for_court(c.code) is None]
    assert unmapped == []


def test_every_cps_area_is_reachable(sd: StandingData) -> None:
    reached = {area.id for c in sd.courts() if (area := sd.cps_area_for_court(c.code))}
    assert reached == {a.id for a in sd.cps_areas()}


def test_toml_has_exactly_14_cps_areas(sd: StandingData) -> None:
    doc = _toml()
    assert doc["version"] == 1
    areas = doc["area"]
    assert isinstance(areas, list)
    assert len(areas) == 14
    assert len(sd.cps_areas()) == 14
    assert len({a.id for a in sd.cps_areas()}) == 14


def test_toml_court_rows_name_real_court_houses(sd: StandingData) -> None:
    houses = {c.court_house for c in sd.courts()}
    rows = _toml()["court"]
    assert isinstance(rows, list)
    assert [r["court"] for r in rows if r["court"] not in houses] == []
    # The London split is derived here, so it must stay marked unconfirmed.
    assert all(r["confirmed"] is False for r in rows)


def test_every_force_area_with_courts_has_a_row(sd: StandingData) -> None:
    rows = _toml()["force_area"]
    assert isinstance(rows, list)
    assert {c.force_area for c in sd.courts()} <= {r["force_area"] for r in rows}


def test_london_is_split_by_court(sd: StandingData) -> None:
    london = {sd.cps_area_for_court(c.code) for c in sd.courts() if c.force_area == "01"}
    assert {a.id for a in london if a} == {"london-north", "london-south"}
    assert all(a is not None and not a.confirmed for a in london)


# -- offences --------------------------------------------------------------------------------


def test_theft_from_a_shop(sd: StandingData) -> None:
    theft = sd.offence("TH68010")
    assert theft is not None
    assert theft.title == "Theft from a shop"
    assert theft.category == "CE"
    assert theft.mode_of_trial is ModeOfTrial.EITHER_WAY
    assert theft.recordable is True
    assert theft.chargeable


def test_murder_is_indictable_only(sd: StandingData) -> None:
    murder = sd.offence("COML025")
    assert murder is not None
    assert murder.title.startswith("Murder")
    assert murder.category == "CI"
    assert murder.mode_of_trial is ModeOfTrial.INDICTABLE_ONLY
    assert murder.recordable


def test_legacy_uninsured_code_as_the_data_says(sd: StandingData) -> None:
    # domain.md calls RT88191 retired, but the pinned data still lists it, like RA88001.
    legacy = sd.offence("RT88191")
    current = sd.offence("RA88001")
    assert legacy is not None
    assert current is not None
    assert legacy.title == current.title
    assert legacy.category == "CM"
    assert legacy.mode_of_trial is ModeOfTrial.SUMMARY
    assert legacy.recordable is False


def test_qualifier_is_stripped_only_when_needed(sd: StandingData) -> None:
    attempt = sd.offence("TH68010A")
    assert attempt is not None
    assert attempt.code == "TH68010A"  # listed in its own right
    incite = sd.offence("TH68010I")
    assert incite is not None
    assert incite.code == "TH68010"  # not listed: falls back to the base code
    assert sd.offence("TH68010X") is None  # X is no qualifier
    assert sd.offence("ZZ99999") is None
    assert sd.offence("ZZ99999A") is None


def test_non_charge_categories_have_no_mode_of_trial(sd: StandingData) -> None:
    bichard_only = sd.offence("0101AP001")  # category B7: ignored by the real exchange
    assert bichard_only is not None
    assert bichard_only.category == "B7"
    assert bichard_only.mode_of_trial is None
    assert not bichard_only.chargeable


def test_data_dir_argument_is_honoured(tmp_path: Path) -> None:
    for item in DATA_DIR.iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    other = StandingData.load(tmp_path)
    assert other is not StandingData.load()
    assert other.source.version == PINNED_VERSION
