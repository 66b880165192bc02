"""The JSON form: render and parse round-trip, and every bad line becomes coded reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.jsonform import MAX_LINE_BYTES, Parsed, parse_line, parse_object, render, to_cloudevent
from schemas.models import EVENT_TYPES, CaseEvent, DefendantCharged
from schemas.reasons import ReasonCode
from tests.support.contract import named, one_of_each_event

SLOW_OK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def charged() -> DefendantCharged:
    event = one_of_each_event()[1]
    assert isinstance(event, DefendantCharged)
    return event


def ce(**changes: Any) -> dict[str, Any]:
    """The CloudEvent of a valid DefendantCharged, with top-level attributes changed."""
    obj = to_cloudevent(charged())
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not ...}


def with_data(**changes: Any) -> dict[str, Any]:
    obj = ce()
    obj["data"].update(changes)
    return obj


def codes(parsed: Parsed) -> list[tuple[str, str]]:
    return [(r.code.value, r.field) for r in parsed.reasons]


def line(obj: object) -> bytes:
    return json.dumps(obj).encode()


# -- rendering and round trips -----------------------------------------------------------------


def test_render_is_cloudevents_structured_json() -> None:
    event = charged()
    obj = json.loads(render(event))
    env = event.envelope
    assert {k: v for k, v in obj.items() if k != "data"} == {
        "specversion": "1.0",
        "type": "uk.gov.cjsx.DefendantCharged",
        "source": f"/cjs/forces/01/systems/{env.system}",
        "id": str(env.event_id),
        "subject": env.case_urn,
        "time": "2026-03-02T09:30:00.000Z",
        "datacontenttype": "application/json",
        "dataschema": "urn:uk.gov.cjsx:schema:uk.gov.cjsx.DefendantCharged:v1",
    }
    assert obj["data"] == json.loads(event.model_dump_json())
    assert "\n" not in render(event)


@pytest.mark.parametrize("event", one_of_each_event(), ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event: CaseEvent) -> None:
    parsed = parse_line(render(event).encode())
    assert parsed == Parsed(event, event.envelope.event_id, [])


@SLOW_OK
@given(data=st.data())
def test_generated_events_round_trip(data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(EVENT_TYPES))
    event = data.draw(named(model.avro_name))
    parsed = parse_line(render(event))
    assert parsed.reasons == []
    assert parsed.event == event


# -- lines that are not JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty line"),
        (b"   \t \r", "empty line"),
        (b"\xff\xfe\x00\x01garbage", "not UTF-8"),
        (b"\xc3\x01\x00\x00", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b'{"a": NaN}', "not JSON"),
        (b"[" * 100_000, "nested too deeply"),
        (b"x" * (MAX_LINE_BYTES + 1), "the limit is 1048576"),
    ],
    ids=["empty", "blank", "binary", "avro-bytes", "broken", "nan", "deep", "oversized"],
)
def test_lines_that_are_not_json_are_undecodable(raw: bytes, says: str) -> None:
    parsed = parse_line(raw)
    assert parsed.event is None
    assert parsed.event_id is None
    assert [r.code for r in parsed.reasons] == [ReasonCode.UNDECODABLE]
    assert says in parsed.reasons[0].message


@pytest.mark.parametrize("value", [[1, 2], 3, "text", None, True, 1.5])
def test_json_that_is_not_an_object_is_not_an_event(value: object) -> None:
    assert codes(parse_line(line(value))) == [("NOT_AN_EVENT", "")]


def test_an_object_without_a_type_is_not_an_event() -> None:
    assert codes(parse_object({"hello": "world"})) == [("NOT_AN_EVENT", "type")]
    assert codes(parse_object(ce(type=7))) == [("NOT_AN_EVENT", "type")]


def test_a_record_that_is_not_an_event_is_not_an_event() -> None:
    assert codes(parse_object(ce(type="uk.gov.cjsx.Receipt"))) == [("NOT_AN_EVENT", "type")]


def test_an_unknown_type_is_unknown_schema_and_other_problems_still_count() -> None:
    parsed = parse_object(ce(type="uk.gov.cjsx.DefendantSentenced", specversion="0.3"))
    assert codes(parsed) == [("UNKNOWN_SCHEMA", "type"), ("SCHEMA_VIOLATION", "specversion")]
    assert parsed.event_id == charged().envelope.event_id


def test_a_huge_type_is_not_echoed_whole() -> None:
    parsed = parse_object(ce(type="x" * 100_000))
    assert codes(parsed) == [("UNKNOWN_SCHEMA", "type")]
    assert len(parsed.reasons[0].message) < 200


# -- CloudEvents attributes ------------------------------------------------------------------


def test_every_attribute_problem_is_reported() -> None:
    parsed = parse_object(
        ce(
            specversion="1.1",
            id="",
            source=...,
            subject=3,
            time="yesterday",
            datacontenttype="application/avro",
            dataschema=1,
            data=...,
            data_base64="AAAA",
        )
    )
    assert codes(parsed) == [
        ("SCHEMA_VIOLATION", "specversion"),
        ("SCHEMA_VIOLATION", "id"),
        ("SCHEMA_VIOLATION", "source"),
        ("SCHEMA_VIOLATION", "subject"),
        ("SCHEMA_VIOLATION", "time"),
        ("SCHEMA_VIOLATION", "datacontenttype"),
        ("SCHEMA_VIOLATION", "dataschema"),
        ("SCHEMA_VIOLATION", "data_base64"),
        ("SCHEMA_VIOLATION", "data"),
    ]


def test_optional_attributes_may_be_left_out() -> None:
    obj = ce(time=..., datacontenttype=..., dataschema=...)
    assert parse_object(obj).event == charged()
    assert parse_object(ce(datacontenttype="application/json; charset=utf-8")).reasons == []


def test_a_naive_time_is_a_violation() -> None:
    assert codes(parse_object(ce(time="2026-03-02T09:30:00"))) == [("SCHEMA_VIOLATION", "time")]


def test_id_and_subject_must_agree_with_the_envelope() -> None:
    parsed = parse_object(ce(id="5f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f", subject="05AB12345"))
    assert codes(parsed) == [("HEADER_MISMATCH", "id"), ("HEADER_MISMATCH", "subject")]
    assert parsed.event is None
    assert parsed.event_id == charged().envelope.event_id


# -- the event in data ---------------------------------------------------------------------------


def test_wrong_types_are_violations_with_their_paths_all_of_them() -> None:
    obj = ce()
    obj["data"]["envelope"]["sequence"] = "1"
    obj["data"]["offences"][0]["code"] = 123
    obj["data"]["charge_date"] = "2026-02-30"
    obj["data"]["remand_status"] = "ON_THE_RUN"
    obj["data"]["first_hearing"] = None
    parsed = parse_object(obj)
    assert codes(parsed) == [
        ("SCHEMA_VIOLATION", "envelope.sequence"),
        ("SCHEMA_VIOLATION", "charge_date"),
        ("SCHEMA_VIOLATION", "offences[0].code"),
        ("SCHEMA_VIOLATION", "remand_status"),
        ("SCHEMA_VIOLATION", "first_hearing"),
    ]
    assert parsed.event_id == charged().envelope.event_id


def test_json_numbers_are_not_coerced() -> None:
    """Strict JSON typing: 1.0, true and "1" are not the Avro long 1."""
    for value in (1.0, True, "1"):
        obj = ce()
        obj["data"]["envelope"]["sequence"] = value
        assert codes(parse_object(obj)) == [("SCHEMA_VIOLATION", "envelope.sequence")]


def test_missing_and_extra_fields_are_violations() -> None:
    obj = ce()
    del obj["data"]["defendant"]["asn"]
    obj["data"]["defendant"]["nickname"] = "Sam"
    assert codes(parse_object(obj)) == [
        ("SCHEMA_VIOLATION", "defendant.asn"),
        ("SCHEMA_VIOLATION", "defendant.nickname"),
    ]


def test_numbers_beyond_avro_int_and_long_are_violations() -> None:
    obj = ce()
    obj["data"]["envelope"]["sequence"] = 2**63
    obj["data"]["offences"][0]["sequence"] = 2**31
    parsed = parse_object(obj)
    assert codes(parsed) == [
        ("SCHEMA_VIOLATION", "envelope.sequence"),
        ("SCHEMA_VIOLATION", "offences[0].sequence"),
    ]
    assert "64-bit" in parsed.reasons[0].message
    assert "32-bit" in parsed.reasons[1].message


def test_a_lone_surrogate_is_a_violation_not_a_crash() -> None:
    raw = render(charged()).replace('"family_name":"', '"family_name":"\\ud800', 1)
    assert codes(parse_line(raw.encode())) == [("SCHEMA_VIOLATION", "defendant.family_name")]


def test_a_timestamp_that_overflows_utc_is_a_violation_not_a_crash() -> None:
    obj = ce()
    obj["data"]["envelope"]["occurred_at"] = "0001-01-01T00:00:00+05:00"
    assert codes(parse_object(obj)) == [("SCHEMA_VIOLATION", "envelope.occurred_at")]


def test_a_naive_timestamp_in_data_is_a_violation() -> None:
    obj = ce()
    obj["data"]["envelope"]["published_at"] = "2026-03-02T09:30:00"
    assert codes(parse_object(obj)) == [("SCHEMA_VIOLATION", "envelope.published_at")]


def test_a_field_path_names_list_positions() -> None:
    obj = ce()
    obj["data"]["defendant"]["given_names"] = ["Ada", 7]
    assert codes(parse_object(obj)) == [("SCHEMA_VIOLATION", "defendant.given_names[1]")]


def test_reasons_carry_the_standard_hint() -> None:
    (reason,) = parse_object(with_data(file_type="X")).reasons
    assert reason.hint.startswith("Correct the field named in the reason")


# -- never a crash -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@SLOW_OK
@given(st.binary(max_size=200))
def test_any_bytes_give_a_parsed_line(raw: bytes) -> None:
    parsed = parse_line(raw)
    assert (parsed.event is None) == bool(parsed.reasons)


@SLOW_OK
@given(st.sampled_from(["data", "data.envelope", "data.defendant", "data.offences"]), JSON)
def test_any_json_in_any_place_gives_coded_reasons(where: str, value: object) -> None:
    obj = ce()
    parent: Any = obj
    *path, last = where.split(".")
    for key in path:
        parent = parent[key]
    parent[last] = value
    parsed = parse_line(json.dumps(obj))
    assert parsed.event is None or parsed.reasons == []
    for reason in parsed.reasons:
        assert reason.code in ReasonCode
