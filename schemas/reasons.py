"""Stable reason codes for rejected events, with guidance for the people who fix the data.

Codes are part of the contract: force systems match on them in receipts, so a code is never
renamed or reused. Each code has guidance (what it means, the likely cause, how to correct it,
how to avoid it), in the manner of the CJS Exchange's exception codes; a unit test fails when a
code has none, and ``docs/reason-codes.md`` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.limits import CLOCK_SKEW, EARLIEST_DATE, LATEST_AHEAD


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
    # -- The contract's documented constraints and input hardening (issues 13 and 11). --
    TRAILING_BYTES = "TRAILING_BYTES"
    HEADER_MISMATCH = "HEADER_MISMATCH"
    FORCE_UNKNOWN = "FORCE_UNKNOWN"
    TEXT_EMPTY = "TEXT_EMPTY"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    TEXT_CHARACTERS_INVALID = "TEXT_CHARACTERS_INVALID"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    OFFENCES_MISSING = "OFFENCES_MISSING"
    OFFENCE_SEQUENCE_INVALID = "OFFENCE_SEQUENCE_INVALID"
    DOCUMENTS_MISSING = "DOCUMENTS_MISSING"
    DOCUMENT_HASH_FORMAT = "DOCUMENT_HASH_FORMAT"
    FILE_TYPE_INVALID = "FILE_TYPE_INVALID"
    BAIL_CONDITIONS_MISSING = "BAIL_CONDITIONS_MISSING"
    BAIL_CONDITIONS_UNEXPECTED = "BAIL_CONDITIONS_UNEXPECTED"
    DISCONTINUANCE_SCOPE_MISMATCH = "DISCONTINUANCE_SCOPE_MISMATCH"
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
    EVENT_IN_FUTURE = "EVENT_IN_FUTURE"
    PUBLISHED_BEFORE_OCCURRED = "PUBLISHED_BEFORE_OCCURRED"
    MORE_REASONS = "MORE_REASONS"
    # -- Court results (issue 13.1): a court publisher's HearingResulted. --
    SENDER_COURT_MISMATCH = "SENDER_COURT_MISMATCH"
    RESULT_FORCE_MISMATCH = "RESULT_FORCE_MISMATCH"
    COURT_NOT_BOUND = "COURT_NOT_BOUND"
    HEARING_NOT_YET_HELD = "HEARING_NOT_YET_HELD"
    RESULTS_MISSING = "RESULTS_MISSING"
    RESULT_DUPLICATED = "RESULT_DUPLICATED"
    RESULT_CODE_UNKNOWN = "RESULT_CODE_UNKNOWN"
    RESULT_QUALIFIER_NOT_ALLOWED = "RESULT_QUALIFIER_NOT_ALLOWED"
    RESULT_VALUE_INVALID = "RESULT_VALUE_INVALID"
    PLEA_UNKNOWN = "PLEA_UNKNOWN"
    VERDICT_UNKNOWN = "VERDICT_UNKNOWN"
    REMAND_STATUS_UNKNOWN = "REMAND_STATUS_UNKNOWN"
    RESULT_CASE_NOT_CHARGED = "RESULT_CASE_NOT_CHARGED"
    RESULT_DEFENDANT_NOT_CHARGED = "RESULT_DEFENDANT_NOT_CHARGED"
    RESULT_OFFENCE_NOT_CHARGED = "RESULT_OFFENCE_NOT_CHARGED"


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
    def of(cls, code: ReasonCode, field: str, message: str, hint: str | None = None) -> Reason:
        """A reason whose hint is ``hint``, or else the code's standard correction.

        Give a ``hint`` when the standard correction would not be true for this case.
        """
        return cls(code=code, field=field, message=message, hint=hint or GUIDANCE[code].correction)


MAX_REASONS = 50
"""Most reasons one rejection lists; the rest are counted in a final MORE_REASONS reason, so a
hostile event (one offence repeated thousands of times) cannot make a rejection, receipt or
verdict larger than Kafka accepts."""


def capped(reasons: list[Reason], limit: int = MAX_REASONS) -> list[Reason]:
    """The first ``limit`` reasons, then one saying how many more were found."""
    if len(reasons) <= limit:
        return reasons
    more = len(reasons) - limit
    message = f"{more} more problem{'s' if more != 1 else ''} found and not listed"
    return [*reasons[:limit], Reason.of(ReasonCode.MORE_REASONS, "", message)]


_SKEW = f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes"
_CHECK = (
    "The check letter is computed from the digits (mod 23, letters without I, O and S); a "
    "mistyped digit or letter makes it disagree."
)

GUIDANCE: dict[ReasonCode, Guidance] = {
    ReasonCode.UNDECODABLE: Guidance(
        "The record's bytes are not an Avro single-object encoded event (on a topic), or the "
        "line is not UTF-8 JSON text (`cjsx validate`).",
        "The publisher did not use the exchange's wire format, or the bytes were truncated.",
        "Avro senders: publish with the cjs-exchange publisher or follow docs/wire-format.md "
        "section 1. JSON senders: write one CloudEvents JSON object per line, as UTF-8 text "
        "(docs/wire-format.md section 4).",
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
        "Send the ASN in its 20-character long form YYFFUUSSnnnnnnnnnnnC; `cjsx check-id asn` "
        "turns a short form from a charge sheet into it.",
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
        "Use the current CJS code for the offence; the reason's hint names the nearest known "
        "codes.",
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
        "A hearing is dated before the charge: a charge's first hearing, or a hearing whose "
        "results a court sends for a defendant charged later than it.",
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
        "Remove the repeated offence, or give it a sequence number of its own; the reason's hint "
        "says which applies.",
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
    # -- The contract's documented constraints and input hardening (issues 13 and 11). --
    ReasonCode.TRAILING_BYTES: Guidance(
        "The record's bytes go on after the end of a valid Avro body.",
        "Two records written into one value, padding, or bytes appended in transit.",
        "Send exactly one single-object encoded record per Kafka record value.",
        "Publish with the cjs-exchange publisher; never concatenate encoded records.",
    ),
    ReasonCode.HEADER_MISMATCH: Guidance(
        "A CloudEvents attribute disagrees with the event it travels with: `id`, `subject`, "
        "`type`, `dataschema`, `source` or `time` (docs/wire-format.md section 2).",
        "Attributes filled in separately from the event, or copied from another event.",
        "Set the attributes from the event itself: id = envelope.event_id, subject = "
        "envelope.case_urn, type = the event's schema, dataschema = the released version the "
        "value was written with, source = /cjs/forces/{force}/systems/{system}, time = "
        "envelope.occurred_at.",
        "Let the publisher (or `schemas.jsonform.render`) derive the attributes from the event.",
    ),
    ReasonCode.FORCE_UNKNOWN: Guidance(
        "The envelope's force is not the two-digit PNC code of a known police force.",
        "A mistyped or local force code.",
        "Give your force's two-digit PNC code (for example 01 for the Metropolitan Police).",
        "Configure the force code once in the publishing system.",
    ),
    ReasonCode.TEXT_EMPTY: Guidance(
        "A text field that must say something is empty or only spaces.",
        "A field left blank in the force system.",
        "Fill in the field named in the reason.",
        "Make the field mandatory in the force system's form.",
    ),
    ReasonCode.TEXT_TOO_LONG: Guidance(
        "A text field is longer than the contract allows (limits: docs/wire-format.md).",
        "Text pasted in whole where a summary belongs, or a corrupt value.",
        "Shorten the field to its limit; put long material in a document sent by reference.",
        "Apply the documented limits in the force system's forms.",
    ),
    ReasonCode.TEXT_CHARACTERS_INVALID: Guidance(
        "A text field holds a control character (such as NUL) or a bidirectional override "
        "(U+202A-U+202E, U+2066-U+2069), which can hide or reorder what a reader sees.",
        "Text pasted from another program, or a value crafted to mislead.",
        "Remove the character named in the reason; only narrative fields may hold line breaks "
        "and tabs.",
        "Strip control and bidirectional formatting characters when text is entered.",
    ),
    ReasonCode.TOO_MANY_ITEMS: Guidance(
        "A list holds more items than the contract allows (limits: docs/wire-format.md).",
        "Items repeated by a fault, or a case that should be split.",
        "Send no more items than the limit; split a very large case file into several events.",
        "Apply the documented limits in the force system.",
    ),
    ReasonCode.OFFENCES_MISSING: Guidance(
        "A charge lists no offences; a charge has at least one.",
        "The offences were not attached to the charge in the force system.",
        "List every offence charged.",
        "Do not publish a charge before its offences are entered.",
    ),
    ReasonCode.OFFENCE_SEQUENCE_INVALID: Guidance(
        "An offence number is not a number from 1 (the offence's number on the charge sheet), "
        "or a withdrawn offence number is below 1.",
        "Offences numbered from 0, or a number left unset.",
        "Number offences as on the charge sheet: 1, 2, 3 and so on.",
        "Take offence numbers from the charge sheet.",
    ),
    ReasonCode.DOCUMENTS_MISSING: Guidance(
        "A documents event lists no documents; it adds at least one.",
        "The event was published before its documents were attached.",
        "Attach the documents, or do not send the event.",
        "Publish a documents event only when documents are added.",
    ),
    ReasonCode.DOCUMENT_HASH_FORMAT: Guidance(
        "A document's sha256 is not 64 lower-case hexadecimal characters.",
        "An upper-case, truncated or base64 hash.",
        "Send the SHA-256 of the document's bytes as 64 lower-case hexadecimal characters.",
        "Compute the hash from the stored document when publishing.",
    ),
    ReasonCode.FILE_TYPE_INVALID: Guidance(
        "The file type does not fit the event: a charging request is always PRE_CHARGE; a "
        "charge is a GAP, NGAP or CROWN file.",
        "The file type was carried over from an earlier stage of the case.",
        "Give the file type the event's schema documents (docs/wire-format.md).",
        "Set the file type from the stage of the case.",
    ),
    ReasonCode.BAIL_CONDITIONS_MISSING: Guidance(
        "The status is CONDITIONAL_BAIL but no bail conditions are given.",
        "The conditions were not entered, or the status is wrong.",
        "List the conditions of bail, or give the status that applies.",
        "Make conditions mandatory when conditional bail is chosen.",
    ),
    ReasonCode.BAIL_CONDITIONS_UNEXPECTED: Guidance(
        "Bail conditions are given with a status that has none (only CONDITIONAL_BAIL has "
        "conditions).",
        "Conditions left over from an earlier status, or the status is wrong.",
        "Give the status CONDITIONAL_BAIL, or remove the conditions.",
        "Clear the conditions when the status changes.",
    ),
    ReasonCode.DISCONTINUANCE_SCOPE_MISMATCH: Guidance(
        "A discontinuance's details do not fit its scope: when the whole case is discontinued "
        "no offence numbers are given.",
        "The scope was chosen wrongly, or details were left over.",
        "Give CHARGES_WITHDRAWN with the offences withdrawn, or CASE_DISCONTINUED without them.",
        "Let the scope decide which details the form asks for.",
    ),
    ReasonCode.DATE_OUT_OF_RANGE: Guidance(
        f"A date or time is outside the range the exchange accepts (from {EARLIEST_DATE}; a "
        f"hearing at most {LATEST_AHEAD.days // 365} years after the event).",
        "A mistyped year, or a default date such as 0001-01-01 or 9999-12-31.",
        "Correct the date named in the reason.",
        "Pick dates from a calendar rather than typing them.",
    ),
    ReasonCode.EVENT_IN_FUTURE: Guidance(
        "The event occurred, or was published, later than now (beyond the allowed clock skew "
        f"of {_SKEW}).",
        "The publishing system's clock is wrong, or the time was mistyped.",
        "Correct envelope.occurred_at or envelope.published_at.",
        "Keep the publishing systems' clocks synchronised (NTP).",
    ),
    ReasonCode.PUBLISHED_BEFORE_OCCURRED: Guidance(
        "The event's published_at is before its occurred_at (beyond the allowed clock skew of "
        f"{_SKEW}): nothing is published before it happened.",
        "The two times were swapped, or the systems' clocks disagree.",
        "Set published_at when the event is handed to the exchange, after occurred_at.",
        "Let the publisher set published_at; keep clocks synchronised (NTP).",
    ),
    ReasonCode.MORE_REASONS: Guidance(
        "More problems were found than one rejection lists; this reason counts the rest.",
        "An event with very many problems, often one mistake repeated.",
        "Correct the problems listed, then validate again (`cjsx validate`) to see the rest.",
        "Validate events before publishing.",
    ),
    ReasonCode.SENDER_COURT_MISMATCH: Guidance(
        "A court result's publisher field names another court publisher than the one whose "
        "ingest topic it arrived on.",
        "A system configured with another publisher's id, or results relayed for another.",
        "Set publisher to your own registry id (infra/registry.toml) and publish on your own "
        "topic.",
        "Take the publisher id from the configuration that holds your credentials.",
    ),
    ReasonCode.RESULT_FORCE_MISMATCH: Guidance(
        "A court result's envelope.force is not the force of its case URN (the charging force, "
        "to whom the results go back).",
        "The court's own code or another force's code sent as envelope.force.",
        "Set envelope.force to the first two digits of the case URN.",
        "Derive envelope.force from the case URN.",
    ),
    ReasonCode.COURT_NOT_BOUND: Guidance(
        "The hearing's court house is not one the court publisher is bound to publish for.",
        "Results of another region's court, or a mistyped court OU.",
        "Correct hearing.court_ou, or let the court publisher bound to that court house send "
        "the results.",
        "Publish results only for the court houses your system serves (infra/registry.toml).",
    ),
    ReasonCode.HEARING_NOT_YET_HELD: Guidance(
        "Court results are for a hearing dated after the results occurred: a hearing is "
        "resulted on or after the day it sits.",
        "The next hearing's date sent as the hearing's, or a mistyped date.",
        "Send the date the hearing sat as hearing.date; a later hearing goes in next_hearing.",
        "Publish results when the hearing has been resulted, dated from the court's record.",
    ),
    ReasonCode.RESULTS_MISSING: Guidance(
        "Court results list no defendant, a defendant no offence, or an offence no result; "
        "each has at least one.",
        "The event was published before the hearing was resulted.",
        "Send the results once every listed offence has at least one result.",
        "Publish a HearingResulted only when the hearing has been resulted.",
    ),
    ReasonCode.RESULT_DUPLICATED: Guidance(
        "A defendant or an offence appears twice in one set of court results.",
        "Results merged twice, or one defendant's results split in two.",
        "List each defendant once, and each of their offences once with all its results.",
        "Build the results from one record per defendant and offence.",
    ),
    ReasonCode.RESULT_CODE_UNKNOWN: Guidance(
        "A result code is not a CJS result code in the standing data (result-code.json).",
        "A mistyped code, a local code, or a code withdrawn from the standing data.",
        "Send the CJS result code the court gave (e.g. 1015 fine, 3070 disqualification).",
        "Take result codes from the current CJS standing data.",
    ),
    ReasonCode.RESULT_QUALIFIER_NOT_ALLOWED: Guidance(
        "A result carries a qualifier the result code does not take (result-code.json).",
        "A qualifier meant for another result, or a mistyped qualifier.",
        "Remove the qualifier, or attach it to the result it belongs to.",
        "Offer only the qualifiers the standing data lists for each result code.",
    ),
    ReasonCode.RESULT_VALUE_INVALID: Guidance(
        "A result's duration length or amount is not a number from 1.",
        "A zero or negative value sent for a value not given.",
        "Leave the duration or amount out when the result has none; otherwise send it from 1.",
        "Send null, not 0, for a value the court did not give.",
    ),
    ReasonCode.PLEA_UNKNOWN: Guidance(
        "A plea is not a CJS plea code in the standing data (plea-status.json).",
        "The plea's description or PNC code sent instead of its CJS code.",
        "Send the CJS plea code (ADM, CON, DEN, G, NG, NONE or OPP).",
        "Map pleas to CJS codes in the court system.",
    ),
    ReasonCode.VERDICT_UNKNOWN: Guidance(
        "A verdict is not a CJS verdict code in the standing data (verdict.json).",
        "The verdict's description or PNC code sent instead of its CJS code.",
        "Send the CJS verdict code (G, NA, NC or NG).",
        "Map verdicts to CJS codes in the court system.",
    ),
    ReasonCode.REMAND_STATUS_UNKNOWN: Guidance(
        "A remand status is not a CJS remand status code in the standing data "
        "(remand-status.json).",
        "The status's description or PNC code sent instead of its CJS code.",
        "Send the CJS remand status code (CB, LA, NA, PB, PR, SA or UB).",
        "Map remand statuses to CJS codes in the court system.",
    ),
    ReasonCode.RESULT_CASE_NOT_CHARGED: Guidance(
        "Court results name a case for which the exchange has delivered no charge.",
        "A mistyped case URN, results for a case charged outside the exchange, or results "
        "published before the force's charge reached the exchange.",
        "Check the case URN against the charge; if the charge is still on its way, send the "
        "results again once it has been delivered.",
        "Take the case URN from the charge the court received through the exchange.",
    ),
    ReasonCode.RESULT_DEFENDANT_NOT_CHARGED: Guidance(
        "Court results name a defendant (ASN) that no charge delivered on this case names.",
        "A mistyped ASN, or a defendant of another case.",
        "Send the ASN exactly as the charge gave it.",
        "Take ASNs from the charge the court received through the exchange.",
    ),
    ReasonCode.RESULT_OFFENCE_NOT_CHARGED: Guidance(
        "Court results name an offence number that no charge delivered for this defendant has.",
        "An offence added in court, a renumbered offence, or a mistyped number.",
        "Send the offence's number from the charge; an offence added in court must first be "
        "charged by the force.",
        "Take offence numbers from the charge the court received through the exchange.",
    ),
}
