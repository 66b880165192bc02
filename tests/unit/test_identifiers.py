"""Identifier checks against the published examples in shared/domain.md section 1.

All values are synthetic or published test fixtures; none identifies a real person.
"""

from __future__ import annotations

import pytest

import schemas.identifiers as ids
from schemas.identifiers import (
    AsnParts,
    IdCheck,
    IdKind,
    OuParts,
    asn_parts,
    build_asn,
    build_cro,
    build_pnc_id,
    check,
    check_asn,
    check_cro,
    check_letter,
    check_offence_code,
    check_ou,
    check_pnc_id,
    check_urn,
    ou_parts,
    urn_force,
    urn_unit,
)
from schemas.identifiers.checkchar import CHECK_ALPHABET
from schemas.reasons import GUIDANCE, ReasonCode


def assert_valid(result: IdCheck, normalized: str) -> None:
    assert result.reason is None, result.reason
    assert result.valid
    assert result.normalized == normalized


def assert_reason(result: IdCheck, code: ReasonCode) -> str:
    """Assert the result was rejected with ``code``; return the message for further checks."""
    assert not result.valid
    assert result.reason is not None
    assert result.reason.code is code, result.reason
    assert result.reason.hint == GUIDANCE[code].correction
    assert result.reason.message
    return result.reason.message


# --- public surface -------------------------------------------------------------------------


def test_public_surface_is_exactly_the_documented_api() -> None:
    assert set(ids.__all__) == {
        "AsnParts",
        "IdCheck",
        "IdKind",
        "OuParts",
        "asn_parts",
        "build_asn",
        "build_cro",
        "build_pnc_id",
        "check",
        "check_asn",
        "check_cro",
        "check_letter",
        "check_offence_code",
        "check_ou",
        "check_pnc_id",
        "check_urn",
        "ou_parts",
        "urn_force",
        "urn_unit",
    }
    for name in ids.__all__:
        assert hasattr(ids, name)


def test_id_kind_values() -> None:
    assert [k.value for k in IdKind] == ["asn", "pnc", "cro", "urn", "ou", "offence"]


# --- check alphabet -------------------------------------------------------------------------


def test_check_alphabet_matches_domain_table() -> None:
    table = list("ZABCDEFGHJKLMNPQRTUVWXY")  # the table in domain.md section 1
    assert [check_letter(n) for n in range(23)] == table
    assert "".join(table) == CHECK_ALPHABET
    assert not set("IOS") & set(CHECK_ALPHABET)


def test_check_letter_wraps_mod_23() -> None:
    assert check_letter(23) == "Z"
    assert check_letter(24 + 23 * 1000) == "A"


def test_check_letter_refuses_negative_numbers() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        check_letter(-1)


# --- ASN ------------------------------------------------------------------------------------

PUBLISHED_ASNS = [
    "1101ZD0100000448754K",
    "1101ZD0100000410801G",
    "1101ZD0100000410846F",
    "1401ZD0100000449852A",
    "1201ZD0100000445099L",
]


@pytest.mark.parametrize("asn", PUBLISHED_ASNS)
def test_published_asn_examples_are_valid(asn: str) -> None:
    assert_valid(check_asn(asn), asn)


@pytest.mark.parametrize(
    ("without_letter", "letter"),
    [
        ("2202XC0200000000021", "R"),
        ("2005FF0500000000555", "P"),
        ("9700000000000123456", "K"),
    ],
)
def test_published_asn_check_letters(without_letter: str, letter: str) -> None:
    assert_valid(check_asn(without_letter + letter), without_letter + letter)
    for other in CHECK_ALPHABET.replace(letter, ""):
        assert_reason(check_asn(without_letter + other), ReasonCode.ASN_CHECK_CHARACTER)


def test_build_asn_reproduces_published_check_letters() -> None:
    assert build_asn(22, "02", "XC", "02", 21) == "2202XC0200000000021R"
    assert build_asn(2020, "05", "FF", "05", 555) == "2005FF0500000000555P"
    assert build_asn(97, "00", "00", "00", 123456) == "9700000000000123456K"
    assert build_asn(11, "01", "ZD", "01", 448754) == "1101ZD0100000448754K"


def test_published_short_asn_normalises_to_long_form() -> None:
    assert_valid(check_asn("11/01ZD/01/448754K"), "1101ZD0100000448754K")


