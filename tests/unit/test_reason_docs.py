"""docs/reason-codes.md is generated from the guidance table, and every code has guidance."""

from __future__ import annotations

from pathlib import Path

from schemas import reason_docs
from schemas.reasons import GUIDANCE, ReasonCode


def test_every_reason_code_has_complete_guidance() -> None:
    assert set(GUIDANCE) == set(ReasonCode)
    for code, guidance in GUIDANCE.items():
        for part in (guidance.description, guidance.cause, guidance.correction, guidance.avoidance):
            assert part.strip(), f"{code} has an empty guidance part"


def test_the_reason_codes_page_is_current() -> None:
    assert reason_docs.DOC.read_text(encoding="utf-8") == reason_docs.render(), (
        "docs/reason-codes.md is stale: run `python -m schemas.reason_docs`"
    )


def test_the_page_lists_every_code_with_its_guidance() -> None:
    page = reason_docs.render()
    for code in ReasonCode:
        assert f"\n## {code.value}\n" in page
        assert GUIDANCE[code].correction in page


def test_main_writes_the_page(tmp_path: Path) -> None:
    target = tmp_path / "codes.md"
    assert reason_docs.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == reason_docs.render()
