"""Stable reason codes for rejected events, with guidance for the people who fix the data.

Codes are part of the contract: force systems match on them in receipts, so a code is never
renamed or reused. Each code has guidance (what it means, the likely cause, how to correct it,
how to avoid it), in the manner of the CJS Exchange's exception codes; a unit test fails when a
code has none, and ``docs/reason-codes.md`` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    """Why an event was not accepted. Families: wire, identifier, reference, rule, sender."""

    # Wire: the bytes could not become an event.
    UNDECODABLE = "UNDECODABLE"
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    NOT_AN_EVENT = "NOT_AN_EVENT"
    SCHEMA_VIOLATION = "SCHEMA_VIOLATION"
    # Identifiers: format or check character.
    ASN_FORMAT = "ASN_FORMAT"
    ASN_CHECK_CHARACTER = "ASN_CHECK_CHARACTER"
    PNC_ID_FORMAT = "PNC_ID_FORMAT"
    PNC_ID_CHECK_CHARACTER = "PNC_ID_CHECK_CHARACTER"
    CRO_FORMAT = "CRO_FORMAT"
    CRO_CHECK_CHARACTER = "CRO_CHECK_CHARACTER"
    URN_FORMAT = "URN_FORMAT"
    OU_FORMAT = "OU_FORMAT"
    OFFENCE_CODE_FORMAT = "OFFENCE_CODE_FORMAT"
    # Reference data: well-formed but not known.
    ASN_UNKNOWN_UNIT = "ASN_UNKNOWN_UNIT"
    URN_UNKNOWN_UNIT = "URN_UNKNOWN_UNIT"
    OU_UNKNOWN = "OU_UNKNOWN"
    COURT_UNKNOWN = "COURT_UNKNOWN"
    COURT_NOT_A_COURT = "COURT_NOT_A_COURT"
    OFFENCE_UNKNOWN = "OFFENCE_UNKNOWN"
    OFFENCE_NOT_CHARGEABLE = "OFFENCE_NOT_CHARGEABLE"
    # Domain rules.
    HEARING_BEFORE_CHARGE = "HEARING_BEFORE_CHARGE"
    DEFENDANT_UNDER_AGE = "DEFENDANT_UNDER_AGE"
    DEFENDANT_BORN_IN_FUTURE = "DEFENDANT_BORN_IN_FUTURE"
    OFFENCE_DUPLICATED = "OFFENCE_DUPLICATED"
    OFFENCE_DATE_IN_FUTURE = "OFFENCE_DATE_IN_FUTURE"
    DOCUMENT_SENSITIVITY_TOO_LOW = "DOCUMENT_SENSITIVITY_TOO_LOW"
    SEQUENCE_INVALID = "SEQUENCE_INVALID"
    # Sender binding: the event names another force than the topic it came on.
    SENDER_FORCE_MISMATCH = "SENDER_FORCE_MISMATCH"
    # Acknowledgements: a partner may only acknowledge its own deliveries.
    ACK_INVALID = "ACK_INVALID"
    # Routing: no partner is entitled to the event, so delivering it is impossible.
    NO_RECIPIENT = "NO_RECIPIENT"
    # The exchange itself failed on this event; it is kept so an operator can replay it.
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Where a record arrived: its Kafka key and partition must be its case's.
    RECORD_KEY_MISMATCH = "RECORD_KEY_MISMATCH"
    RECORD_PARTITION_MISMATCH = "RECORD_PARTITION_MISMATCH"
    # What the exchange would write for the event is larger than the broker accepts.
    OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class Guidance:
    """Text shown to whoever corrects the data: a clerk at the force, or an operator."""

    description: str
    cause: str
    correction: str
    avoidance: str


@dataclass(frozen=True, slots=True)
class Reason:
    """One problem found in one event: the code, where it is, and what to do about it."""

    code: ReasonCode
    field: str
    message: str
    hint: str

    @classmethod
    def of(cls, code: ReasonCode, field: str, message: str) -> Reason:
        """A reason whose hint is the code's standard correction."""
        return cls(code=code, field=field, message=message, hint=GUIDANCE[code].correction)