@pytest.mark.parametrize(
    "text",
    [
        "  1101ZD0100000448754K \n",
        "1101zd0100000448754k",
        "11 01 ZD 01 00000448754 K",
        "11/01zd/01/448754k",
        "11/01ZD/01/00000448754K",
        " 11 / 01ZD / 01 / 448754K ",
        "11B01ZD0100000448754K",  # 21-character variant: top-level OU character after the year
        "119 01ZD0100000448754K",
    ],
)
def test_asn_accepted_spellings_normalise_to_long_form(text: str) -> None:
    assert_valid(check_asn(text), "1101ZD0100000448754K")


def test_asn_wrong_check_letter_names_expected_letter_and_keeps_normalised_form() -> None:
    result = check_asn("11/01ZD/01/448754J")
    message = assert_reason(result, ReasonCode.ASN_CHECK_CHARACTER)
    assert "'K'" in message
    assert "'J'" in message
    assert result.normalized == "1101ZD0100000448754J"
    assert result.reason is not None
    assert result.reason.field == "asn"


@pytest.mark.parametrize("letter", ["I", "O", "S"])
def test_asn_letters_never_used_as_check_letters(letter: str) -> None:
    result = check_asn("1101ZD0100000448754" + letter)
    message = assert_reason(result, ReasonCode.ASN_CHECK_CHARACTER)
    assert "never a check letter" in message
    assert "'K'" in message


def test_asn_unit_code_is_not_part_of_the_check() -> None:
    assert check_asn("1101AB0100000448754K").valid
    assert check_asn("1101990100000448754K").valid


def test_asn_force_and_system_codes_count_only_when_numeric() -> None:
    # With a lettered force and system code only YY + sequence is checked.
    letter = check_letter(int("11" + "00000448754"))
    assert check_asn("11AAZDBB00000448754" + letter).valid
    assert build_asn(11, "AA", "ZD", "BB", 448754).endswith(letter)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1101ZD010000044875K", "19 characters (the check letter may be missing)"),
        ("1101ZD0100000448754", "19 characters"),
        ("1101ZD01000004487541", "check letter must be a letter"),
        ("1101ZD010000044875AK", "sequence must be 11 digits"),
        ("X101ZD0100000448754K", "year must be 2 digits"),
        ("11#1ZD0100000448754K", "force code"),
        ("1101Z-0100000448754K", "unit code"),
        ("1101ZD0_00000448754K", "system code"),
        ("11-01ZD0100000448754K", "top-level OU letter or digit"),
        ("1101ZD01000004487540000K", "24 characters"),
        ("11/01ZD/01448754K", "2 slashes"),
        ("1/01ZD/01/448754K", "year"),
        ("11/01Z/01/448754K", "FFUU"),
        ("11/01ZD/1/448754K", "system code"),
        ("11/01ZD/01/448754", "check letter"),
        ("11/01ZD/01/K", "1 to 11 digits"),
        ("11/01ZD/01/000000448754K", "1 to 11 digits"),
        ("\u0663\u066101ZD0100000448754K", "ASCII"),  # Arabic-Indic digits pass str.isdigit
        ("\uff11\uff1101ZD0100000448754K", "ASCII"),  # full-width digits
    ],
)
def test_asn_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_asn(text)
    message = assert_reason(result, ReasonCode.ASN_FORMAT)
    assert fragment in message
    assert result.normalized is None


def test_asn_field_is_reported() -> None:
    result = check_asn("nonsense", field="defendant.asn")
    assert result.reason is not None
    assert result.reason.field == "defendant.asn"


def test_asn_parts_of_long_and_short_forms() -> None:
    expected = AsnParts("11", "01", "ZD", "01", "00000448754", "K")
    assert asn_parts("1101ZD0100000448754K") == expected
    assert asn_parts("11/01ZD/01/448754K") == expected
    assert expected.police_ou == "01ZD01"
    assert expected.long_form == "1101ZD0100000448754K"
    assert expected.expected_check == "K"


def test_asn_parts_does_not_verify_the_check_letter() -> None:
    # The unit lookup can still run, and report alongside, when only the letter is wrong.
    assert asn_parts("1101ZD0100000448754J").police_ou == "01ZD01"


