"""docs/wire-format.md's worked example and fingerprint recipe are true, so a partner can trust
them: the JSON example parses, encodes to exactly the hex shown, and the CRC-64-AVRO code in
the document (reimplemented here) gives every released fingerprint."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastavro.schema import to_parsing_canonical_form

from infra.topics import load_templates
from schemas.codec import Codec
from schemas.jsonform import parse_line
from schemas.models import COURT_EVENT_TYPES, EVENT_TYPES, HearingResulted
from schemas.store import SchemaStore, resolve
from tools import wire_format_doc as wire_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-format.md"

EMPTY = 0xC15D213AA4D7A795
TABLE: list[int] = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (EMPTY & -(_fp & 1))
    TABLE.append(_fp)


def crc64_avro(data: bytes) -> int:
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ TABLE[(fp ^ byte) & 0xFF]
    return fp


def block_after(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(re.escape(marker) + r"\n```\w*\n(.*?)\n```", text, re.DOTALL)
    assert match, f"no fenced block after {marker}"
    return match.group(1)


def test_the_worked_example_encodes_to_the_hex_shown() -> None:
    parsed = parse_line(block_after("<!-- example-json -->"))
    assert parsed.reasons == []
    assert parsed.event is not None
    shown = bytes.fromhex(block_after("<!-- example-hex -->").replace("\n", " "))
    assert Codec().encode(parsed.event) == shown
    assert Codec().decode(shown) == parsed.event


def test_the_documented_crc64_gives_every_released_fingerprint() -> None:
    for name in SchemaStore.load().names():
        for version in SchemaStore.load().versions(name):
            canonical = to_parsing_canonical_form(version.schema).encode()
            assert crc64_avro(canonical).to_bytes(8, "little") == version.fingerprint


def test_the_documented_venue_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    canonical = to_parsing_canonical_form(resolve("uk.gov.cjsx.Venue"))
    assert f"`{canonical}`" in text
    shown = " ".join(f"{b:02x}" for b in crc64_avro(canonical.encode()).to_bytes(8, "little"))
    assert f"`{shown}`" in text


def test_every_topic_of_the_spec_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for template in load_templates():
        assert f"`{template.name}`" in text


def test_the_page_has_its_generated_section_once() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(wire_doc.START) == text.count(wire_doc.END) == 1


def test_every_event_type_has_a_complete_valid_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(wire_doc.EXAMPLE) + r"\n```json\n(.*?)\n```", text, re.DOTALL)
    types = []
    for block in blocks:
        parsed = parse_line(block)
        assert parsed.reasons == []
        assert parsed.event is not None
        court = isinstance(parsed.event, HearingResulted)
        system = wire_doc.EXAMPLE_COURT_SYSTEM if court else wire_doc.EXAMPLE_SYSTEM
        assert parsed.event.envelope.system == system
        types.append(type(parsed.event))
    assert types == [*EVENT_TYPES, *COURT_EVENT_TYPES]


def test_the_system_example_matches_the_schema_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "(e.g. niche-rms)" in json.dumps(resolve("uk.gov.cjsx.Envelope"))
    assert '/systems/niche"' not in text
    assert "/systems/niche " not in text
    assert "/systems/niche\n" not in text
