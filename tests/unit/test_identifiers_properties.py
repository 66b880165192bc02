"""Properties of the identifier checks: every single-digit slip is caught, and nothing raises.

A single-digit substitution changes the checked number by k * 10**n with 0 < |k| < 10; 23 is a
prime that divides neither, so the mod-23 letter must change. The tests hold the code to that.
"""

from __future__ import annotations

import string

from hypothesis import assume, example, given
from hypothesis import strategies as st

from schemas.identifiers import (
    IdKind,
    build_asn,
    build_cro,
    build_pnc_id,
    check,
    check_asn,
    check_cro,
    check_letter,
    check_pnc_id,
)
from schemas.identifiers.checkchar import CHECK_ALPHABET
from schemas.reasons import ReasonCode

DIGITS = string.digits
CODE_CHARS = string.ascii_uppercase + string.digits

two_digit_codes = st.text(DIGITS, min_size=2, max_size=2)
any_codes = st.text(CODE_CHARS, min_size=2, max_size=2)


@st.composite
def asns(draw: st.DrawFn) -> str:
    return build_asn(
        draw(st.integers(0, 99)),
        draw(st.one_of(two_digit_codes, any_codes)),
        draw(any_codes),
        draw(st.one_of(two_digit_codes, any_codes)),
        draw(st.integers(0, 10**11 - 1)),
    )


pnc_ids = st.builds(build_pnc_id, st.integers(1900, 2099), st.integers(0, 10**7 - 1))
cros = st.builds(build_cro, st.integers(0, 10**6 - 1), st.integers(0, 99))


@st.composite
def small_format_cros(draw: st.DrawFn) -> str:
    year = draw(st.text(DIGITS, min_size=2, max_size=2))
    serial = draw(st.text(DIGITS, min_size=1, max_size=6))
    return f"SF{year}/{serial}{check_letter(int(year + serial))}"


def replace_digit(text: str, data: st.DataObject, positions: list[int]) -> str:
    """``text`` with one of ``positions`` (each a digit) changed to a different digit."""
    position = data.draw(st.sampled_from(positions), label="position")
    assert text[position] in DIGITS
    new = data.draw(st.sampled_from(DIGITS.replace(text[position], "")), label="digit")
    return text[:position] + new + text[position + 1 :]


def replace_letter(text: str, data: st.DataObject) -> str:
    """``text`` with its final check letter changed to another letter of the alphabet."""
    new = data.draw(st.sampled_from(CHECK_ALPHABET.replace(text[-1], "")), label="letter")
    return text[:-1] + new


def asn_checked_positions(asn: str) -> list[int]:
    """Year and sequence always; force (2-3) and system (6-7) only when all digits."""
    positions = [0, 1, *range(8, 19)]
    if asn[2:4].isdigit():
        positions += [2, 3]
    if asn[6:8].isdigit():
        positions += [6, 7]
    return positions


# --- valid values ---------------------------------------------------------------------------


@given(asns())
def test_built_asns_are_valid_and_already_normal(asn: str) -> None:
    result = check_asn(asn)
    assert result.valid
    assert result.normalized == asn


@given(asns())
def test_short_form_of_a_built_asn_normalises_back(asn: str) -> None:
    short = f"{asn[:2]}/{asn[2:6]}/{asn[6:8]}/{int(asn[8:19])}{asn[19]}"
    assert check_asn(short.lower()).normalized == asn
    assert check_asn(short).valid


@given(pnc_ids)
def test_built_pnc_ids_are_valid_with_or_without_slash(pnc_id: str) -> None:
    assert check_pnc_id(pnc_id).normalized == pnc_id
    assert check_pnc_id(pnc_id).valid
    assert check_pnc_id(pnc_id.replace("/", "")).normalized == pnc_id


@given(cros)
def test_built_cros_are_valid_also_unpadded(cro: str) -> None:
    assert check_cro(cro).normalized == cro
    assert check_cro(cro).valid
    serial, rest = cro.split("/")
    assert check_cro(f"{int(serial)}/{rest}").normalized == cro


# --- single-digit slips and wrong letters ---------------------------------------------------


@given(asns(), st.data())
def test_asn_single_digit_change_is_caught(asn: str, data: st.DataObject) -> None:
    changed = replace_digit(asn, data, asn_checked_positions(asn))
    result = check_asn(changed)
    assert result.reason is not None
    assert result.reason.code is ReasonCode.ASN_CHECK_CHARACTER
    assert result.normalized == changed


@given(asns(), st.data())
def test_asn_wrong_check_letter_is_caught(asn: str, data: st.DataObject) -> None:
    result = check_asn(replace_letter(asn, data))
    assert result.reason is not None
    assert result.reason.code is ReasonCode.ASN_CHECK_CHARACTER
    assert f"'{asn[-1]}'" in result.reason.message


