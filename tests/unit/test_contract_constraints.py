"""The contract enforces what it documents (issue 13.2, 11).

Every constraint phrase in an input schema's ``doc`` has a row below: a failing input and the
exact (code, field) it must produce, or a stated reason it is not a validation rule (with the
test that covers it instead). A new constraint written into a schema without a row fails
``test_every_documented_constraint_has_a_row``. Text limits, hidden characters, dates, clock
skew, capped reasons and trailing bytes are checked here too.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import Codec, CodecError
from schemas.limits import CLOCK_SKEW, FREE_TEXT, IDENTIFIERS, LISTS
from schemas.models import (
    COURT_EVENT_TYPES,
    EVENT_TYPES,
    AvroRecord,
    CaseDiscontinued,
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    DefendantDetailsAmended,
    DiscontinuanceScope,
    DurationUnit,
    FileType,
    HearingResulted,
    MgForm,
    Offence,
    Receipt,
    RejectedEvent,
    RemandStatus,
    RemandStatusChanged,
    ResultDuration,
    Sensitivity,
)
from schemas.reasons import MAX_REASONS, ReasonCode
from schemas.store import AVRO_DIR, resolve
from streams.validate import ValidationContext, validate_event
from tests.support.builders import (
    codec,
    decoded,
    document,
    exchange,
    record,
    standing,
    valid_charge,
    with_envelope,
)
from tests.support.contract import one_of_each_event
from tools.wire_format_doc import example_results

C = ReasonCode
PHRASES = re.compile(
    r"at least|from 1|required when|\bmust\b|\balways\b|\bonly\b|\bnever\b|without gaps|"
    r"empty when|lower-case|if conditional|no personal data|\d+-character|two-digit|\bexactly\b|"
    r"(?-i:\b[A-Z_]{2,}, [A-Z_]{2,} or [A-Z_]{2,}\b)",
    re.IGNORECASE,
)


def events() -> dict[str, CaseEvent]:
    return {type(e).__name__: e for e in one_of_each_event()}


def charge(**fields: Any) -> DefendantCharged:
    event = events()["DefendantCharged"]
    assert isinstance(event, DefendantCharged)
    return event.model_copy(update=fields)


def remand(**fields: Any) -> RemandStatusChanged:
    event = events()["RemandStatusChanged"]
    assert isinstance(event, RemandStatusChanged)
    return event.model_copy(update=fields)


def discontinued(**fields: Any) -> CaseDiscontinued:
    event = events()["CaseDiscontinued"]
    assert isinstance(event, CaseDiscontinued)
    return event.model_copy(update=fields)


def pre_charge(**fields: Any) -> CaseFileSubmitted:
    event = events()["CaseFileSubmitted"]
    assert isinstance(event, CaseFileSubmitted)
    return event.model_copy(update=fields)


def documents(**fields: Any) -> CaseEvent:
    return events()["CaseDocumentsAdded"].model_copy(update=fields)


def with_offence(**fields: Any) -> DefendantCharged:
    event = charge()
    return charge(offences=[event.offences[0].model_copy(update=fields)])


@dataclass(frozen=True)
class Fails:
    """A failing input and the (code, field) it must be rejected with."""

    make: Callable[[], CaseEvent]
    code: ReasonCode
    field: str


@dataclass(frozen=True)
class NotARule:
    """A doc phrase that is not an input-validation rule, and what holds it instead."""

    why: str


LOGGING = NotARule("a logging rule: tests/e2e/test_no_personal_data_in_logs.py")
FREE_TEXT_PERSONAL = NotARule(
    "guidance to the writer: whether free text names a person cannot be decided by machine"
)
ROUTING = NotARule("a routing rule of the projection policy: tests/unit/test_route.py")

ROWS: dict[tuple[str, str, str], list[Fails] | NotARule] = {
    ("Address", "", "never"): LOGGING,
    ("Defendant", "", "never"): LOGGING,
    ("Defendant", "asn", "20-character"): [
        Fails(
            lambda: charge(
                defendant=charge().defendant.model_copy(
                    update={"asn": _short_asn(charge().defendant.asn)}
                )
            ),
            C.ASN_FORMAT,
            "defendant.asn",
        )
    ],
    ("CaseDiscontinued", "asn", "only"): NotARule(
        "says when an ASN is given; a discontinuance against one defendant may name one too"
    ),
    ("CaseDiscontinued", "offence_sequences", "empty when"): [
        Fails(
            lambda: discontinued(
                scope=DiscontinuanceScope.CASE_DISCONTINUED, offence_sequences=[1]
            ),
            C.DISCONTINUANCE_SCOPE_MISMATCH,
            "offence_sequences",
        )
    ],
    ("DefendantDetailsAmended", "", "only"): NotARule(
        "which fields changed needs the earlier details, which a stateless check does not hold"
    ),
    ("CaseDiscontinued", "reason", "no personal data"): FREE_TEXT_PERSONAL,
    ("DefendantDetailsAmended", "reason", "no personal data"): FREE_TEXT_PERSONAL,
    ("Document", "title", "no personal data"): FREE_TEXT_PERSONAL,
    ("CaseDocumentsAdded", "documents", "at least"): [
        Fails(lambda: documents(documents=[]), C.DOCUMENTS_MISSING, "documents")
    ],
    ("CaseFileSubmitted", "", "only"): ROUTING,
    ("CaseFileSubmitted", "", "never"): ROUTING,
    ("CaseFileSubmitted", "file_type", "always"): [
        Fails(lambda: pre_charge(file_type=FileType.GAP), C.FILE_TYPE_INVALID, "file_type")
    ],
    ("DefendantCharged", "file_type", "gap, ngap or crown"): [
        Fails(lambda t=t: charge(file_type=t), C.FILE_TYPE_INVALID, "file_type")
        for t in (FileType.PRE_CHARGE, FileType.UPGRADE)
    ],
    ("DefendantCharged", "offences", "at least"): [
        Fails(lambda: charge(offences=[]), C.OFFENCES_MISSING, "offences")
    ],
    ("DefendantCharged", "bail_conditions", "if conditional"): [
        Fails(
            lambda: charge(remand_status=RemandStatus.CONDITIONAL_BAIL, bail_conditions=[]),
            C.BAIL_CONDITIONS_MISSING,
            "bail_conditions",
        ),
        Fails(
            lambda: charge(
                remand_status=RemandStatus.UNCONDITIONAL_BAIL, bail_conditions=["Curfew 8pm-6am"]
            ),
            C.BAIL_CONDITIONS_UNEXPECTED,
            "bail_conditions",
        ),
    ],
    ("RemandStatusChanged", "bail_conditions", "if conditional"): [
        Fails(
            lambda: remand(remand_status=RemandStatus.CONDITIONAL_BAIL, bail_conditions=[]),
            C.BAIL_CONDITIONS_MISSING,
            "bail_conditions",
        ),
        Fails(
            lambda: remand(
                remand_status=RemandStatus.REMANDED_IN_CUSTODY, bail_conditions=["Reside at"]
            ),
            C.BAIL_CONDITIONS_UNEXPECTED,
            "bail_conditions",
        ),
    ],
    ("DefendantCharged", "charging_advice", "only"): ROUTING,
    ("Document", "sha256", "lower-case"): [
        Fails(
            lambda: documents(
                documents=[document(MgForm.MG5).model_copy(update={"sha256": "AB" * 32})]
            ),
            C.DOCUMENT_HASH_FORMAT,
            "documents[0].sha256",
        )
    ],
    ("Document", "sensitivity", "must"): [
        Fails(
            lambda: documents(documents=[document(MgForm.MG6D, Sensitivity.OFFICIAL)]),
            C.DOCUMENT_SENSITIVITY_TOO_LOW,
            "documents[0].sensitivity",
        )
    ],
    ("Envelope", "sequence", "from 1"): [
        Fails(lambda: with_envelope(charge(), sequence=0), C.SEQUENCE_INVALID, "envelope.sequence")
    ],
    ("Envelope", "sequence", "without gaps"): NotARule(
        "a gap is held, then released and flagged, by the ordering stage: tests/unit/test_order.py"
    ),
    ("Envelope", "force", "two-digit"): [
        Fails(lambda: with_envelope(charge(), force="1"), C.FORCE_UNKNOWN, "envelope.force"),
        Fails(lambda: with_envelope(charge(), force="xx"), C.FORCE_UNKNOWN, "envelope.force"),
    ],
    ("Offence", "sequence", "from 1"): [
        Fails(lambda: with_offence(sequence=0), C.OFFENCE_SEQUENCE_INVALID, "offences[0].sequence"),
        Fails(
            lambda: discontinued(
                scope=DiscontinuanceScope.CHARGES_WITHDRAWN, offence_sequences=[0]
            ),
            C.OFFENCE_SEQUENCE_INVALID,
            "offence_sequences[0]",
        ),
    ],
}
ROWS[("Document", "sensitivity", "at least")] = ROWS[("Document", "sensitivity", "must")]


# -- court results (issue 13.1): the stateless rules here; the rules that need the case's
# state or the topic (charged defendants and offences, the publisher's binding) are each
# tested with a failing input in tests/unit/test_results.py.


def results(**fields: Any) -> HearingResulted:
    event = example_results(charge())
    return event.model_copy(update=fields)


def results_defendant(**fields: Any) -> HearingResulted:
    event = results()
    return results(defendants=[event.defendants[0].model_copy(update=fields)])


def results_offence(**fields: Any) -> HearingResulted:
    offence = results().defendants[0].offences[0]
    return results_defendant(offences=[offence.model_copy(update=fields)])


def results_result(**fields: Any) -> HearingResulted:
    result = results().defendants[0].offences[0].results[0]
    return results_offence(results=[result.model_copy(update=fields)])


STATEFUL = "needs the case's state or the arrival topic: tests/unit/test_results.py"
ROWS.update(
    {
        ("HearingResulted", "", "from 1"): [
            Fails(
                lambda: with_envelope(results(), sequence=0),
                C.SEQUENCE_INVALID,
                "envelope.sequence",
            )
        ],
        ("HearingResulted", "publisher", "must"): NotARule(STATEFUL),
        ("ResultedHearing", "court_ou", "must"): NotARule(STATEFUL),
        ("OffenceResults", "offence_sequence", "must"): NotARule(STATEFUL),
        ("HearingResulted", "defendants", "at least"): [
            Fails(lambda: results(defendants=[]), C.RESULTS_MISSING, "defendants")
        ],
        ("DefendantResults", "offences", "at least"): [
            Fails(
                lambda: results_defendant(offences=[]),
                C.RESULTS_MISSING,
                "defendants[0].offences",
            )
        ],
        ("OffenceResults", "results", "at least"): [
            Fails(
                lambda: results_offence(results=[]),
                C.RESULTS_MISSING,
                "defendants[0].offences[0].results",
            )
        ],
        ("CourtResult", "qualifiers", "must"): [
            Fails(
                lambda: results_result(qualifiers=["EO"]),
                C.RESULT_QUALIFIER_NOT_ALLOWED,
                "defendants[0].offences[0].results[0].qualifiers[0]",
            )
        ],
        ("CourtResult", "amount_pence", "from 1"): [
            Fails(
                lambda: results_result(amount_pence=0),
                C.RESULT_VALUE_INVALID,
                "defendants[0].offences[0].results[0].amount_pence",
            )
        ],
        ("ResultDuration", "length", "from 1"): [
            Fails(
                lambda: results_result(
                    code=3070,
                    amount_pence=None,
                    duration=ResultDuration(length=0, unit=DurationUnit.MONTHS),
                ),
                C.RESULT_VALUE_INVALID,
                "defendants[0].offences[0].results[0].duration.length",
            )
        ],
    }
)


def _short_asn(asn: str) -> str:
    """The ASN's short form YY/FFUU/SS/<sequence><check>, which is valid but not normalised."""
    return f"{asn[:2]}/{asn[2:6]}/{asn[6:8]}/{int(asn[8:19])}{asn[19]}"


