"""``cjsx check-id``, ``cjsx validate`` and ``cjsx schema check`` as a user runs them.

Each test runs the real command in a child process and asserts the exact JSON it prints, its
exit code, and that nothing resembling a traceback reaches the terminal, on valid and on
hostile input (empty lines, binary garbage, 1 MB lines, wrong types).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas.cloudevents import force_source
from schemas.jsonform import JSON_HINT, MAX_LINE_BYTES, render, to_cloudevent
from schemas.limits import FREE_TEXT
from schemas.models import COURT_EVENT_TYPES, EVENT_TYPES, CaseEvent, DefendantCharged
from schemas.reasons import GUIDANCE, ReasonCode
from tests.support.contract import one_of_each_event
from tools import wire_format_doc as wire_doc

ROOT = Path(__file__).resolve().parents[2]


def cjsx(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "cjsx", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def objects(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def reason(code: ReasonCode, field: str, message: str, hint: str | None = None) -> dict[str, str]:
    return {
        "code": code.value,
        "field": field,
        "message": message,
        "hint": hint or GUIDANCE[code].correction,
    }


def rejected(*reasons: dict[str, str], event_id: str | None = None) -> dict[str, Any]:
    return {"event_id": event_id, "accepted": False, "reasons": list(reasons)}


def accepted(event: CaseEvent) -> dict[str, Any]:
    return {"event_id": str(event.envelope.event_id), "accepted": True, "reasons": []}


def charged() -> DefendantCharged:
    event = one_of_each_event()[1]
    assert isinstance(event, DefendantCharged)
    return event


# -- check-id ------------------------------------------------------------------------------------


def test_check_id_valid() -> None:
    result = cjsx("check-id", "asn", "11/01ZD/01/448754K")
    assert result.returncode == 0
    assert objects(result) == [
        {
            "kind": "asn",
            "input": "11/01ZD/01/448754K",
            "valid": True,
            "normalized": "1101ZD0100000448754K",
            "reason": None,
        }
    ]


def test_check_id_invalid() -> None:
    result = cjsx("check-id", "cro", "85227/65G")
    assert result.returncode == 1
    assert objects(result) == [
        {
            "kind": "cro",
            "input": "85227/65G",
            "valid": False,
            "normalized": "085227/65G",
            "reason": {
                "code": "CRO_CHECK_CHARACTER",
                "message": "CRO number check letter is 'G' but the digits give 'L': a digit or "
                "the letter is mistyped. Re-read it from the source.",
            },
        }
    ]


@pytest.mark.parametrize(
    "args",
    [("check-id", "passport", "123"), ("check-id", "asn"), ("check-id",)],
    ids=["unknown-kind", "missing-value", "nothing"],
)
def test_check_id_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = cjsx(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"Usage: " in result.stderr


def test_check_id_stdin_every_kind() -> None:
    lines = [
        "asn 1101ZD0100000448754K",
        "PNC 2001/0171310W",
        "cro SF05/482703J",
        "urn 01 ZD 0305408",
        "ou b01ef00",
        "offence th68010",
    ]
    result = cjsx("check-id", "--stdin", stdin="\n".join(lines).encode())
    assert result.returncode == 0
    assert [(o["kind"], o["input"], o["valid"], o["normalized"]) for o in objects(result)] == [
        ("asn", "1101ZD0100000448754K", True, "1101ZD0100000448754K"),
        ("pnc", "2001/0171310W", True, "2001/0171310W"),
        ("cro", "SF05/482703J", True, "SF05/482703J"),
        ("urn", "01 ZD 0305408", True, "01ZD0305408"),
        ("ou", "b01ef00", True, "B01EF00"),
        ("offence", "th68010", True, "TH68010"),
    ]


def test_check_id_stdin_invalid_lines_exit_1_and_blank_lines_are_skipped() -> None:
    result = cjsx("check-id", "--stdin", stdin=b"\n  \npnc 2001/0171310X\r\n\n")
    assert result.returncode == 1
    assert [(o["input"], o["valid"], o["reason"]["code"]) for o in objects(result)] == [
        ("2001/0171310X", False, "PNC_ID_CHECK_CHARACTER")
    ]


def test_check_id_stdin_malformed_lines_print_a_usage_object_and_exit_2() -> None:
    stdin = b"asn 1101ZD0100000448754K\npassport 123\npnc\nurn 01ZD0305408\n"
    result = cjsx("check-id", "--stdin", stdin=stdin)
    assert result.returncode == 2
    assert objects(result)[1:3] == [
        {
            "kind": "passport",
            "input": "123",
            "valid": False,
            "normalized": None,
            "reason": {
                "code": "USAGE",
                "message": "unknown kind 'passport'; expected one of asn, pnc, cro, urn, ou, "
                "offence",
            },
        },
        {
            "kind": "pnc",
            "input": None,
            "valid": False,
            "normalized": None,
            "reason": {"code": "USAGE", "message": "missing value: lines are KIND VALUE"},
        },
    ]
    assert len(objects(result)) == 4
    assert b"line 2: unknown kind 'passport'" in result.stderr


def test_check_id_stdin_hostile_input() -> None:
    stdin = b"asn \xff\xfe\x00\x01\nurn " + b"7" * 1_000_000 + b"\n" + b"x" * (MAX_LINE_BYTES + 5)
    result = cjsx("check-id", "--stdin", stdin=stdin)
    assert result.returncode == 2
    garbage, long_urn, oversized = objects(result)
    assert (garbage["kind"], garbage["valid"], garbage["reason"]["code"]) == (
        "asn",
        False,
        "ASN_FORMAT",
    )
    assert (long_urn["valid"], long_urn["reason"]["code"]) == (False, "URN_FORMAT")
    assert oversized == {
        "kind": None,
        "input": None,
        "valid": False,
        "normalized": None,
        "reason": {
            "code": "USAGE",
            "message": f"line is {MAX_LINE_BYTES + 5} bytes; the limit is {MAX_LINE_BYTES}",
        },
    }


def test_check_id_kind_and_stdin_together_is_a_usage_error() -> None:
    assert cjsx("check-id", "asn", "x", "--stdin").returncode == 2


# -- validate ------------------------------------------------------------------------------------


def test_validate_accepts_valid_events(tmp_path: Path) -> None:
    events = one_of_each_event()
    file = tmp_path / "events.jsonl"
    file.write_text("".join(render(e) + "\n" for e in events))
    result = cjsx("validate", str(file))
    assert result.returncode == 0
    assert objects(result) == [accepted(e) for e in events]


def test_validate_reads_stdin() -> None:
    event = charged()
    result = cjsx("validate", "-", stdin=render(event).encode())
    assert (result.returncode, objects(result)) == (0, [accepted(event)])


def test_validate_an_empty_file_accepts_nothing_and_exits_0(tmp_path: Path) -> None:
    file = tmp_path / "empty.jsonl"
    file.write_bytes(b"")
    result = cjsx("validate", str(file))
    assert (result.returncode, result.stdout) == (0, b"")


def test_validate_skips_blank_lines_as_check_id_stdin_does(tmp_path: Path) -> None:
    event = charged()
    file = tmp_path / "blank.jsonl"
    file.write_bytes(b"\n" + render(event).encode() + b"\n  \r\n\t\n")
    result = cjsx("validate", str(file))
    assert (result.returncode, objects(result)) == (0, [accepted(event)])
    ids = cjsx("check-id", "--stdin", stdin=b"\n  \r\n\t\n")
    assert (ids.returncode, ids.stdout) == (0, b"")


def test_validate_hostile_input_gives_one_verdict_per_line(tmp_path: Path) -> None:
    event = charged()
    big = to_cloudevent(event)
    big["data"]["offences"][0]["wording"] = "w" * 1_000_000
    wrong = to_cloudevent(event)
    wrong["data"]["envelope"]["sequence"] = "1"
    wrong["data"]["charge_date"] = 20260302
    lines = [
        render(event).encode(),
        b"",
        b"\x00\xff\xc3\x01garbage\x80",
        b"\xc3\x01" + bytes(b for b in range(256) if b != 0x0A) * 4000,
        json.dumps(big).encode(),
        b'"' + b"a" * 1_000_000 + b'"',
        b"x" * (2 * MAX_LINE_BYTES),
        json.dumps(wrong).encode(),
        b"[1, 2, 3]",
        b'{"specversion": "1.0", "type": "uk.gov.cjsx.Sentenced", "id": "1", "source": "/x", '
        b'"subject": "01ZD0305408", "data": {}}',
        b"{",
    ]
    file = tmp_path / "hostile.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")
    result = cjsx("validate", str(file))
    event_id = str(event.envelope.event_id)
    undecodable = ReasonCode.UNDECODABLE
    assert result.returncode == 1
    assert result.stderr == b""
    assert objects(result) == [
        accepted(event),
        rejected(
            reason(undecodable, "", "line is not UTF-8 text (bad byte at offset 1)", JSON_HINT)
        ),
        rejected(
            reason(undecodable, "", "line is not UTF-8 text (bad byte at offset 0)", JSON_HINT)
        ),
        rejected(
            reason(
                ReasonCode.TEXT_TOO_LONG,
                "offences[0].wording",
                f"is 1000000 characters long; the limit is {FREE_TEXT['Offence.wording']}",
            ),
            event_id=event_id,
        ),
        rejected(
            reason(
                ReasonCode.NOT_AN_EVENT,
                "",
                "a JSON string is not an event; expected a CloudEvents JSON object",
            )
        ),
        rejected(
            reason(
                undecodable,
                "",
                f"line is {2 * MAX_LINE_BYTES} bytes; the limit is 1048576",
                JSON_HINT,
            )
        ),
        rejected(
            reason(ReasonCode.SCHEMA_VIOLATION, "envelope.sequence", "must be a whole number"),
            reason(ReasonCode.SCHEMA_VIOLATION, "charge_date", "must be a date, YYYY-MM-DD"),
            event_id=event_id,
        ),
        rejected(
            reason(
                ReasonCode.NOT_AN_EVENT,
                "",
                "a JSON array is not an event; expected a CloudEvents JSON object",
            )
        ),
        rejected(
            reason(
                ReasonCode.UNKNOWN_SCHEMA,
                "type",
                "type 'uk.gov.cjsx.Sentenced' is not an event type of the contract",
            )
        ),
        rejected(
            reason(
                undecodable,
                "",
                "not JSON: Expecting property name enclosed in double quotes (column 2)",
                JSON_HINT,
            )
        ),
    ]


def test_validate_reports_the_streams_domain_rules(tmp_path: Path) -> None:
    event = to_cloudevent(charged())
    event["data"]["defendant"]["asn"] = event["data"]["defendant"]["asn"][:-1] + "I"
    event["data"]["offences"][0]["code"] = "TH68999"
    result = cjsx("validate", "-", stdin=json.dumps(event).encode())
    assert result.returncode == 1
    (verdict,) = objects(result)
    assert verdict["event_id"] == event["id"]
    assert verdict["accepted"] is False
    assert [(r["code"], r["field"]) for r in verdict["reasons"]] == [
        ("ASN_CHECK_CHARACTER", "defendant.asn"),
        ("OFFENCE_UNKNOWN", "offences[0].code"),
    ]
    assert verdict["reasons"][1] == reason(
        ReasonCode.OFFENCE_UNKNOWN,
        "offences[0].code",
        "offence code TH68999 is not in the CJS offence list",
        "Use the current CJS code for the offence; the nearest known codes are TH68009, "
        "TH68019, TH68029 (`cjsx check-id offence CODE` shows one's title).",
    )


def test_validate_checks_the_sender_binding_against_the_envelope_force() -> None:
    event = to_cloudevent(charged())
    event["data"]["envelope"]["force"] = "05"
    event["source"] = force_source("05", event["data"]["envelope"]["system"])
    result = cjsx("validate", "-", stdin=json.dumps(event).encode())
    assert result.returncode == 1
    (verdict,) = objects(result)
    assert {(r["code"], r["field"]) for r in verdict["reasons"]} == {
        ("SENDER_FORCE_MISMATCH", "envelope.case_urn"),
        ("SENDER_FORCE_MISMATCH", "defendant.asn"),
    }


def test_validate_force_option_binds_to_that_forces_topic() -> None:
    stdin = render(charged()).encode()
    assert cjsx("validate", "--force", "01", "-", stdin=stdin).returncode == 0
    result = cjsx("validate", "--force", "05", "-", stdin=stdin)
    assert result.returncode == 1
    assert [r["field"] for r in objects(result)[0]["reasons"]] == [
        "envelope.force",
        "envelope.case_urn",
        "defendant.asn",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("validate", "/no/such/file.jsonl"),
        ("validate", "/"),
        ("validate", "--force", "abc", "-"),
        ("validate", "--force", "99", "-"),
        ("validate", "--force", "1", "-"),
        ("rejected", "list", "--force", "abc"),
        ("rejected", "show", "not-a-rejection-id"),
    ],
)
def test_validate_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = cjsx(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"Usage: " in result.stderr or b"Error: " in result.stderr


# -- schema --------------------------------------------------------------------------------------


def test_schema_check_passes_on_the_shipped_contract() -> None:
    result = cjsx("schema", "check")
    assert result.returncode == 0
    assert (
        result.stdout == b"every schema is FULL_TRANSITIVE compatible with its released versions\n"
    )


def test_every_example_in_the_wire_format_doc_passes_cjsx_validate(tmp_path: Path) -> None:
    """docs/wire-format.md's examples, exactly as a force developer would copy them."""
    text = (ROOT / "docs" / "wire-format.md").read_text(encoding="utf-8")
    blocks = re.findall(re.escape(wire_doc.EXAMPLE) + r"\n```json\n(.*?)\n```", text, re.DOTALL)
    worked = re.findall(r"<!-- example-json -->\n```json\n(.*?)\n```", text, re.DOTALL)
    lines = [*blocks, *worked]
    assert len(blocks) == len(EVENT_TYPES) + len(COURT_EVENT_TYPES)
    file = tmp_path / "examples.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cjsx("validate", "--force", "01", str(file))
    verdicts = objects(result)
    assert [v["accepted"] for v in verdicts] == [True] * len(lines), verdicts
    assert result.returncode == 0
