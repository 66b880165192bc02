"""CloudEvents attributes agree with the event (binary headers and the JSON form), and messages
speak the contract's language, never Python's (issue 13.2, 13.3)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from schemas.cloudevents import to_kafka
from schemas.codec import Codec
from schemas.jsonform import parse_line, parse_object, to_cloudevent
from schemas.models import DefendantCharged
from streams.validate import check_headers
from tests.support.contract import one_of_each_event

PYTHON = re.compile(
    r"NoneType|\bdict\b|\bstr\b|\bint\(|\bsys\.|utf-8-sig|Error\b|Exception|Traceback|"
    r"set_int_max_str_digits|instance of|Value error|\bbytes object|codec",
)


def charged() -> DefendantCharged:
    event = one_of_each_event()[1]
    assert isinstance(event, DefendantCharged)
    return event


def headers_of(event: DefendantCharged) -> tuple[list[tuple[str, bytes | None]], str]:
    codec = Codec()
    value, headers = to_kafka(
        codec,
        event,
        id=str(event.envelope.event_id),
        source=f"/cjs/forces/{event.envelope.force}/systems/{event.envelope.system}",
        subject=event.envelope.case_urn,
        time=event.envelope.occurred_at,
    )
    return list(headers), codec.writer_of(value).dataschema


def test_the_publishers_headers_agree() -> None:
    headers, dataschema = headers_of(charged())
    assert check_headers(headers, charged(), dataschema) == []


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ce_type", b"uk.gov.cjsx.CaseDiscontinued"),
        ("ce_dataschema", b"urn:uk.gov.cjsx:schema:uk.gov.cjsx.DefendantCharged:v9"),
        ("ce_dataschema", b"urn:uk.gov.cjsx:schema:uk.gov.cjsx.CaseDiscontinued:v1"),
        ("ce_source", b"x"),
        ("ce_source", b"/cjs/forces/05/systems/niche-rms"),
        ("ce_time", b"2031-01-01T00:00:00.000Z"),
        ("ce_time", b"not a time"),
        ("ce_id", b"6f1c7e9a-3b2d-4c5e-8f90-1a2b3c4d5e6f"),
        ("ce_subject", b"05AB1234567"),
        ("ce_specversion", b"0.3"),
        ("ce_type", b"\xff\xfe"),
    ],
)
def test_a_header_disagreeing_with_the_event_is_a_mismatch(header: str, value: bytes) -> None:
    headers, dataschema = headers_of(charged())
    forged = [(k, value if k == header else v) for k, v in headers]
    reasons = check_headers(forged, charged(), dataschema)
    assert [(r.code.value, r.field) for r in reasons] == [("HEADER_MISMATCH", header)]


def test_a_missing_header_is_not_a_mismatch() -> None:
    headers, dataschema = headers_of(charged())
    assert check_headers([h for h in headers if h[0] != "ce_time"], charged(), dataschema) == []


def _ce(**changes: Any) -> dict[str, Any]:
    obj = to_cloudevent(charged())
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("dataschema", "urn:uk.gov.cjsx:schema:uk.gov.cjsx.DefendantCharged:v2"),
        ("dataschema", "urn:uk.gov.cjsx:schema:uk.gov.cjsx.CaseDiscontinued:v1"),
        ("source", "x"),
        ("source", "/cjs/forces/01/systems/another"),
        ("time", "2029-06-01T00:00:00Z"),
    ],
)
def test_json_form_attributes_must_agree(attribute: str, value: str) -> None:
    parsed = parse_object(_ce(**{attribute: value}))
    assert parsed.event is None
    assert [(r.code.value, r.field) for r in parsed.reasons] == [("HEADER_MISMATCH", attribute)]


def test_json_form_time_within_the_skew_agrees() -> None:
    occurred = charged().envelope.occurred_at + timedelta(milliseconds=500)
    stamp = occurred.isoformat().replace("+00:00", "Z")
    assert parse_object(_ce(time=stamp)).reasons == []


HOSTILE_LINES: list[bytes] = [
    b"null",
    b"true",
    b"12",
    b"1.5",
    b'"text"',
    b"[]",
    b"\xef\xbb\xbf" + json.dumps(to_cloudevent(charged())).encode(),
    b'{"a": ' + b"9" * 5000 + b"}",
    b"[" * 100_000,
    b"NaN",
    b"{",
    b"\xff",
    b"",
]


@pytest.mark.parametrize("line", HOSTILE_LINES, ids=lambda b: repr(b[:20]))
def test_no_message_or_hint_speaks_python(line: bytes) -> None:
    parsed = parse_line(line)
    assert parsed.reasons
    for reason in parsed.reasons:
        assert not PYTHON.search(reason.message), reason.message
        assert not PYTHON.search(reason.hint), reason.hint


def test_no_model_error_speaks_python() -> None:
    obj = to_cloudevent(charged())
    data = obj["data"]
    data["defendant"] = None
    data["offences"] = {}
    data["envelope"]["sequence"] = 2**70
    data["envelope"]["occurred_at"] = "2024-01-01T00:00:00"
    data["first_hearing"] = "B01EF00"
    data["remand_status"] = "ON_THE_RUN"
    data["surplus"] = 1
    reasons = parse_object(obj).reasons
    assert len(reasons) >= 6
    for reason in reasons:
        assert not PYTHON.search(reason.message), reason.message


def test_the_json_type_of_a_non_object_is_named_in_json_terms() -> None:
    assert parse_line(b"null").reasons[0].message.startswith("a JSON null is not an event")
    assert parse_line(b"true").reasons[0].message.startswith("a JSON boolean is not an event")


def test_an_undecodable_line_gets_a_hint_for_json_senders() -> None:
    (reason,) = parse_line(b"{").reasons
    assert "JSON" in reason.hint
    assert "Avro" not in reason.hint