@pytest.mark.parametrize("text", ["", "1101ZD01", "01ZD0305408", "\u0663" * 20])
def test_asn_parts_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="ASN"):
        asn_parts(text)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((100000, "01", "ZD", "01", 1), "year"),
        ((-1, "01", "ZD", "01", 1), "year"),
        ((11, "1", "ZD", "01", 1), "force"),
        ((11, "01", "zd", "01", 1), "unit"),
        ((11, "01", "ZD", "0\u0663", 1), "system"),
        ((11, "01", "ZD", "01", 10**11), "sequence"),
        ((11, "01", "ZD", "01", -1), "sequence"),
    ],
)
def test_build_asn_refuses_what_would_not_be_an_asn(
    args: tuple[int, str, str, str, int], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_asn(*args)


# --- PNC ID ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pnc_id",
    ["2001/0171310W", "2011/0275516Q", "2008/0056560Z", "2003/0062845E", "1981/0154257C"],
)
def test_published_pnc_ids_are_valid(pnc_id: str) -> None:
    assert_valid(check_pnc_id(pnc_id), pnc_id)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("20030011985X", "2003/0011985X"),
        ("20120052494Q", "2012/0052494Q"),
        ("20230583843L", "2023/0583843L"),
    ],
)
def test_published_pnc_ids_without_slash_normalise(text: str, normalized: str) -> None:
    assert_valid(check_pnc_id(text), normalized)


def test_pnc_id_spelling_is_forgiven() -> None:
    assert_valid(check_pnc_id(" 2001/0171310w "), "2001/0171310W")
    assert_valid(check_pnc_id("2001 / 0171310 W"), "2001/0171310W")


def test_build_pnc_id_reproduces_published_examples() -> None:
    assert build_pnc_id(2001, 171310) == "2001/0171310W"
    assert build_pnc_id(1981, 154257) == "1981/0154257C"
    assert build_pnc_id(2003, 11985) == "2003/0011985X"


def test_legacy_short_pnc_id_normalises_with_padded_serial() -> None:
    letter = check_letter(int("79" + "0123456"))
    assert_valid(check_pnc_id(f"79/123456{letter}", current_year=2025), f"1979/0123456{letter}")


def test_published_legacy_pnc_form_parses_but_its_letter_does_not_match() -> None:
    # domain.md gives 79/123456Z as an illustration of the legacy layout, not as a valid ID.
    result = check_pnc_id("79/123456Z", current_year=2025)
    message = assert_reason(result, ReasonCode.PNC_ID_CHECK_CHARACTER)
    assert result.normalized == "1979/0123456Z"
    assert f"'{check_letter(790123456)}'" in message


@pytest.mark.parametrize(
    ("two_digits", "current_year", "year"),
    [
        ("25", 2025, "2025"),
        ("26", 2025, "1926"),
        ("00", 2025, "2000"),
        ("99", 2025, "1999"),
        ("26", 2026, "2026"),
    ],
)
def test_legacy_pnc_century_pivots_on_the_current_year(
    two_digits: str, current_year: int, year: str
) -> None:
    serial = "0000042"
    letter = check_letter(int(two_digits + serial))
    result = check_pnc_id(f"{two_digits}/42{letter}", current_year=current_year)
    assert_valid(result, f"{year}/{serial}{letter}")


def test_legacy_pnc_without_current_year_uses_today() -> None:
    letter = check_letter(int("79" + "0000042"))
    assert_valid(check_pnc_id(f"79/42{letter}"), f"1979/0000042{letter}")


def test_pnc_wrong_check_letter_names_expected_letter() -> None:
    result = check_pnc_id("2001/0171310X")
    message = assert_reason(result, ReasonCode.PNC_ID_CHECK_CHARACTER)
    assert "'W'" in message
    assert result.normalized == "2001/0171310X"


def test_pnc_century_is_not_part_of_the_check() -> None:
    assert check_pnc_id("1901/0171310W").valid


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("2001/0171310", "check letter"),
        ("2001/171310W", "6 digits"),
        ("2001/01713100W", "8 digits"),
        ("201/0171310W", "year"),
        ("2001/01713A0W", "digits only"),
        ("2001/W", "no serial"),
        ("2001//0171310W", "more than one slash"),
        ("79/12345678Z", "8 digits"),
        ("\u0662\u0660\u0660\u0661/0171310W", "ASCII"),
    ],
)
def test_pnc_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_pnc_id(text)
    message = assert_reason(result, ReasonCode.PNC_ID_FORMAT)
    assert fragment in message
    assert result.normalized is None


