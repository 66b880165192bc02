"""docs/reason-codes.md is generated from the guidance table, and every code has guidance."""

from __future__ import annotations

from schemas.reasons import GUIDANCE, ReasonCode
from tools import reason_codes_doc as reason_docs


def test_every_reason_code_has_complete_guidance() -> None:
    assert set(GUIDANCE) == set(ReasonCode)
    for code, guidance in GUIDANCE.items():
        for part in (guidance.description, guidance.cause, guidance.correction, guidance.avoidance):
            assert part.strip(), f"{code} has an empty guidance part"


def test_the_page_lists_every_code_with_its_guidance() -> None:
    page = reason_docs.render()
    for code in ReasonCode:
        assert f"\n## {code.value}\n" in page
        assert GUIDANCE[code].correction in page