@given(pnc_ids, st.data())
def test_pnc_single_digit_change_is_caught(pnc_id: str, data: st.DataObject) -> None:
    # YYYY/NNNNNNNC: the century (0-1) is not part of the check; the rest of the digits are.
    changed = replace_digit(pnc_id, data, [2, 3, *range(5, 12)])
    result = check_pnc_id(changed)
    assert result.reason is not None
    assert result.reason.code is ReasonCode.PNC_ID_CHECK_CHARACTER


@given(pnc_ids, st.data())
def test_pnc_wrong_check_letter_is_caught(pnc_id: str, data: st.DataObject) -> None:
    result = check_pnc_id(replace_letter(pnc_id, data))
    assert result.reason is not None
    assert result.reason.code is ReasonCode.PNC_ID_CHECK_CHARACTER
    assert f"'{pnc_id[-1]}'" in result.reason.message


@given(cros, st.data())
def test_cro_single_digit_change_is_caught(cro: str, data: st.DataObject) -> None:
    changed = replace_digit(cro, data, [0, 1, 2, 3, 4, 5, 7, 8])  # NNNNNN/YYC
    result = check_cro(changed)
    assert result.reason is not None
    assert result.reason.code is ReasonCode.CRO_CHECK_CHARACTER


@given(small_format_cros(), st.data())
def test_small_format_cro_single_digit_change_is_caught(cro: str, data: st.DataObject) -> None:
    assert check_cro(cro).valid
    changed = replace_digit(cro, data, [2, 3, *range(5, len(cro) - 1)])  # SFYY/N...NC
    result = check_cro(changed)
    assert result.reason is not None
    assert result.reason.code is ReasonCode.CRO_CHECK_CHARACTER


@given(st.one_of(cros, small_format_cros()), st.data())
def test_cro_wrong_check_letter_is_caught(cro: str, data: st.DataObject) -> None:
    result = check_cro(replace_letter(cro, data))
    assert result.reason is not None
    assert result.reason.code is ReasonCode.CRO_CHECK_CHARACTER
    assert f"'{cro[-1]}'" in result.reason.message


# --- robustness and idempotence --------------------------------------------------------------

# Characters that make near-miss identifiers, plus lookalikes that str.upper or str.isdigit
# would wrongly let through: long s, dotless i, Arabic-Indic and full-width digits.
NEAR_MISS = CODE_CHARS + string.ascii_lowercase + "/- \t\n.\u017f\u0131\u0663\uff11\ufb00"
texts = st.one_of(
    st.text(),
    st.text(NEAR_MISS, max_size=30),
    st.binary().map(lambda raw: raw.decode("utf-8", errors="surrogateescape")),
    st.binary().map(lambda raw: raw.decode("latin-1")),
    asns(),
    pnc_ids,
    cros,
    small_format_cros(),
)


@given(st.sampled_from(list(IdKind)), texts)
@example(IdKind.ASN, "11/01ZD/01/448754K")
@example(IdKind.PNC, "79/123456Z")
@example(IdKind.CRO, "\u017ff83/50058Z")
def test_check_never_raises_and_normalisation_is_idempotent(kind: IdKind, text: str) -> None:
    result = check(kind, text)
    assert result.kind is kind
    assert result.input == text
    assert result.valid == (result.reason is None)
    if result.valid:
        assert result.normalized is not None
    if result.normalized is not None:
        assert result.normalized.isascii()
        again = check(kind, result.normalized)
        assert again.normalized == result.normalized
        assert again.valid == result.valid
    else:
        assert result.reason is not None
        assert result.reason.code.value.endswith("FORMAT")


@given(st.sampled_from(list(IdKind)), st.text(NEAR_MISS, max_size=30), st.data())
def test_case_and_surrounding_space_do_not_change_the_outcome(
    kind: IdKind, text: str, data: st.DataObject
) -> None:
    assume(text.isascii())
    padding = data.draw(st.sampled_from(["", " ", "\t", "  \n"]))
    plain = check(kind, text)
    varied = check(kind, padding + text.swapcase() + padding)
    assert varied.normalized == plain.normalized
    assert varied.valid == plain.valid


def test_nothing_raises_on_megabyte_inputs() -> None:
    megabyte = 1_000_000
    inputs = [
        "1" * megabyte,
        "A" * megabyte,
        "/" * megabyte,
        " " * megabyte,
        "\u0663" * megabyte,
        "1101ZD0100000448754K" * (megabyte // 20),
        "SF05/" + "4" * megabyte + "J",
        "11/01ZD/01/" + "4" * megabyte + "K",
        bytes(range(256)).decode("latin-1") * (megabyte // 256),
    ]
    for text in inputs:
        for kind in IdKind:
            result = check(kind, text)
            assert not result.valid
            assert result.reason is not None
            assert len(result.reason.message) < 500