@pytest.mark.parametrize(("year", "serial"), [(999, 1), (10000, 1), (2001, -1), (2001, 10**7)])
def test_build_pnc_id_refuses_bad_parts(year: int, serial: int) -> None:
    with pytest.raises(ValueError, match="PNC ID"):
        build_pnc_id(year, serial)


# --- CRO number -----------------------------------------------------------------------------


@pytest.mark.parametrize("cro", ["265416/21G", "056810/65Y"])
def test_published_cro_numbers_are_valid(cro: str) -> None:
    assert_valid(check_cro(cro), cro)


def test_published_invalid_cro_names_l_as_expected_letter() -> None:
    result = check_cro("85227/65G")
    message = assert_reason(result, ReasonCode.CRO_CHECK_CHARACTER)
    assert "'L'" in message
    assert result.normalized == "085227/65G"
    assert_valid(check_cro("85227/65L"), "085227/65L")


@pytest.mark.parametrize("cro", ["SF05/482703J", "SF83/50058Z"])
def test_published_small_format_cro_numbers_are_valid(cro: str) -> None:
    assert_valid(check_cro(cro), cro)


def test_small_format_serial_is_kept_as_written() -> None:
    assert_valid(check_cro(" sf83/50058z "), "SF83/50058Z")
    # Padding would change the number the letter is computed over.
    letter = check_letter(int("83" + "050058"))
    assert letter != "Z"
    assert_valid(check_cro(f"SF83/050058{letter}"), f"SF83/050058{letter}")


def test_build_cro_reproduces_published_examples() -> None:
    assert build_cro(265416, 21) == "265416/21G"
    assert build_cro(56810, 1965) == "056810/65Y"
    assert build_cro(85227, 65) == "085227/65L"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("265416/21", "check letter"),
        ("26541621G", "one slash"),
        ("265416/2/1G", "one slash"),
        ("265416/2G", "year"),
        ("1234567/21G", "serial"),
        ("/21G", "serial"),
        ("SF/482703J", "year"),
        ("SF05/1234567J", "serial"),
        ("\u017ff05/482703J", "ASCII"),  # long s upper-cases to S: must not become SF
    ],
)
def test_cro_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_cro(text)
    message = assert_reason(result, ReasonCode.CRO_FORMAT)
    assert fragment in message
    assert result.normalized is None


@pytest.mark.parametrize(("serial", "year"), [(-1, 21), (10**6, 21), (1, -1), (1, 10000)])
def test_build_cro_refuses_bad_parts(serial: int, year: int) -> None:
    with pytest.raises(ValueError, match="CRO"):
        build_cro(serial, year)


# --- URN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["01ZD0305408", " 01zd0305408 ", "01 ZD 03054 08", "01/ZD/0305408", "01-ZD-03054-08"],
)
def test_urn_normalises_case_and_separators(text: str) -> None:
    assert_valid(check_urn(text), "01ZD0305408")


@pytest.mark.parametrize("text", ["01ZD123", "0199123", "01ZD1234567"])
def test_urn_accepts_3_to_7_digits(text: str) -> None:
    assert_valid(check_urn(text), text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("1ZD0305408", "2-digit force code"),
        ("AB120305408", "2-digit force code"),
        ("01Z.0305408", "unit code"),
        ("01ZD03054A8", "only digits"),
        ("01ZD12", "2 digits after"),
        ("01ZD12345678", "8 digits after"),
        ("01ZD\u0663\u0663\u0663", "ASCII"),
    ],
)
def test_urn_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_urn(text)
    message = assert_reason(result, ReasonCode.URN_FORMAT)
    assert fragment in message
    assert result.normalized is None


def test_urn_force_and_unit() -> None:
    assert urn_force("01ZD0305408") == "01"
    assert urn_unit("01ZD0305408") == "ZD"
    assert urn_force("93 bt 12345") == "93"
    assert urn_unit("93 bt 12345") == "BT"


@pytest.mark.parametrize("text", ["", "01ZD", "ZZ010305408"])
def test_urn_force_and_unit_refuse_malformed_urns(text: str) -> None:
    with pytest.raises(ValueError, match="URN"):
        urn_force(text)
    with pytest.raises(ValueError, match="URN"):
        urn_unit(text)