def _named_types(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        if schema.get("type") in ("record", "enum") and "name" in schema:
            found.add(schema["name"].rsplit(".", 1)[-1])
        for value in schema.values():
            _named_types(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _named_types(item, found)


def input_types() -> set[str]:
    """Every named type a force's or a court's event can contain: what validation must
    cover."""
    found: set[str] = set()
    for model in (*EVENT_TYPES, *COURT_EVENT_TYPES):
        _named_types(resolve(model.avro_name), found)
    return found


def documented_constraints(avro_dir: Path = AVRO_DIR) -> set[tuple[str, str, str]]:
    """(record, field or "", phrase) for every constraint phrase in an input type's docs."""
    found: set[tuple[str, str, str]] = set()
    wanted = input_types()
    for path in sorted(avro_dir.glob("*.avsc")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        if schema["name"] not in wanted:
            continue
        docs = [("", schema.get("doc", ""))]
        docs += [(f["name"], f.get("doc", "")) for f in schema.get("fields", [])]
        for field, doc in docs:
            for match in PHRASES.finditer(doc):
                found.add((schema["name"], field, match.group().lower()))
    return found


def reasons_of(event: CaseEvent, now: datetime | None = None) -> list[tuple[str, str]]:
    ctx = ValidationContext(standing(), clock=lambda: now or datetime.now(UTC))
    return [(r.code.value, r.field) for r in validate_event(event, ctx)]


def test_the_walk_finds_constraints_and_covers_every_input_type() -> None:
    found = documented_constraints()
    assert ("DefendantCharged", "offences", "at least") in found
    assert ("Offence", "sequence", "from 1") in found
    assert {"DefendantCharged", "Envelope", "Offence", "Document", "Defendant"} <= input_types()
    assert "Receipt" not in input_types()  # written by the exchange, not validated input


def test_a_new_constraint_in_a_schema_doc_is_noticed(tmp_path: Path) -> None:
    """What the next test would say if someone documented a rule and did not enforce it."""
    for path in AVRO_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    hearing = tmp_path / "uk.gov.cjsx.Hearing.avsc"
    schema = json.loads(hearing.read_text(encoding="utf-8"))
    schema["fields"][1]["doc"] += " Must be a weekday."
    hearing.write_text(json.dumps(schema), encoding="utf-8")
    assert documented_constraints(tmp_path) - set(ROWS) == {("Hearing", "date", "must")}


def test_every_documented_constraint_has_a_row() -> None:
    found = documented_constraints()
    assert sorted(found - set(ROWS)) == [], "a schema doc states a constraint with no row"
    assert sorted(set(ROWS) - found) == [], "a row names a constraint no schema doc states"


@pytest.mark.parametrize(
    ("key", "index"),
    [(k, i) for k, v in ROWS.items() if isinstance(v, list) for i in range(len(v))],
    ids=lambda x: x if isinstance(x, int) else ".".join(x),
)
def test_each_documented_constraint_rejects_its_failing_input(
    key: tuple[str, str, str], index: int
) -> None:
    row = ROWS[key]
    assert isinstance(row, list)
    case = row[index]
    got = reasons_of(case.make())
    assert (case.code.value, case.field) in got, got


def test_the_valid_baselines_pass() -> None:
    for event in events().values():
        assert reasons_of(event) == []
    assert reasons_of(results()) == []


# -- free text: empty, too long, hidden characters; lists --------------------------------------


def _replace(record: AvroRecord, path: list[str | int], value: Any) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        assert isinstance(record, list)
        items = list(record)
        items[head] = _replace(items[head], rest, value) if rest else value
        return items
    current = getattr(record, head)
    return record.model_copy(update={head: _replace(current, rest, value) if rest else value})


def _strings(record: Any, key: str, path: list[str | int]) -> list[tuple[str, list[str | int]]]:
    """(key, path) of every string of ``record`` (free text and identifiers)."""
    found: list[tuple[str, list[str | int]]] = []
    if isinstance(record, AvroRecord):
        name = type(record).__name__
        for field in type(record).model_fields:
            found += _strings(getattr(record, field), f"{name}.{field}", [*path, field])
    elif isinstance(record, list):
        for i, item in enumerate(record):
            found += _strings(item, f"{key}[]", [*path, i])
    elif isinstance(record, str) and not hasattr(record, "value"):
        found.append((key, path))
    return found


def _rich_events() -> list[CaseEvent]:
    """Valid events between them setting every optional text field."""
    base = events()
    amended = base["DefendantDetailsAmended"]
    assert isinstance(amended, DefendantDetailsAmended)
    full = amended.model_copy(
        update={"family_name": "Smith-Synthetic", "given_names": ["Alex", "Sam"]}
    )
    person = charge().defendant
    assert person.address is not None
    housed = person.model_copy(
        update={"address": person.address.model_copy(update={"postcode": "ZZ1 1ZZ"})}
    )
    charged = charge(
        defendant=housed,
        charging_advice="Charge theft (synthetic advice).",
        remand_status=RemandStatus.CONDITIONAL_BAIL,
        bail_conditions=["Reside at the address given (synthetic)"],
    )
    remanded = remand(
        remand_status=RemandStatus.CONDITIONAL_BAIL, bail_conditions=["Curfew (synthetic)"]
    )
    return [*base.values(), full, charged, remanded, results()]


def _path_text(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def test_every_string_field_has_a_limit_row() -> None:
    keys = {key for e in _rich_events() for key, _ in _strings(e, "", [])}
    assert keys - set(FREE_TEXT) - set(IDENTIFIERS) == set()
    assert set(FREE_TEXT) <= keys, "a free-text limit is not exercised by the test events"


@pytest.mark.parametrize("key", sorted(FREE_TEXT))
def test_free_text_limits_and_characters(key: str) -> None:
    event, path = next((e, p) for e in _rich_events() for k, p in _strings(e, "", []) if k == key)
    assert reasons_of(event) == []
    field = _path_text(path)
    cases = {
        "": C.TEXT_EMPTY,
        "   ": C.TEXT_EMPTY,
        "x" * (FREE_TEXT[key] + 1): C.TEXT_TOO_LONG,
        "ok\x00": C.TEXT_CHARACTERS_INVALID,
        "ok\u202eevil": C.TEXT_CHARACTERS_INVALID,
        "ok\u2066x\u2069": C.TEXT_CHARACTERS_INVALID,
        "ok\x1b[31m": C.TEXT_CHARACTERS_INVALID,
    }
    for value, code in cases.items():
        got = reasons_of(_replace(event, path, value))
        assert (code.value, field) in got, (repr(value), got)
    assert reasons_of(_replace(event, path, "x" * FREE_TEXT[key])) == []


def test_line_breaks_only_in_narrative_fields() -> None:
    event = charge()
    assert reasons_of(with_offence(wording="Line one\nLine two\ttabbed")) == []
    bad = event.model_copy(
        update={"defendant": event.defendant.model_copy(update={"family_name": "Smith\nJones"})}
    )
    assert reasons_of(bad) == [("TEXT_CHARACTERS_INVALID", "defendant.family_name")]


def test_a_huge_identifier_is_refused_without_echoing_it() -> None:
    event = with_envelope(charge(), case_urn="01ZD" + "7" * 400_000)
    found = validate_event(event, ValidationContext(standing()))
    assert ("TEXT_TOO_LONG", "envelope.case_urn") in [(r.code.value, r.field) for r in found]
    assert all(len(r.message) < 500 for r in found)


def test_lists_have_maximum_lengths() -> None:
    limit = LISTS["DefendantCharged.bail_conditions"]
    event = charge(
        remand_status=RemandStatus.CONDITIONAL_BAIL,
        bail_conditions=[f"Condition {i}" for i in range(limit + 1)],
    )
    assert reasons_of(event) == [("TOO_MANY_ITEMS", "bail_conditions")]


# -- dates and clocks --------------------------------------------------------------------------


def test_events_in_the_future_beyond_the_skew_are_rejected() -> None:
    event = charge()
    occurred = event.envelope.occurred_at
    now = occurred + timedelta(days=1)
    within = with_envelope(event, published_at=now + CLOCK_SKEW - timedelta(seconds=1))
    assert reasons_of(within, now) == []
    ahead = with_envelope(
        event, occurred_at=now + timedelta(days=400), published_at=now + timedelta(days=400)
    )
    assert ("EVENT_IN_FUTURE", "envelope.occurred_at") in reasons_of(ahead, now)
    assert ("EVENT_IN_FUTURE", "envelope.published_at") in reasons_of(ahead, now)


def test_nothing_is_published_before_it_occurred() -> None:
    event = charge()
    occurred = event.envelope.occurred_at
    early = with_envelope(event, published_at=occurred - CLOCK_SKEW - timedelta(seconds=1))
    assert reasons_of(early) == [("PUBLISHED_BEFORE_OCCURRED", "envelope.published_at")]
    assert reasons_of(with_envelope(event, published_at=occurred - CLOCK_SKEW)) == []


@pytest.mark.parametrize("year", [1, 1899])
def test_published_at_in_year_1_is_out_of_range(year: int) -> None:
    event = with_envelope(charge(), published_at=datetime(year, 1, 1, tzinfo=UTC))
    assert ("DATE_OUT_OF_RANGE", "envelope.published_at") in reasons_of(event)


def test_published_at_in_year_9999_is_in_the_future() -> None:
    event = with_envelope(charge(), published_at=datetime(9999, 12, 31, tzinfo=UTC))
    assert reasons_of(event) == [("EVENT_IN_FUTURE", "envelope.published_at")]


def test_a_hearing_decades_ahead_is_out_of_range() -> None:
    event = charge()
    far = event.first_hearing.model_copy(update={"date": event.charge_date.replace(year=9999)})
    assert reasons_of(event.model_copy(update={"first_hearing": far})) == [
        ("DATE_OUT_OF_RANGE", "first_hearing.date")
    ]


# -- capped reasons, duplicates, suggestions -----------------------------------------------------


def test_reasons_are_capped_with_a_count_of_the_rest() -> None:
    first = charge().offences[0]
    repeated = [first.model_copy(update={"sequence": 1}) for _ in range(6000)]
    found = validate_event(charge(offences=repeated), ValidationContext(standing()))
    assert len(found) == MAX_REASONS + 1
    assert found[-1].code is C.MORE_REASONS
    hidden = 5999 + 1 - MAX_REASONS  # 5,999 duplicates and one too-many-items
    assert found[-1].message == f"{hidden} more problems found and not listed"


def _offence(seq: int, code: str, wording: str) -> Offence:
    first = charge().offences[0]
    return first.model_copy(update={"sequence": seq, "code": code, "wording": wording})


def test_a_duplicated_offence_names_the_one_it_repeats_with_a_true_hint() -> None:
    same_content = charge(offences=[_offence(1, "TH68010", "A"), _offence(2, "TH68010", "A")])
    (reason,) = validate_event(same_content, ValidationContext(standing()))
    assert reason.field == "offences[1]"
    assert "offences[0]" in reason.message
    assert "Remove offences[1]" in reason.hint
    assert "sequence number of its own" not in reason.hint
    same_number = charge(offences=[_offence(1, "TH68010", "A"), _offence(1, "TH68010", "B")])
    (reason,) = validate_event(same_number, ValidationContext(standing()))
    assert "offences[0]" in reason.message
    assert reason.hint.startswith("Give offences[1] an offence number of its own")


def test_an_unknown_offence_suggests_the_nearest_known_codes() -> None:
    (reason,) = validate_event(
        charge(offences=[_offence(1, "TH68011", "A")]), ValidationContext(standing())
    )
    assert reason.code is C.OFFENCE_UNKNOWN
    assert "TH68010" in reason.hint
    assert "RA88001" not in reason.hint


# -- the Avro body: trailing bytes ------------------------------------------------------------


@pytest.mark.parametrize("extra", [b"\x00", b"junk", b"\xc3\x01" + b"\x00" * 20])
def test_trailing_bytes_after_a_valid_body_are_refused(extra: bytes) -> None:
    codec = Codec()
    value = codec.encode(charge())
    assert codec.decode(value) == charge()
    with pytest.raises(CodecError) as refused:
        codec.decode(value + extra)
    assert refused.value.code is C.TRAILING_BYTES
    assert refused.value.message.startswith(f"{len(extra)} byte")


# -- through the pipeline: what a force's receipt and the rejected topic carry -------------------


def test_the_pipeline_rejects_trailing_bytes_and_keeps_them() -> None:
    value = codec().encode(valid_charge()) + b"\x00junk"
    outcome = exchange().process(record(value))
    (rejection,) = decoded(outcome.outputs, RejectedEvent)
    assert [r.code for r in rejection.reasons] == ["TRAILING_BYTES"]
    assert rejection.value == value


def test_the_pipeline_caps_the_reasons_of_a_hostile_event() -> None:
    event = valid_charge()
    repeated = [event.offences[0]] * 6000
    source = record(event.model_copy(update={"offences": repeated}))
    outcome = exchange().process(source)
    (kept,) = decoded(outcome.outputs, RejectedEvent)
    assert len(kept.reasons) == MAX_REASONS + 1
    assert kept.reasons[-1].code == "MORE_REASONS"
    (receipt,) = decoded(outcome.outputs, Receipt)
    assert receipt.reasons == kept.reasons
    # The rejection is the original bytes and a bounded list of reasons, whatever the event.
    assert max(len(o.value) for o in outcome.outputs) < len(source.value) + 30_000


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("TH68011", "TH68010"),
        ("TH86010", "TH68010"),
        ("TH68O10", "TH68010"),
        ("COML052", "COML050"),
    ],
)
def test_suggestions_rank_the_likely_intended_code_high(typed: str, meant: str) -> None:
    """A mistyped digit, two digits swapped, the letter O for a zero."""
    suggester = ValidationContext(standing()).suggester
    assert meant in suggester.nearest(typed)[:2]


def test_only_the_first_unknown_offences_get_suggestions() -> None:
    unknown = [_offence(i + 1, f"TH6801{i}", f"wording {i}") for i in range(1, 9)]
    found = validate_event(charge(offences=unknown), ValidationContext(standing()))
    hints = [r.hint for r in found if r.code is C.OFFENCE_UNKNOWN]
    assert hints
    suggested = [h for h in hints if "nearest known codes" in h]
    assert 0 < len(suggested) <= 3


def test_a_short_form_asn_is_answered_with_the_long_form_to_send() -> None:
    person = charge().defendant
    short = _short_asn(person.asn)
    event = charge(defendant=person.model_copy(update={"asn": short}))
    (reason,) = validate_event(event, ValidationContext(standing()))
    assert reason.code is C.ASN_FORMAT
    assert person.asn in reason.hint
    assert "YY/FFUU" not in reason.hint