_CHECK = (
    "The check letter is computed from the digits (mod 23, letters without I, O and S); a "
    "mistyped digit or letter makes it disagree."
)

GUIDANCE: dict[ReasonCode, Guidance] = {
    ReasonCode.UNDECODABLE: Guidance(
        "The record's bytes are not an Avro single-object encoded event.",
        "The publisher did not use the exchange's wire format, or the bytes were truncated.",
        "Publish with the cjs-exchange publisher, or follow docs/wire-format.md exactly.",
        "Use the published client libraries and run `cjsx validate` on sample output.",
    ),
    ReasonCode.UNKNOWN_SCHEMA: Guidance(
        "The record's schema is not a released schema version: its fingerprint (Avro bytes) "
        "or its `type` (JSON form) is not in the contract.",
        "The publisher uses an unreleased or locally edited schema, or misspells the type.",
        "Publish with a released schema version (see docs/asyncapi.yaml).",
        "Only release schemas through `make release-schemas`; never edit .avsc files locally.",
    ),
    ReasonCode.NOT_AN_EVENT: Guidance(
        "The input is well-formed data but not a case-file event.",
        "A JSON document of another kind, or an event without its type, was submitted.",
        "Send each event as a CloudEvents JSON object whose `type` names an event schema "
        "(docs/wire-format.md), or as Avro bytes from the publisher.",
        "Generate events from the schemas rather than by hand.",
    ),
    ReasonCode.SCHEMA_VIOLATION: Guidance(
        "A field is missing, of the wrong type, or outside its allowed values.",
        "The event does not match its Avro schema.",
        "Correct the field named in the reason to the type and values the schema documents.",
        "Validate events against the schema before publishing (`cjsx validate`).",
    ),
    ReasonCode.ASN_FORMAT: Guidance(
        "The Arrest/Summons Number is not in a recognised format.",
        "Wrong length, characters in the wrong place, or a sequence that is not numeric.",
        "Enter the ASN as YYFFUUSSnnnnnnnnnnnC or YY/FFUU/SS/nC as printed on the charge sheet.",
        "Take the ASN from the custody system rather than retyping it.",
    ),
    ReasonCode.ASN_CHECK_CHARACTER: Guidance(
        "The ASN's check letter does not match its digits.",
        _CHECK,
        "Re-read the ASN from the source record and correct the mistyped character.",
        "Copy identifiers electronically; check them with `cjsx check-id asn`.",
    ),
    ReasonCode.PNC_ID_FORMAT: Guidance(
        "The PNC ID is not in the form YYYY/NNNNNNNC.",
        "Wrong length, a missing check letter, or non-numeric serial.",
        "Enter the PNC ID as YYYY/NNNNNNNC as shown on the PNC record.",
        "Take the PNC ID from a PNC response rather than retyping it.",
    ),
    ReasonCode.PNC_ID_CHECK_CHARACTER: Guidance(
        "The PNC ID's check letter does not match its digits.",
        _CHECK,
        "Re-read the PNC ID from the PNC record and correct the mistyped character.",
        "Copy identifiers electronically; check them with `cjsx check-id pnc`.",
    ),
    ReasonCode.CRO_FORMAT: Guidance(
        "The CRO number is not in the form NNNNNN/YYC or SFYY/NNNNNNC.",
        "Wrong separators, length or a missing check letter.",
        "Enter the CRO number as printed on the criminal record.",
        "Take the CRO number from the record rather than retyping it.",
    ),
    ReasonCode.CRO_CHECK_CHARACTER: Guidance(
        "The CRO number's check letter does not match its digits.",
        _CHECK,
        "Re-read the CRO number and correct the mistyped character.",
        "Copy identifiers electronically; check them with `cjsx check-id cro`.",
    ),
    ReasonCode.URN_FORMAT: Guidance(
        "The case URN is not in the form FFUU then 3 to 7 digits (for example 01ZD0305408).",
        "A missing force/unit prefix, stray characters, or a sequence of the wrong length.",
        "Use the URN the case management system issued for this case.",
        "Never compose URNs by hand.",
    ),
    ReasonCode.OU_FORMAT: Guidance(
        "The organisation-unit code is not 6 or 7 letters and digits in the OU layout.",
        "A mistyped or truncated code.",
        "Use the organisation-unit code from the standing data (see `cjsx check-id ou`).",
        "Pick units from a list fed by the standing data rather than free text.",
    ),
    ReasonCode.OFFENCE_CODE_FORMAT: Guidance(
        "The offence code is not a CJS offence code (for example TH68010 or COML025).",
        "A local or mistyped code.",
        "Use the national CJS offence code for the offence charged.",
        "Select offences from the CJS offence list.",
    ),
    ReasonCode.ASN_UNKNOWN_UNIT: Guidance(
        "The ASN's force, unit and system code do not name a known police unit.",
        "The ASN was issued under a unit code that is unknown to the standing data.",
        "Check the ASN; if it is right, ask the exchange operators to update standing data.",
        "Keep the custody system's unit list in step with the CJS standing data.",
    ),
    ReasonCode.URN_UNKNOWN_UNIT: Guidance(
        "The URN's force and unit prefix do not name a known police unit.",
        "A mistyped prefix or a unit missing from the standing data.",
        "Check the URN prefix; if it is right, ask the operators to update standing data.",
        "Keep the case system's unit list in step with the CJS standing data.",
    ),
    ReasonCode.OU_UNKNOWN: Guidance(
        "The organisation-unit code is well formed but not in the standing data.",
        "A retired or mistyped unit.",
        "Use a current organisation-unit code.",
        "Refresh local unit lists from the CJS standing data.",
    ),
    ReasonCode.COURT_UNKNOWN: Guidance(
        "The first-hearing court is not a known court organisation unit.",
        "A mistyped, retired or local court code.",
        "Use the court's organisation-unit code (for example B01EF00) from the standing data.",
        "Select courts from a list fed by the standing data.",
    ),
    ReasonCode.COURT_NOT_A_COURT: Guidance(
        "The first-hearing court code names an organisation unit that is not a court.",
        "A police or other unit was given where a court was expected.",
        "Give a magistrates' court (B...) or Crown Court (C...) code.",
        "Keep police and court unit pickers separate.",
    ),
    ReasonCode.OFFENCE_UNKNOWN: Guidance(
        "The offence code is well formed but not in the CJS offence list.",
        "A retired code (for example RT88191) or a mistyped one.",
        "Use the current CJS code for the offence (for example RA88001 for RT88191).",
        "Refresh the local offence list from the CJS standing data.",
    ),
    ReasonCode.OFFENCE_NOT_CHARGEABLE: Guidance(
        "The offence code is known but its category cannot be charged (a breach, civil or "
        "fine code).",
        "A non-criminal code was used on a charge.",
        "Charge a criminal offence (category CI, CE, CS or CM).",
        "Filter offence pickers to chargeable categories.",
    ),
    ReasonCode.HEARING_BEFORE_CHARGE: Guidance(
        "The first hearing is dated before the charge.",
        "Dates transposed or mistyped.",
        "Correct the charge date or the hearing date.",
        "Derive the hearing date from the court listing, not free text.",
    ),
    ReasonCode.DEFENDANT_UNDER_AGE: Guidance(
        "The defendant was under 10, the age of criminal responsibility, on the offence date.",
        "A mistyped date of birth or offence date.",
        "Correct the date of birth or the offence date.",
        "Check dates of birth against the PNC record.",
    ),
    ReasonCode.DEFENDANT_BORN_IN_FUTURE: Guidance(
        "The defendant's date of birth is after the date the event occurred.",
        "A mistyped date of birth.",
        "Correct the date of birth.",
        "Check dates of birth against the PNC record.",
    ),
    ReasonCode.OFFENCE_DUPLICATED: Guidance(
        "An offence repeats another on the same event: the same offence number, or the same "
        "code, date and wording.",
        "A charge entered twice.",
        "Remove the repeated offence or give it its own sequence number.",
        "Number offences on the charge sheet in one place.",
    ),
    ReasonCode.OFFENCE_DATE_IN_FUTURE: Guidance(
        "An offence is dated after the event occurred.",
        "A mistyped offence date.",
        "Correct the offence date.",
        "Pick dates from a calendar that stops at today.",
    ),
    ReasonCode.DOCUMENT_SENSITIVITY_TOO_LOW: Guidance(
        "A document is marked less sensitive than its MG form requires (for example an MG6D "
        "marked OFFICIAL).",
        "The sensitivity marking was left at its default.",
        "Mark the document at least at its form's minimum sensitivity.",
        "Let the case system set the marking from the form type.",
    ),
    ReasonCode.SEQUENCE_INVALID: Guidance(
        "The per-case sequence number is not a positive number, or reuses a number already "
        "delivered for this case with different content.",
        "The publisher lost its per-case counter, or two systems publish the same case.",
        "Resend with the case's next sequence number.",
        "Keep one publisher per case and persist its sequence counter.",
    ),
    ReasonCode.SENDER_FORCE_MISMATCH: Guidance(
        "The event names a force other than the force whose ingest topic it arrived on.",
        "A system published another force's case, or the URN/ASN prefix is wrong.",
        "Publish the case through the owning force's topic, or correct the prefix.",
        "Publish only cases your force owns.",
    ),
    ReasonCode.ACK_INVALID: Guidance(
        "An acknowledgement is not an ACKNOWLEDGED receipt from the partner whose "
        "acknowledgements topic carried it, or names an unknown force.",
        "A partner system acknowledged another partner's delivery, or sent the wrong record.",
        "Partners: acknowledge only your own deliveries, with the partner SDK.",
        "Use the partner SDK (consumers.Subscriber), which acknowledges correctly.",
    ),
    ReasonCode.NO_RECIPIENT: Guidance(
        "No partner could be found for the event: its court and force map to no CPS area.",
        "A court or force missing from the CPS routing table (cps_areas.toml).",
        "No action for the force: operators add the routing row and replay the event.",
        "Operators: keep the CPS routing table in step with the standing data.",
    ),
    ReasonCode.INTERNAL_ERROR: Guidance(
        "The exchange failed while processing this event; the event itself may be valid.",
        "A fault in the exchange.",
        "No action for the force: operators will replay it from the rejected-events topic.",
        "Operators: investigate the worker log for the rejection id and fix the fault.",
    ),
    ReasonCode.RECORD_KEY_MISMATCH: Guidance(
        "The Kafka record's key is not the case URN its event names.",
        "A producer set its own key, or published the bytes of one case under another.",
        "Publish the event again with the case URN as the record key.",
        "Use producers.Publisher, which keys every record by its case URN.",
    ),
    ReasonCode.RECORD_PARTITION_MISMATCH: Guidance(
        "The record arrived on a partition other than the one its key hashes to, so it "
        "could overtake or repeat its case's other events.",
        "A producer chose the partition explicitly instead of leaving it to the key.",
        "Publish the event again without an explicit partition.",
        "Use producers.Publisher, which leaves partitioning to the case URN.",
    ),
    ReasonCode.OUTPUT_TOO_LARGE: Guidance(
        "A record the exchange must write for this event (a receipt, a delivery or the "
        "rejection itself) would be larger than the broker accepts.",
        "An unreasonably long field, or an event with a huge number of items.",
        "Correct the event so that it is of a sensible size and publish it again.",
        "Keep free-text fields short and send documents by reference, not inline.",
    ),
}