# --- OU codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "parts", "is_court"),
    [
        ("B01EF00", OuParts("B", "01", "EF", "00"), True),
        ("C01CE00", OuParts("C", "01", "CE", "00"), True),
        ("C06MC00", OuParts("C", "06", "MC", "00"), True),
        ("01ZD00", OuParts("", "01", "ZD", "00"), False),
        ("N01AB00", OuParts("N", "01", "AB", "00"), False),
    ],
)
def test_published_ou_codes(code: str, parts: OuParts, is_court: bool) -> None:
    assert_valid(check_ou(code), code)
    assert ou_parts(code) == parts
    assert parts.is_court is is_court
    assert parts.force_area == parts.second
    assert parts.code == code


def test_ou_normalises_case_and_surrounding_space() -> None:
    assert_valid(check_ou("  b01ef00\t"), "B01EF00")
    assert ou_parts(" c06mc00 ").force_area == "06"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("01ZD0", "5 characters"),
        ("B01EF000", "8 characters"),
        ("101EF00", "start with a letter"),
        ("01ZD-0", "letters and digits only"),
        ("B01 F00", "letters and digits only"),
        ("B0\u0661EF00", "ASCII"),
    ],
)
def test_ou_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_ou(text)
    message = assert_reason(result, ReasonCode.OU_FORMAT)
    assert fragment in message
    assert result.normalized is None


def test_ou_parts_refuses_malformed_codes() -> None:
    with pytest.raises(ValueError, match="rganisation-unit"):
        ou_parts("B01EF")


# --- offence codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("TH68010", "TH68010"),
        ("MD71230A", "MD71230A"),
        ("COML025", "COML025"),
        ("COML025C", "COML025C"),
        ("XX00001", "XX00001"),
        ("RT88191", "RT88191"),  # retired but well formed: the offence-list lookup rejects it
        (" th68 010 ", "TH68010"),
        ("coml025", "COML025"),
        ("TH68A11", "TH68A11"),  # the standing data has letters in the last three places
        ("SX03A01A", "SX03A01A"),
    ],
)
def test_offence_codes_in_cjs_layout(text: str, normalized: str) -> None:
    assert_valid(check_offence_code(text), normalized)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("COML25", "COML, 3 digits"),
        ("COML0255", "COML, 3 digits"),
        ("T68010", "2 letters"),
        ("1H68010", "2 letters"),
        ("TH6801", "2-digit year"),
        ("TH680101", "2-digit year"),
        ("TH68010AB", "2-digit year"),
        ("TH-68010", "2-digit year"),
        ("TH6A010", "2-digit year"),
        ("TH\u0666\u0668010", "ASCII"),
    ],
)
def test_offence_code_format_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    result = check_offence_code(text)
    message = assert_reason(result, ReasonCode.OFFENCE_CODE_FORMAT)
    assert fragment in message
    assert result.normalized is None


# --- dispatch -------------------------------------------------------------------------------

SAMPLES = {
    IdKind.ASN: ("1101ZD0100000448754K", "asn"),
    IdKind.PNC: ("2001/0171310W", "pnc_id"),
    IdKind.CRO: ("265416/21G", "cro_number"),
    IdKind.URN: ("01ZD0305408", "case_urn"),
    IdKind.OU: ("B01EF00", "ou"),
    IdKind.OFFENCE: ("TH68010", "offence_code"),
}


@pytest.mark.parametrize("kind", list(IdKind))
def test_check_dispatches_every_kind(kind: IdKind) -> None:
    text, default_field = SAMPLES[kind]
    result = check(kind, text)
    assert result.kind is kind
    assert result.input == text
    assert_valid(result, text)
    rejected = check(kind, "?")
    assert rejected.kind is kind
    assert rejected.reason is not None
    assert rejected.reason.field == default_field
    custom = check(kind, "?", field="case.defendants[0].x")
    assert custom.reason is not None
    assert custom.reason.field == "case.defendants[0].x"


def test_id_check_is_immutable() -> None:
    result = check_asn("1101ZD0100000448754K")
    with pytest.raises(AttributeError):
        result.normalized = "x"  # type: ignore[misc]
